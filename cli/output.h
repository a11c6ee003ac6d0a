// fcctl's output: aligned human tables (default) and JSON (-o json; protobuf's JSON mapping with
// the .proto field names, every field printed, one document per command or one line per watch
// event). Pure functions of protobuf messages, so they are unit-tested without a server.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <google/protobuf/message.h>

#include "common/status.h"
#include "fc/v1/common.pb.h"

namespace fc::cli {

enum class OutputFormat { kTable, kJson };
StatusOr<OutputFormat> ParseOutputFormat(const std::string& s);

// "RUNNING", "SUCCEEDED", ...; experiments drop the EXP_ prefix ("SUCCEEDED").
std::string JobStateName(v1::JobState s);
std::string ExperimentStateName(v1::ExperimentState s);
// Case-insensitive job state name; INVALID_ARGUMENT listing the valid names otherwise.
StatusOr<v1::JobState> ParseJobState(const std::string& s);
bool IsTerminal(v1::JobState s);
bool IsTerminal(v1::ExperimentState s);

// Columns padded to the widest cell, two spaces apart, header first; no trailing spaces.
std::string RenderTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows);

std::string ToJson(const google::protobuf::Message& m, bool multiline);

std::string JobsTable(const std::vector<const v1::Job*>& jobs, bool with_experiment);
std::string WorkersTable(const std::vector<const v1::Worker*>& workers, int64_t now_unix_ms);
std::string ExperimentSummary(const v1::Experiment& e);

// "[#########...........]  45%  3/7 done" — done counts finished jobs; fraction adds the
// running jobs' progress.
std::string ProgressBar(double fraction, int done, int total, int width = 30);

// "2026-01-02 03:04:05" UTC, "-" for 0.
std::string FormatTime(int64_t unix_ms);

}  // namespace fc::cli
