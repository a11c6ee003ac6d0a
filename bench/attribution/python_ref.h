// Runs bench/attribution/eap_ig_ref.py (the straightforward PyTorch EAP-IG) on a saved model and
// rows, for the cross-check test and the benchmark. Header-only; LibTorch side.
#pragma once

#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "worker/attribution/batch.h"

namespace fc::attribution::bench {

// A python3 that can import torch ($FC_PYTHON first), or "" when there is none.
inline std::string FindPythonWithTorch() {
  std::vector<std::string> candidates;
  if (const char* p = std::getenv("FC_PYTHON")) candidates.push_back(p);
  candidates.push_back("python3");
  candidates.push_back("/usr/bin/python3");
  for (const auto& py : candidates) {
    const std::string cmd = py + " -c 'import torch' >/dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0) return py;
  }
  return "";
}

inline Status WriteRowsJson(const std::string& path, const std::vector<TokenizedRow>& rows,
                            int64_t pad_id, int64_t batch_size) {
  nlohmann::json j;
  j["pad_id"] = pad_id;
  j["batch_size"] = batch_size;
  j["rows"] = nlohmann::json::array();
  for (const TokenizedRow& r : rows) {
    j["rows"].push_back({{"clean", r.clean}, {"corrupted", r.corrupted}, {"label", r.label},
                         {"incorrect", r.incorrect}});
  }
  std::ofstream f(path);
  f << j.dump();
  if (!f) return InternalError("cannot write {}", path);
  return Status::OK();
}

struct ReferenceRun {
  torch::Tensor scores;  // [n_forward, n_backward] float32
  double seconds = 0;      // attribution wall time inside the script (model load excluded)
  double cpu_seconds = 0;  // its process CPU time (all threads)
};

// Runs the script; `args` are extra command-line flags (e.g. "--metric logit_diff").
inline StatusOr<ReferenceRun> RunPythonReference(const std::string& python,
                                                 const std::string& script,
                                                 const std::string& model_dir,
                                                 const std::string& rows_json,
                                                 const std::string& out_path,
                                                 const std::string& args, int64_t n_forward,
                                                 int64_t n_backward) {
  const std::string cmd = python + " " + script + " --model " + model_dir + " --data " +
                          rows_json + " --out " + out_path + " " + args;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return InternalError("cannot run: {}", cmd);
  std::string output;
  char buf[4096];
  while (fgets(buf, sizeof(buf), pipe) != nullptr) output += buf;
  const int rc = pclose(pipe);
  if (rc != 0) return InternalError("'{}' failed ({}): {}", cmd, rc, output);
  ReferenceRun run;
  try {
    const nlohmann::json j = nlohmann::json::parse(output.substr(output.rfind('{')));
    run.seconds = j["seconds"].get<double>();
    run.cpu_seconds = j.value("cpu_seconds", 0.0);
  } catch (const nlohmann::json::exception& e) {
    return InternalError("cannot parse the output of '{}': {}", cmd, output);
  }
  std::ifstream f(out_path, std::ios::binary);
  run.scores = torch::empty({n_forward, n_backward}, torch::kFloat);
  f.read(reinterpret_cast<char*>(run.scores.data_ptr<float>()), run.scores.numel() * 4);
  if (!f) return InternalError("short score file {}", out_path);
  return run;
}

}  // namespace fc::attribution::bench
