// fcctl: the FinetuneCircuits client CLI. See docs/cli.md.
//   fcctl [--coordinator HOST:PORT] [-o table|json] [--timeout S] COMMAND ...
// The coordinator address comes from --coordinator, else $FC_COORDINATOR, else 127.0.0.1:50051.
#include <cstdlib>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/client.h"
#include "cli/commands.h"
#include "cli/exit_code.h"
#include "cli/tracking_commands.h"

int main(int argc, char** argv) {
  using namespace fc::cli;
  CLI::App app{"fcctl: submit, watch and manage FinetuneCircuits experiments"};
  app.require_subcommand(1);
  const char* env = std::getenv("FC_COORDINATOR");
  std::string coordinator = env && *env ? env : "127.0.0.1:50051";
  std::string output = "table";
  double timeout_s = 10;
  app.add_option("--coordinator", coordinator, "HOST:PORT (or FC_COORDINATOR)")->capture_default_str();
  app.add_option("--timeout", timeout_s, "deadline of each call, seconds")->capture_default_str();
  // -o is accepted before or after the command name.
  auto add_output = [&output](CLI::App* a) {
    a->add_option("-o,--output", output, "table | json")->capture_default_str();
  };
  add_output(&app);

  std::string file, key, experiment, id, state, worker;
  bool undo = false, include_dead = false;
  WatchOptions wopts;

  CLI::App* submit = app.add_subcommand("submit", "submit an experiment DAG (YAML/JSON); prints its id");
  submit->add_option("file", file, "experiment file, or - for stdin")->required();
  submit->add_option("--key", key, "idempotency key (default: hash of the spec)");
  add_output(submit);
  CLI::App* status = app.add_subcommand("status", "an experiment and its jobs");
  status->add_option("experiment", experiment)->required();
  add_output(status);
  CLI::App* watch = app.add_subcommand("watch", "follow an experiment live; exit 0 iff it succeeds");
  watch->add_option("experiment", experiment)->required();
  watch->add_option("--after-seq", wopts.after_seq, "resume after this event sequence number");
  add_output(watch);
  CLI::App* jobs = app.add_subcommand("jobs", "list jobs");
  jobs->add_option("--experiment", experiment, "only this experiment's jobs");
  jobs->add_option("--state", state, "only jobs in this state (PENDING, READY, LEASED, RUNNING, ...)");
  add_output(jobs);
  CLI::App* workers = app.add_subcommand("workers", "list workers and their jobs");
  workers->add_flag("--all", include_dead, "include dead workers");
  add_output(workers);
  CLI::App* cancel = app.add_subcommand("cancel", "cancel an experiment (EXP) or one job (EXP/NAME)");
  cancel->add_option("id", id)->required();
  add_output(cancel);
  CLI::App* retry = app.add_subcommand("retry", "re-run a failed or cancelled job");
  retry->add_option("job", id)->required();
  add_output(retry);
  CLI::App* drain = app.add_subcommand("drain", "let a worker finish its jobs and take no new ones");
  drain->add_option("worker", worker, "worker id or name")->required();
  drain->add_flag("--undo", undo, "take work again");
  add_output(drain);
  CLI::App* cordon = app.add_subcommand("cordon", "stop giving a worker new jobs");
  cordon->add_option("worker", worker, "worker id or name")->required();
  cordon->add_flag("--undo", undo, "uncordon");
  add_output(cordon);
  // Stage-wise tracking (cli/tracking_commands.h) reads the coordinator's HTTP API.
  const char* http_env = std::getenv("FC_HTTP");
  std::string http = http_env && *http_env ? http_env : "127.0.0.1:8080";
  app.add_option("--http", http, "coordinator HTTP HOST:PORT for report/circuit/lineage (or FC_HTTP)")
      ->capture_default_str();
  std::string out_dir, circuit_a, circuit_b;
  CLI::App* report = app.add_subcommand("report", "stage-wise tracking tables of an experiment; --out adds SVG plots");
  report->add_option("experiment", experiment)->required();
  report->add_option("--out", out_dir, "write report.json and SVG plots into this folder");
  add_output(report);
  CLI::App* circuit = app.add_subcommand("circuit", "stored circuits");
  circuit->require_subcommand(1);
  CLI::App* circuit_show = circuit->add_subcommand("show", "a circuit's summary");
  circuit_show->add_option("id", circuit_a, "circuit id (the discover job id)")->required();
  add_output(circuit_show);
  CLI::App* circuit_diff = circuit->add_subcommand("diff", "nodes/edges added and removed from A to B, per layer");
  circuit_diff->add_option("a", circuit_a)->required();
  circuit_diff->add_option("b", circuit_b)->required();
  add_output(circuit_diff);
  std::string export_format = "eapig", export_out;
  CLI::App* circuit_export = circuit->add_subcommand("export", "the circuit as EAP-IG JSON, collapsed JSON or Graphviz DOT");
  circuit_export->add_option("id", circuit_a, "circuit id (the discover job id)")->required();
  circuit_export->add_option("--format", export_format, "eapig (full q/k/v form), collapsed or dot")
      ->check(CLI::IsMember({"eapig", "collapsed", "dot"}))
      ->capture_default_str();
  circuit_export->add_option("--out", export_out, "write to this file instead of stdout");
  CLI::App* lineage = app.add_subcommand("lineage", "a checkpoint's chain of parents (EXP/JOB/checkpoint-N)");
  lineage->add_option("checkpoint", id)->required();
  add_output(lineage);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitBadInput;
  }

  CommonOptions o;
  o.coordinator = coordinator;
  o.timeout_ms = static_cast<int64_t>(timeout_s * 1000);
  auto fmt_or = ParseOutputFormat(output);
  if (!fmt_or.ok()) {
    fmt::print(stderr, "fcctl: {}\n", fmt_or.status().message());
    return kExitBadInput;
  }
  o.format = *fmt_or;
  Client client(coordinator, o.timeout_ms);
  if (submit->parsed()) return CmdSubmit(client, o, file, key);
  if (status->parsed()) return CmdStatus(client, o, experiment);
  if (watch->parsed()) return CmdWatch(client, o, experiment, wopts);
  if (jobs->parsed()) return CmdJobs(client, o, experiment, state);
  if (workers->parsed()) return CmdWorkers(client, o, include_dead);
  if (cancel->parsed()) return CmdCancel(client, o, id);
  if (retry->parsed()) return CmdRetry(client, o, id);
  if (drain->parsed()) return CmdDrain(client, o, worker, undo);
  if (cordon->parsed()) return CmdCordon(client, o, worker, undo);
  if (report->parsed()) return CmdReport(o, http, experiment, out_dir);
  if (circuit_show->parsed()) return CmdCircuitShow(o, http, circuit_a);
  if (circuit_diff->parsed()) return CmdCircuitDiff(o, http, circuit_a, circuit_b);
  if (circuit_export->parsed()) return CmdCircuitExport(o, http, circuit_a, export_format, export_out);
  if (lineage->parsed()) return CmdLineage(o, http, id);
  return kExitBadInput;
}
