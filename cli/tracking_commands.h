// fcctl's stage-wise tracking commands (docs/tracking.md). They read the coordinator's HTTP API
// (--http HOST:PORT, else $FC_HTTP, else 127.0.0.1:8080):
//   fcctl report EXP [--out DIR]          tables; with --out also report.json and SVG plots
//   fcctl circuit show ID | diff A B      a stored circuit's summary / the diff of two circuits
//   fcctl circuit export ID [--format eapig|collapsed|dot] [--out FILE]
//                                         the circuit as EAP-IG JSON, collapsed JSON or DOT
//   fcctl lineage EXP/JOB/CHECKPOINT      checkpoint -> parent -> ... with producing job
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "common/status.h"

namespace fc::cli {

inline constexpr int64_t kMaxHttpBodyBytes = int64_t{256} << 20;

// GET http://host:port/target; the body of a 200, else the error the API returned
// ({"error", "code"}) as a Status with that code; UNAVAILABLE when the coordinator cannot be
// reached, RESOURCE_EXHAUSTED when the body is larger than max_bytes.
StatusOr<std::string> HttpGetText(const std::string& hostport, const std::string& target, int64_t timeout_ms,
                                  int64_t max_bytes = kMaxHttpBodyBytes);
// HttpGetText, parsed as JSON (INTERNAL when it is not JSON).
StatusOr<nlohmann::json> HttpGetJson(const std::string& hostport, const std::string& target, int64_t timeout_ms);

// The report's text tables for an /experiments/{id}/tracking document.
std::string TrackingTables(const nlohmann::json& report);
// Writes report.json, accuracy.svg, faithfulness.svg, circuit_size.svg and layers_<track>.svg
// into dir (created); returns the files written.
StatusOr<std::vector<std::string>> WriteReportFiles(const nlohmann::json& report, const std::string& dir);

int CmdReport(const CommonOptions& o, const std::string& http, const std::string& experiment, const std::string& out_dir);
int CmdCircuitShow(const CommonOptions& o, const std::string& http, const std::string& id);
int CmdCircuitDiff(const CommonOptions& o, const std::string& http, const std::string& a, const std::string& b);
// Prints the document (or writes it to out_file, atomically). Exit codes as every command:
// 4 unknown circuit, 2 bad format, 3 unreachable, 1 no edges available / other errors.
int CmdCircuitExport(const CommonOptions& o, const std::string& http, const std::string& id, const std::string& format,
                     const std::string& out_file);
int CmdLineage(const CommonOptions& o, const std::string& http, const std::string& checkpoint);

}  // namespace fc::cli
