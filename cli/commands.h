// One function per fcctl command. Each prints its result (table or JSON) to stdout and any
// error to stderr, and returns the process exit code (exit_code.h).
#pragma once

#include <cstdint>
#include <string>

#include "cli/client.h"
#include "cli/output.h"

namespace fc::cli {

struct CommonOptions {
  std::string coordinator;
  int64_t timeout_ms = 10000;
  OutputFormat format = OutputFormat::kTable;
};

// FILE or "-" (stdin). Prints the experiment id (table) or the SubmitExperimentReply (json).
int CmdSubmit(Client& c, const CommonOptions& o, const std::string& file, const std::string& key);
int CmdStatus(Client& c, const CommonOptions& o, const std::string& experiment);
int CmdJobs(Client& c, const CommonOptions& o, const std::string& experiment, const std::string& state);
int CmdWorkers(Client& c, const CommonOptions& o, bool include_dead);
// An id with a '/' is a job ("<experiment>/<name>"), else an experiment.
int CmdCancel(Client& c, const CommonOptions& o, const std::string& id);
int CmdRetry(Client& c, const CommonOptions& o, const std::string& job);
int CmdDrain(Client& c, const CommonOptions& o, const std::string& worker, bool undo);
int CmdCordon(Client& c, const CommonOptions& o, const std::string& worker, bool undo);

struct WatchOptions {
  int64_t after_seq = 0;             // resume: only events with a larger seq
  int64_t stream_ms = 20000;         // each Watch stream's deadline; then it is reopened
  int64_t reconnect_timeout_ms = 300000;  // give up (exit 3) after this long unreachable
};
// Live view until the experiment ends: exit 0 iff it SUCCEEDED. Survives coordinator restarts
// by reopening the stream after the last seq it printed.
int CmdWatch(Client& c, const CommonOptions& o, const std::string& experiment, const WatchOptions& w);

}  // namespace fc::cli
