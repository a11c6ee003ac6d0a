#include "cli/commands.h"

#include <chrono>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include <fmt/format.h>

#include "cli/exit_code.h"

namespace fc::cli {
namespace {

int Fail(const CommonOptions& o, const Status& s) {
  fmt::print(stderr, "{}\n", ErrorMessage(s, o.coordinator));
  return ExitCodeFor(s);
}

void PrintJson(const google::protobuf::Message& m) { fmt::print("{}\n", ToJson(m, true)); }

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int CmdSubmit(Client& c, const CommonOptions& o, const std::string& file, const std::string& key) {
  std::string text, source = file;
  if (file == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    source = "<stdin>";
  } else {
    std::ifstream f(file, std::ios::binary);
    if (!f) {
      fmt::print(stderr, "fcctl: cannot read experiment file '{}'\n", file);
      return kExitBadInput;
    }
    std::ostringstream ss;
    ss << f.rdbuf();
    text = ss.str();
  }
  v1::SubmitExperimentRequest req;
  req.set_spec(text);
  req.set_idempotency_key(key);
  req.set_source_name(source);
  v1::SubmitExperimentReply reply;
  Status s = c.Submit(req, &reply);
  if (!s.ok()) return Fail(o, s);
  if (o.format == OutputFormat::kJson) {
    PrintJson(reply);
  } else {
    if (reply.existed()) {
      fmt::print(stderr, "fcctl: experiment already submitted with this key; not resubmitted\n");
    }
    fmt::print("{}\n", reply.experiment().id());
  }
  return kExitOk;
}

int CmdStatus(Client& c, const CommonOptions& o, const std::string& experiment) {
  v1::GetExperimentReply reply;
  Status s = c.GetExperiment(experiment, &reply);
  if (!s.ok()) return Fail(o, s);
  if (o.format == OutputFormat::kJson) {
    PrintJson(reply);
    return kExitOk;
  }
  std::vector<const v1::Job*> jobs;
  for (const v1::Job& j : reply.jobs()) jobs.push_back(&j);
  fmt::print("{}\n{}", ExperimentSummary(reply.experiment()), JobsTable(jobs, false));
  return kExitOk;
}

int CmdJobs(Client& c, const CommonOptions& o, const std::string& experiment, const std::string& state) {
  v1::ListJobsRequest req;
  req.set_experiment_id(experiment);
  if (!state.empty()) {
    auto st = ParseJobState(state);
    if (!st.ok()) return Fail(o, st.status());
    req.set_state(*st);
  }
  v1::ListJobsReply reply;
  Status s = c.ListJobs(req, &reply);
  if (!s.ok()) return Fail(o, s);
  if (o.format == OutputFormat::kJson) {
    PrintJson(reply);
    return kExitOk;
  }
  std::vector<const v1::Job*> jobs;
  for (const v1::Job& j : reply.jobs()) jobs.push_back(&j);
  fmt::print("{}", JobsTable(jobs, true));
  return kExitOk;
}

int CmdWorkers(Client& c, const CommonOptions& o, bool include_dead) {
  v1::ListWorkersReply reply;
  Status s = c.ListWorkers(include_dead, &reply);
  if (!s.ok()) return Fail(o, s);
  if (o.format == OutputFormat::kJson) {
    PrintJson(reply);
    return kExitOk;
  }
  std::vector<const v1::Worker*> ws;
  for (const v1::Worker& w : reply.workers()) ws.push_back(&w);
  fmt::print("{}", WorkersTable(ws, NowMs()));
  return kExitOk;
}

int CmdCancel(Client& c, const CommonOptions& o, const std::string& id) {
  if (id.find('/') != std::string::npos) {
    v1::CancelJobReply reply;
    Status s = c.CancelJob(id, &reply);
    if (!s.ok()) return Fail(o, s);
    if (o.format == OutputFormat::kJson) {
      PrintJson(reply);
    } else {
      fmt::print("job {} {}\n", reply.job().id(), JobStateName(reply.job().state()));
    }
    return kExitOk;
  }
  v1::CancelExperimentReply reply;
  Status s = c.CancelExperiment(id, &reply);
  if (!s.ok()) return Fail(o, s);
  if (o.format == OutputFormat::kJson) {
    PrintJson(reply);
  } else {
    fmt::print("experiment {} {}\n", reply.experiment().id(), ExperimentStateName(reply.experiment().state()));
  }
  return kExitOk;
}

int CmdRetry(Client& c, const CommonOptions& o, const std::string& job) {
  v1::RetryJobReply reply;
  Status s = c.RetryJob(job, &reply);
  if (!s.ok()) return Fail(o, s);
  if (o.format == OutputFormat::kJson) {
    PrintJson(reply);
  } else {
    fmt::print("job {} {} (attempt {})\n", reply.job().id(), JobStateName(reply.job().state()),
               reply.job().attempt());
  }
  return kExitOk;
}

namespace {

int PrintWorker(const CommonOptions& o, const google::protobuf::Message& reply, const v1::Worker& w) {
  if (o.format == OutputFormat::kJson) {
    PrintJson(reply);
  } else {
    fmt::print("{}", WorkersTable({&w}, NowMs()));
  }
  return kExitOk;
}

}  // namespace

int CmdDrain(Client& c, const CommonOptions& o, const std::string& worker, bool undo) {
  v1::DrainWorkerReply reply;
  Status s = c.DrainWorker(worker, undo, &reply);
  if (!s.ok()) return Fail(o, s);
  return PrintWorker(o, reply, reply.worker());
}

int CmdCordon(Client& c, const CommonOptions& o, const std::string& worker, bool undo) {
  v1::CordonWorkerReply reply;
  Status s = c.CordonWorker(worker, undo, &reply);
  if (!s.ok()) return Fail(o, s);
  return PrintWorker(o, reply, reply.worker());
}

}  // namespace fc::cli
