#include "worker/agent/local_run.h"

#include "worker/agent/job_output.h"

namespace fc::agent {

Status RunLocal(const ExecutorRegistry& registry, const LocalRunOptions& opts) {
  if (opts.out_dir.empty()) return InvalidArgumentError("fc-worker run: --out DIR is required");
  if (!opts.params.is_object()) return InvalidArgumentError("fc-worker run: params must be an object");
  FC_RETURN_IF_ERROR(MakeDirs(opts.out_dir));
  JobContext ctx("local/" + opts.kind, opts.kind, opts.params, {}, opts.out_dir, opts.device,
                 opts.cancel, opts.progress);
  Status run = InternalError("not run");
  auto executor = registry.Create(opts.kind);
  if (!executor.ok()) {
    run = executor.status();
  } else {
    run = (*executor)->Run(ctx);
  }
  Status written = WriteResultFile(ctx, run);
  if (!written.ok()) return run.ok() ? written : run;
  return run;
}

}  // namespace fc::agent
