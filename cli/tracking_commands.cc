#include "cli/tracking_commands.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include "cli/exit_code.h"
#include "cli/output.h"
#include "cli/svg.h"

namespace fc::cli {
namespace {

using nlohmann::json;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

StatusCode CodeFromName(const std::string& n) {
  if (n == "NOT_FOUND") return StatusCode::kNotFound;
  if (n == "INVALID_ARGUMENT") return StatusCode::kInvalidArgument;
  if (n == "UNAVAILABLE") return StatusCode::kUnavailable;
  if (n == "DATA_LOSS") return StatusCode::kDataLoss;
  if (n == "FAILED_PRECONDITION") return StatusCode::kFailedPrecondition;
  if (n == "RESOURCE_EXHAUSTED") return StatusCode::kResourceExhausted;
  return StatusCode::kInternal;
}

std::string Num(const json& v, const char* fmt_spec = "{:.4g}") {
  if (v.is_number()) return fmt::format(fmt::runtime(fmt_spec), v.get<double>());
  return "-";
}
std::string Int(const json& v) { return v.is_number() ? std::to_string(v.get<int64_t>()) : "-"; }
json Get(const json& j, const char* a, const char* b = nullptr) {
  if (!j.is_object() || !j.contains(a)) return nullptr;
  if (!b) return j.at(a);
  return j.at(a).is_object() && j.at(a).contains(b) ? j.at(a).at(b) : json(nullptr);
}
double D(const json& v) { return v.is_number() ? v.get<double>() : NAN; }

int Report(const Status& s, const CommonOptions& o, const std::string& http) {
  fmt::print(stderr, "{}\n", ErrorMessage(s, http));
  (void)o;
  return ExitCodeFor(s);
}

Status WriteFile(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return UnavailableError("cannot write '{}'", path);
  f << text;
  f.close();
  if (!f) return DataLossError("writing '{}' failed", path);
  return Status::OK();
}

}  // namespace

StatusOr<std::string> HttpGetText(const std::string& hostport, const std::string& target, int64_t timeout_ms,
                                  int64_t max_bytes) {
  const size_t colon = hostport.rfind(':');
  if (colon == std::string::npos) return InvalidArgumentError("--http '{}': expected HOST:PORT", hostport);
  const std::string host = hostport.substr(0, colon), port = hostport.substr(colon + 1);
  try {
    boost::asio::io_context ioc;
    tcp::resolver resolver(ioc);
    beast::tcp_stream stream(ioc);
    stream.expires_after(std::chrono::milliseconds(timeout_ms));
    stream.connect(resolver.resolve(host, port));
    http::request<http::string_body> req{http::verb::get, target, 11};
    req.set(http::field::host, host);
    http::write(stream, req);
    beast::flat_buffer buf;
    // Beast caps a response body at 8 MB by default; exports and reports can be larger.
    http::response_parser<http::string_body> parser;
    parser.body_limit(static_cast<std::uint64_t>(max_bytes));
    beast::error_code rec;
    http::read(stream, buf, parser, rec);
    if (rec == http::error::body_limit) {
      return ResourceExhaustedError("GET {}: the answer is larger than {} bytes", target, max_bytes);
    }
    if (rec) throw beast::system_error(rec);
    http::response<http::string_body> res = parser.release();
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    if (res.result_int() != 200) {
      json body = json::parse(res.body(), nullptr, false);
      std::string msg = body.is_object() ? body.value("error", res.body()) : res.body();
      std::string code = body.is_object() ? body.value("code", "") : "";
      return Status(CodeFromName(code), fmt::format("{} (HTTP {})", msg, res.result_int()));
    }
    return std::move(res.body());
  } catch (const std::exception& e) {
    return UnavailableError("GET http://{}{}: {}", hostport, target, e.what());
  }
}

StatusOr<json> HttpGetJson(const std::string& hostport, const std::string& target, int64_t timeout_ms) {
  FC_ASSIGN_OR_RETURN(std::string text, HttpGetText(hostport, target, timeout_ms));
  json body = json::parse(text, nullptr, false);
  if (body.is_discarded()) return InternalError("GET {}: the answer is not JSON", target);
  return body;
}

std::string TrackingTables(const json& r) {
  std::string out = fmt::format("experiment {}  {}\n", r.value("experiment", ""), r.value("state", ""));
  for (const json& f : r.value("finetunes", json::array())) {
    out += fmt::format("\nfine-tuning {} ({}, {} trainable params)\n", f.value("job", ""), f.value("method", ""),
                       Int(Get(f, "trainable_params")));
    std::vector<std::vector<std::string>> rows;
    for (const json& c : f.value("checkpoints", json::array())) {
      rows.push_back({Int(c.at("step")), c.value("name", ""), c.value("parent", ""), Num(c.at("loss")),
                      Num(c.at("accuracy"))});
    }
    out += RenderTable({"STEP", "CHECKPOINT", "PARENT", "LOSS", "ACCURACY"}, rows);
  }
  for (const json& t : r.value("tracks", json::array())) {
    out += fmt::format("\ncircuit tracking {} (fine-tuning {})\n", t.value("job", ""), t.value("finetune", ""));
    std::vector<std::vector<std::string>> rows;
    for (const json& p : t.value("points", json::array())) {
      const json& d = p.at("diff_prev");
      const json& base = p.at("diff_base");
      rows.push_back({Int(p.at("step")), Int(p.at("nodes")), Int(p.at("edges")), Num(p.at("faithfulness_kl_pct")),
                      Num(p.at("circuit_accuracy")), Num(p.at("checkpoint_accuracy")), Int(Get(d, "nodes_added")),
                      Int(Get(d, "nodes_removed")), Int(Get(d, "edges_added")), Int(Get(d, "edges_removed")),
                      Int(Get(d, "node_induced_edge_changes")), Int(Get(d, "other_edge_changes")),
                      Num(Get(base, "node_jaccard")), Num(Get(base, "edge_jaccard"))});
    }
    out += RenderTable({"STEP", "NODES", "EDGES", "FAITH_KL%", "CIRC_ACC", "CKPT_ACC", "+NODES", "-NODES", "+EDGES",
                        "-EDGES", "NODE_INDUCED", "OTHER", "NODE_J_BASE", "EDGE_J_BASE"},
                       rows);
    if (t.contains("diffs_missing") && t.at("diffs_missing").is_string()) {
      out += fmt::format("(edge diffs unavailable: {})\n", t.at("diffs_missing").get<std::string>());
    }
  }
  std::vector<std::vector<std::string>> evals;
  for (const json& e : r.value("evaluations", json::array())) {
    evals.push_back({e.value("job", ""), e.value("model", ""), e.at("method").is_string() ? e.value("method", "") : "-",
                     Int(e.at("trainable_params")), Num(e.at("accuracy"))});
  }
  if (!evals.empty()) {
    out += "\naccuracy by model (CircuitLoRA vs LoRA at their parameter counts)\n";
    out += RenderTable({"JOB", "MODEL", "METHOD", "TRAINABLE", "ACCURACY"}, evals);
  }
  return out;
}

StatusOr<std::vector<std::string>> WriteReportFiles(const json& r, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return UnavailableError("cannot create '{}': {}", dir, ec.message());
  std::vector<std::string> written;
  auto put = [&](const std::string& name, const std::string& text) -> Status {
    FC_RETURN_IF_ERROR(WriteFile(dir + "/" + name, text));
    written.push_back(dir + "/" + name);
    return Status::OK();
  };
  FC_RETURN_IF_ERROR(put("report.json", r.dump(2) + "\n"));
  std::vector<LineSeries> acc, faith, size;
  for (const json& f : r.value("finetunes", json::array())) {
    LineSeries s{f.value("job", "") + " accuracy", {}};
    for (const json& c : f.value("checkpoints", json::array())) s.points.emplace_back(D(c.at("step")), D(c.at("accuracy")));
    acc.push_back(std::move(s));
  }
  for (const json& t : r.value("tracks", json::array())) {
    LineSeries circ{t.value("job", "") + " circuit acc", {}}, kl{t.value("job", "") + " KL %", {}},
        norm{t.value("job", "") + " normalized", {}}, edges{t.value("job", "") + " edges", {}},
        nodes{t.value("job", "") + " nodes", {}};
    std::vector<double> added, removed;
    for (const json& p : t.value("points", json::array())) {
      double step = D(p.at("step"));
      circ.points.emplace_back(step, D(p.at("circuit_accuracy")));
      kl.points.emplace_back(step, D(p.at("faithfulness_kl_pct")));
      norm.points.emplace_back(step, D(p.at("faithfulness_normalized")));
      edges.points.emplace_back(step, D(p.at("edges")));
      nodes.points.emplace_back(step, D(p.at("nodes")));
      const json& d = p.at("diff_prev");
      if (!d.is_object()) continue;
      const auto& a = d.at("edges_added_per_layer");
      const auto& rm = d.at("edges_removed_per_layer");
      added.resize(std::max(added.size(), a.size()));
      removed.resize(std::max(removed.size(), rm.size()));
      for (size_t l = 0; l < a.size(); ++l) added[l] += a[l].get<double>();
      for (size_t l = 0; l < rm.size(); ++l) removed[l] += rm[l].get<double>();
    }
    acc.push_back(circ);
    faith.push_back(kl);
    faith.push_back(norm);
    size.push_back(edges);
    size.push_back(nodes);
    if (!added.empty()) {
      std::vector<std::string> layers;
      for (size_t l = 0; l < added.size(); ++l) layers.push_back(std::to_string(l));
      FC_RETURN_IF_ERROR(put("layers_" + t.value("job", "track") + ".svg",
                             BarChartSvg("Edges added / removed per layer (" + t.value("job", "") + ", all checkpoints)",
                                         "layer", "edges", layers, {{"added", added}, {"removed", removed}})));
    }
  }
  FC_RETURN_IF_ERROR(put("accuracy.svg", LineChartSvg("Accuracy vs checkpoint", "step", "accuracy", acc)));
  FC_RETURN_IF_ERROR(put("faithfulness.svg", LineChartSvg("Faithfulness vs checkpoint", "step", "faithfulness", faith)));
  FC_RETURN_IF_ERROR(put("circuit_size.svg", LineChartSvg("Circuit size vs checkpoint", "step", "count", size)));
  return written;
}

int CmdReport(const CommonOptions& o, const std::string& http, const std::string& experiment, const std::string& out_dir) {
  auto r = HttpGetJson(http, "/api/v1/experiments/" + experiment + "/tracking", o.timeout_ms);
  if (!r.ok()) return Report(r.status(), o, http);
  if (o.format == OutputFormat::kJson) {
    fmt::print("{}\n", r->dump(2));
  } else {
    fmt::print("{}", TrackingTables(*r));
  }
  if (!out_dir.empty()) {
    auto files = WriteReportFiles(*r, out_dir);
    if (!files.ok()) return Report(files.status(), o, http);
    for (const std::string& f : *files) fmt::print(stderr, "wrote {}\n", f);
  }
  return kExitOk;
}

int CmdCircuitShow(const CommonOptions& o, const std::string& http, const std::string& id) {
  auto r = HttpGetJson(http, "/api/v1/circuits/" + id, o.timeout_ms);
  if (!r.ok()) return Report(r.status(), o, http);
  if (o.format == OutputFormat::kJson) {
    fmt::print("{}\n", r->dump(2));
    return kExitOk;
  }
  const json& s = r->at("summary");
  fmt::print("{}", RenderTable({"CIRCUIT", "JOB", "STEP", "NODES", "EDGES", "FAITH_KL%", "CIRC_ACC", "SCORES"},
                               {{r->value("id", ""), r->value("job", ""), Int(r->at("step")), Int(r->at("nodes")),
                                 Int(r->at("edges")), Num(Get(s, "faithfulness", "kl_pct")),
                                 Num(Get(s, "accuracy", "circuit")), r->value("scores_stored", false) ? "stored" : "-"}}));
  return kExitOk;
}

int CmdCircuitDiff(const CommonOptions& o, const std::string& http, const std::string& a, const std::string& b) {
  auto r = HttpGetJson(http, "/api/v1/circuits/" + a + "/diff/" + b, o.timeout_ms);
  if (!r.ok()) return Report(r.status(), o, http);
  if (o.format == OutputFormat::kJson) {
    fmt::print("{}\n", r->dump(2));
    return kExitOk;
  }
  fmt::print("{}", RenderTable({"+NODES", "-NODES", "+EDGES", "-EDGES", "NODE_J", "EDGE_J", "NODE_INDUCED", "OTHER"},
                               {{Int(r->at("nodes_added")), Int(r->at("nodes_removed")), Int(r->at("edges_added")),
                                 Int(r->at("edges_removed")), Num(r->at("node_jaccard")), Num(r->at("edge_jaccard")),
                                 Int(r->at("node_induced_edge_changes")), Int(r->at("other_edge_changes"))}}));
  std::vector<std::vector<std::string>> rows;
  const json& ad = r->at("edges_added_per_layer");
  const json& rm = r->at("edges_removed_per_layer");
  for (size_t l = 0; l < ad.size(); ++l) rows.push_back({std::to_string(l), Int(ad[l]), Int(rm[l])});
  fmt::print("{}", RenderTable({"LAYER", "+EDGES", "-EDGES"}, rows));
  return kExitOk;
}

int CmdCircuitExport(const CommonOptions& o, const std::string& http, const std::string& id, const std::string& format,
                     const std::string& out_file) {
  auto doc = HttpGetText(http, "/api/v1/circuits/" + id + "/export?format=" + format, o.timeout_ms);
  if (!doc.ok()) return Report(doc.status(), o, http);
  if (out_file.empty() || out_file == "-") {
    fmt::print("{}", *doc);
    if (!doc->empty() && doc->back() != '\n') fmt::print("\n");
    return kExitOk;
  }
  // tmp + rename: a reader of FILE never sees half a circuit.
  const std::string tmp = out_file + ".tmp";
  Status s = WriteFile(tmp, *doc);
  if (s.ok() && std::rename(tmp.c_str(), out_file.c_str()) != 0) {
    s = UnavailableError("cannot rename '{}' to '{}'", tmp, out_file);
  }
  if (!s.ok()) {
    std::remove(tmp.c_str());
    fmt::print(stderr, "fcctl: {}\n", s.message());
    return kExitError;
  }
  fmt::print(stderr, "wrote {} ({} bytes, {})\n", out_file, doc->size(), format);
  return kExitOk;
}

int CmdLineage(const CommonOptions& o, const std::string& http, const std::string& checkpoint) {
  auto r = HttpGetJson(http, "/api/v1/lineage/" + checkpoint, o.timeout_ms);
  if (!r.ok()) return Report(r.status(), o, http);
  if (o.format == OutputFormat::kJson) {
    fmt::print("{}\n", r->dump(2));
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const json& c : r->at("lineage")) {
    rows.push_back({c.value("checkpoint", ""), Int(c.at("step")), c.value("parent", ""), c.value("job", ""),
                    Int(c.at("attempt")), Num(c.at("loss")), Num(c.at("accuracy")), c.value("path", "")});
  }
  fmt::print("{}", RenderTable({"CHECKPOINT", "STEP", "PARENT", "JOB", "ATTEMPT", "LOSS", "ACCURACY", "PATH"}, rows));
  return kExitOk;
}

}  // namespace fc::cli
