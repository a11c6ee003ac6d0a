#include "cli/output.h"

#include <algorithm>
#include <cctype>
#include <ctime>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <google/protobuf/util/json_util.h>

namespace fc::cli {

StatusOr<OutputFormat> ParseOutputFormat(const std::string& s) {
  if (s == "table" || s.empty()) return OutputFormat::kTable;
  if (s == "json") return OutputFormat::kJson;
  return InvalidArgumentError("-o: expected 'table' or 'json', got '{}'", s);
}

std::string JobStateName(v1::JobState s) { return v1::JobState_Name(s); }

std::string ExperimentStateName(v1::ExperimentState s) {
  std::string n = v1::ExperimentState_Name(s);
  return n.rfind("EXP_", 0) == 0 ? n.substr(4) : n;
}

StatusOr<v1::JobState> ParseJobState(const std::string& s) {
  std::string upper;
  for (char c : s) upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  v1::JobState state;
  if (v1::JobState_Parse(upper, &state) && state != v1::JOB_STATE_UNSPECIFIED) return state;
  std::vector<std::string> names;
  for (int i = v1::PENDING; i <= v1::CANCELLED; ++i) names.push_back(v1::JobState_Name(static_cast<v1::JobState>(i)));
  return InvalidArgumentError("--state: unknown job state '{}' (one of {})", s, fmt::join(names, ", "));
}

bool IsTerminal(v1::JobState s) {
  return s == v1::SUCCEEDED || s == v1::FAILED || s == v1::CANCELLED;
}

bool IsTerminal(v1::ExperimentState s) {
  return s == v1::EXP_SUCCEEDED || s == v1::EXP_FAILED || s == v1::EXP_CANCELLED;
}

std::string RenderTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < width.size(); ++i) width[i] = std::max(width[i], row[i].size());
  };
  measure(header);
  for (const auto& r : rows) measure(r);
  std::string out;
  auto emit = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < width.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : "";
      line += cell;
      if (i + 1 < width.size()) line += std::string(width[i] - cell.size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  };
  emit(header);
  for (const auto& r : rows) emit(r);
  return out;
}

std::string ToJson(const google::protobuf::Message& m, bool multiline) {
  google::protobuf::util::JsonPrintOptions o;
  o.add_whitespace = multiline;
  o.always_print_primitive_fields = true;
  o.preserve_proto_field_names = true;
  std::string out;
  auto st = google::protobuf::util::MessageToJsonString(m, &out, o);
  if (!st.ok()) return fmt::format("{{\"error\":\"{}\"}}", std::string(st.message()));
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::string FormatTime(int64_t unix_ms) {
  if (unix_ms <= 0) return "-";
  std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

namespace {

std::string Truncate(const std::string& s, size_t n) {
  std::string one_line = s.substr(0, s.find('\n'));
  return one_line.size() <= n ? one_line : one_line.substr(0, n - 3) + "...";
}

std::string Percent(double p) { return fmt::format("{:.0f}%", std::clamp(p, 0.0, 1.0) * 100); }

}  // namespace

std::string JobsTable(const std::vector<const v1::Job*>& jobs, bool with_experiment) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::Job* j : jobs) {
    std::string state = JobStateName(j->state());
    if (j->cached()) state += " (cached)";
    rows.push_back({with_experiment ? j->id() : j->name(), j->kind(), state,
                    std::to_string(j->attempt()), j->worker_id().empty() ? "-" : j->worker_id(),
                    Percent(j->progress()), Truncate(j->error().empty() ? j->progress_message() : j->error(), 60)});
  }
  return RenderTable({with_experiment ? "JOB" : "NAME", "KIND", "STATE", "ATTEMPT", "WORKER", "PROGRESS",
                      "MESSAGE"},
                     rows);
}

std::string WorkersTable(const std::vector<const v1::Worker*>& workers, int64_t now_unix_ms) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::Worker* w : workers) {
    std::vector<std::string> flags;
    flags.push_back(w->alive() ? "alive" : "dead");
    if (w->draining()) flags.push_back("draining");
    if (w->cordoned()) flags.push_back("cordoned");
    std::string seen = w->last_heartbeat_unix_ms() > 0
                           ? fmt::format("{:.1f}s ago", (now_unix_ms - w->last_heartbeat_unix_ms()) / 1000.0)
                           : "-";
    std::vector<std::string> labels;
    for (const auto& [k, v] : w->resources().labels()) labels.push_back(k + "=" + v);
    std::sort(labels.begin(), labels.end());
    rows.push_back({w->name(), w->id(), w->device(), std::to_string(w->slots()),
                    std::to_string(w->resources().gpus()), fmt::format("{}", fmt::join(flags, ",")),
                    std::to_string(w->job_ids_size()), seen,
                    labels.empty() ? "-" : fmt::format("{}", fmt::join(labels, ","))});
  }
  return RenderTable({"NAME", "ID", "DEVICE", "SLOTS", "GPUS", "STATE", "JOBS", "HEARTBEAT", "LABELS"}, rows);
}

std::string ExperimentSummary(const v1::Experiment& e) {
  std::vector<std::string> counts;
  std::vector<std::pair<std::string, int>> sorted(e.jobs_by_state().begin(), e.jobs_by_state().end());
  std::sort(sorted.begin(), sorted.end());
  for (const auto& [state, n] : sorted) counts.push_back(fmt::format("{}={}", state, n));
  return fmt::format("experiment {} ({})\nstate:    {}\ncreated:  {}\nfinished: {}\njobs:     {}\n",
                     e.id(), e.name(), ExperimentStateName(e.state()), FormatTime(e.created_unix_ms()),
                     FormatTime(e.finished_unix_ms()), counts.empty() ? "-" : fmt::format("{}", fmt::join(counts, " ")));
}

std::string ProgressBar(double fraction, int done, int total, int width) {
  fraction = std::clamp(fraction, 0.0, 1.0);
  int filled = static_cast<int>(fraction * width + 1e-9);
  return fmt::format("[{}{}] {:>4} {}/{} done", std::string(filled, '#'), std::string(width - filled, '.'),
                     Percent(fraction), done, total);
}

}  // namespace fc::cli
