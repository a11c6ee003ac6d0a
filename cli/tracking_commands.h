// fcctl's stage-wise tracking commands (docs/tracking.md). They read the coordinator's HTTP API
// (--http HOST:PORT, else $FC_HTTP, else 127.0.0.1:8080):
//   fcctl report EXP [--out DIR]          tables; with --out also report.json and SVG plots
//   fcctl circuit show ID | diff A B      a stored circuit's summary / the diff of two circuits
//   fcctl lineage EXP/JOB/CHECKPOINT      checkpoint -> parent -> ... with producing job
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "common/status.h"

namespace fc::cli {

// GET http://host:port/target; the JSON body of a 200, else the error the API returned
// ({"error", "code"}) as a Status with that code.
StatusOr<nlohmann::json> HttpGetJson(const std::string& hostport, const std::string& target, int64_t timeout_ms);

// The report's text tables for an /experiments/{id}/tracking document.
std::string TrackingTables(const nlohmann::json& report);
// Writes report.json, accuracy.svg, faithfulness.svg, circuit_size.svg and layers_<track>.svg
// into dir (created); returns the files written.
StatusOr<std::vector<std::string>> WriteReportFiles(const nlohmann::json& report, const std::string& dir);

int CmdReport(const CommonOptions& o, const std::string& http, const std::string& experiment, const std::string& out_dir);
int CmdCircuitShow(const CommonOptions& o, const std::string& http, const std::string& id);
int CmdCircuitDiff(const CommonOptions& o, const std::string& http, const std::string& a, const std::string& b);
int CmdLineage(const CommonOptions& o, const std::string& http, const std::string& checkpoint);

}  // namespace fc::cli
