// fc-bench-model: model-side performance numbers for bench/RESULTS.md ("Model").
//
//   fc-bench-model train    forward+backward tokens/s of our C++ model and of the same weights
//                           in Python PyTorch (bench/model/torch_fwd_bwd.py), same process tree,
//                           same thread count; prints both and the ratio.
//   fc-bench-model taps     cost of Taps (capture_outputs, retain_inputs) vs the plain forward.
//   fc-bench-model load     writes a random Pythia-1.4b-shaped model as bf16 safetensors
//                           (2.8 GB), then loads it in a fresh child process (fp32 and bf16) and
//                           reports load time and that child's peak RSS; deletes the files.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <fstream>
#include <iostream>

#include "worker/model/causal_lm.h"

namespace fc::model {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

nlohmann::json NeoxJson(int64_t d, int64_t layers, int64_t heads, int64_t vocab) {
  return {{"model_type", "gpt_neox"}, {"hidden_size", d},
          {"num_attention_heads", heads}, {"num_hidden_layers", layers},
          {"intermediate_size", 4 * d}, {"rotary_pct", 0.25},
          {"rotary_emb_base", 10000},   {"use_parallel_residual", true},
          {"layer_norm_eps", 1e-5},     {"max_position_embeddings", 2048},
          {"vocab_size", vocab},        {"tie_word_embeddings", false},
          {"hidden_act", "gelu"},       {"bos_token_id", 0},
          {"eos_token_id", 0}};
}

std::string MakeTempDir(const std::string& parent) {
  std::string tmpl = parent + "/fc_bench_model_XXXXXX";
  return mkdtemp(tmpl.data());
}

int RunTrain(int64_t d, int64_t layers, int64_t heads, int64_t vocab, int64_t batch, int64_t seq,
             int steps, int warmup, int rounds, int threads, const std::string& python,
             const std::string& tmp_parent) {
  at::set_num_threads(threads);
  auto config = ParseModelConfig(NeoxJson(d, layers, heads, vocab), "bench config");
  if (!config.ok()) {
    std::cerr << config.status().ToString() << "\n";
    return 2;
  }
  auto model = CreateRandomCausalLM(*config, 1);
  const std::string dir = MakeTempDir(tmp_parent);
  if (Status s = SaveCausalLM(*model, dir); !s.ok()) {
    std::cerr << s.ToString() << "\n";
    return 2;
  }
  torch::Tensor ids = torch::randint(vocab, {batch, seq}, torch::kInt64);
  {
    std::vector<std::vector<int64_t>> rows;
    for (int64_t b = 0; b < batch; ++b) {
      rows.emplace_back(ids[b].data_ptr<int64_t>(), ids[b].data_ptr<int64_t>() + seq);
    }
    std::ofstream(dir + "/ids.json") << nlohmann::json{{"ids", rows}}.dump();
  }
  for (auto& [name, p] : model->NamedParameters()) p.requires_grad_(true);
  model->module().train();
  auto step = [&]() {
    model->module().zero_grad();
    torch::Tensor logits = model->Forward(ids);  // [B,P,V]
    torch::Tensor loss = torch::nn::functional::cross_entropy(
        logits.narrow(1, 0, seq - 1).reshape({-1, vocab}), ids.narrow(1, 1, seq - 1).reshape(-1));
    loss.backward();
    return loss.item<double>();
  };
  const std::string script = std::string(FC_BENCH_SOURCE_DIR) + "/bench/model/torch_fwd_bwd.py";
  const std::string cmd = python + " " + script + " " + dir + " " + std::to_string(steps) + " " +
                          std::to_string(warmup) + " " + std::to_string(threads);
  std::printf("model: pythia-shaped d=%ld L=%ld H=%ld V=%ld, batch %ld x %ld tokens, %d threads, "
              "%d rounds of %d steps (+%d warmup) each side, alternating\n",
              d, layers, heads, vocab, batch, seq, threads, rounds, steps, warmup);
  // Alternate C++ and Python rounds so that load from other processes hits both alike; report
  // the median round of each.
  std::vector<double> cpp_tps, py_tps;
  double cpp_loss = 0, py_loss = 0;
  for (int r = 0; r < rounds; ++r) {
    for (int i = 0; i < warmup; ++i) step();
    auto t0 = Clock::now();
    for (int i = 0; i < steps; ++i) cpp_loss = step();
    cpp_tps.push_back(static_cast<double>(batch * seq * steps) / Seconds(t0, Clock::now()));
    FILE* pipe = popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    while (pipe != nullptr && fgets(buf, sizeof(buf), pipe) != nullptr) out += buf;
    const int rc = pipe == nullptr ? -1 : pclose(pipe);
    if (rc != 0 || out.find('{') == std::string::npos) {
      std::filesystem::remove_all(dir);
      std::printf("python fwd+bwd: not run (%s failed: %s)\n", cmd.c_str(), out.c_str());
      return 1;
    }
    auto j = nlohmann::json::parse(out.substr(out.find('{')));
    py_tps.push_back(j["tokens_per_s"].get<double>());
    py_loss = j["loss"].get<double>();
    std::printf("round %d: cpp %.1f tokens/s, python %.1f tokens/s\n", r + 1, cpp_tps.back(),
                py_tps.back());
    std::fflush(stdout);
  }
  std::filesystem::remove_all(dir);
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const double c = median(cpp_tps), p = median(py_tps);
  std::printf("cpp    fwd+bwd: %.1f tokens/s (median; loss %.4f)\n", c, cpp_loss);
  std::printf("python fwd+bwd: %.1f tokens/s (median; loss %.4f)\n", p, py_loss);
  std::printf("ratio cpp/python: %.3f\n", c / p);
  return 0;
}

// Cost of Taps relative to the plain forward (algorithms.md 12): no-grad forward with
// capture_outputs, and forward+backward w.r.t. the embeddings with retain_inputs (the EAP-IG
// pass) vs the same without taps. Modes alternate per repetition; medians are reported.
int RunTaps(int64_t d, int64_t layers, int64_t heads, int64_t vocab, int64_t batch, int64_t seq,
            int reps, int threads) {
  at::set_num_threads(threads);
  auto config = ParseModelConfig(NeoxJson(d, layers, heads, vocab), "bench config");
  if (!config.ok()) return 2;
  auto model = CreateRandomCausalLM(*config, 1);
  torch::Tensor ids = torch::randint(vocab, {batch, seq}, torch::kInt64);
  auto fwd_plain = [&]() {
    torch::NoGradGuard g;
    model->Forward(ids);
  };
  auto fwd_capture = [&]() {
    torch::NoGradGuard g;
    Taps taps;
    taps.capture_outputs = true;
    model->Forward(ids, &taps);
  };
  auto grad_step = [&](bool retain) {
    torch::Tensor e = model->Embed(ids).detach().requires_grad_(true);
    Taps taps;
    taps.retain_inputs = retain;
    torch::Tensor logits = model->ForwardFromEmbeddings(e, retain ? &taps : nullptr);
    torch::log_softmax(logits.select(1, seq - 1), -1).select(-1, 0).sum().backward();
  };
  const char* names[4] = {"forward (no grad)", "forward + capture_outputs (no grad)",
                          "fwd+bwd to embeddings", "fwd+bwd + retain_inputs (per-head q/k/v)"};
  std::vector<std::function<void()>> modes = {fwd_plain, fwd_capture, [&] { grad_step(false); },
                                              [&] { grad_step(true); }};
  std::vector<std::vector<double>> ms(modes.size());
  for (auto& m : modes) m();  // warmup
  for (int r = 0; r < reps; ++r) {
    for (size_t i = 0; i < modes.size(); ++i) {
      auto t0 = Clock::now();
      modes[i]();
      ms[i].push_back(1000 * Seconds(t0, Clock::now()));
    }
  }
  std::printf("taps: pythia-shaped d=%ld L=%ld H=%ld V=%ld, batch %ld x %ld tokens, %d threads, "
              "%d alternating reps\n",
              d, layers, heads, vocab, batch, seq, threads, reps);
  std::vector<double> med;
  for (auto v : ms) {
    std::sort(v.begin(), v.end());
    med.push_back(v[v.size() / 2]);
  }
  for (size_t i = 0; i < modes.size(); ++i) {
    const double base = i < 2 ? med[0] : med[2];
    std::printf("%-42s %9.1f ms  (x%.2f)\n", names[i], med[i], med[i] / base);
  }
  return 0;
}

// Child: load and report; the parent reads peak RSS from wait4.
int LoadChild(const std::string& dir, torch::Dtype dtype) {
  auto t0 = Clock::now();
  auto model = LoadCausalLM(dir, torch::kCPU, dtype);
  const double s = Seconds(t0, Clock::now());
  if (!model.ok()) {
    std::cerr << model.status().ToString() << "\n";
    return 2;
  }
  int64_t n = 0;
  for (auto& [name, p] : (*model)->NamedParameters()) n += p.numel();
  std::printf("load %s: %.2f s, %ld parameters", std::string(c10::toString(dtype)).c_str(), s, n);
  std::fflush(stdout);
  return 0;
}

int RunLoad(const std::string& tmp_parent, const std::string& self) {
  nlohmann::json j = NeoxJson(2048, 24, 16, 50304);  // Pythia-1.4b
  auto config = ParseModelConfig(j, "pythia-1.4b config");
  if (!config.ok()) return 2;
  const std::string dir = MakeTempDir(tmp_parent);
  {
    auto t0 = Clock::now();
    auto model = CreateRandomCausalLM(*config, 1, torch::kCPU, torch::kBFloat16);
    if (!model.ok()) return 2;
    auto t1 = Clock::now();
    if (Status s = SaveCausalLM(**model, dir); !s.ok()) {
      std::cerr << s.ToString() << "\n";
      return 2;
    }
    std::printf("create random bf16 Pythia-1.4b: %.1f s, save: %.1f s, file %.2f GB\n",
                Seconds(t0, t1), Seconds(t1, Clock::now()),
                std::filesystem::file_size(dir + "/model.safetensors") / 1e9);
  }
  int rc = 0;
  for (const char* dtype : {"float32", "bfloat16"}) {
    std::fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
      execl(self.c_str(), self.c_str(), "load-child", dir.c_str(), dtype, nullptr);
      _exit(127);
    }
    int status = 0;
    struct rusage ru;
    wait4(pid, &status, 0, &ru);
    std::printf(", peak RSS %.2f GB\n", ru.ru_maxrss / 1e6);  // ru_maxrss is in KiB
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) rc = 1;
  }
  std::filesystem::remove_all(dir);
  return rc;
}

}  // namespace
}  // namespace fc::model

int main(int argc, char** argv) {
  CLI::App app{"fc-bench-model: model-side benchmarks"};
  app.require_subcommand(1);
  std::string tmp = std::filesystem::temp_directory_path().string();
  app.add_option("--tmp", tmp, "where to write temporary checkpoints");

  auto* train = app.add_subcommand("train", "fwd+bwd tokens/s, C++ vs Python PyTorch");
  // Default: a small Pythia-shaped model so the run takes about a minute on 2 shared cores.
  int64_t d = 256, layers = 4, heads = 4, vocab = 8192, batch = 4, seq = 64;
  int steps = 5, warmup = 1, rounds = 3, threads = 2;
  std::string python = "python3";
  train->add_option("--d-model", d);
  train->add_option("--layers", layers);
  train->add_option("--heads", heads);
  train->add_option("--vocab", vocab);
  train->add_option("--batch", batch);
  train->add_option("--seq", seq);
  train->add_option("--steps", steps);
  train->add_option("--warmup", warmup);
  train->add_option("--rounds", rounds);
  train->add_option("--threads", threads);
  train->add_option("--python", python, "python with torch (e.g. /usr/bin/python3)");

  auto* taps = app.add_subcommand("taps", "cost of Taps vs the plain forward");
  int reps = 5;
  taps->add_option("--d-model", d);
  taps->add_option("--layers", layers);
  taps->add_option("--heads", heads);
  taps->add_option("--vocab", vocab);
  taps->add_option("--batch", batch);
  taps->add_option("--seq", seq);
  taps->add_option("--reps", reps);
  taps->add_option("--threads", threads);

  app.add_subcommand("load", "load time + peak RSS of a Pythia-1.4b-shaped bf16 checkpoint");
  auto* child = app.add_subcommand("load-child", "internal");
  std::string child_dir, child_dtype;
  child->add_option("dir", child_dir)->required();
  child->add_option("dtype", child_dtype)->required();
  CLI11_PARSE(app, argc, argv);

  if (app.got_subcommand("train")) {
    return fc::model::RunTrain(d, layers, heads, vocab, batch, seq, steps, warmup, rounds, threads,
                               python,
                               tmp);
  }
  if (app.got_subcommand("taps")) {
    return fc::model::RunTaps(d, layers, heads, vocab, batch, seq, reps, threads);
  }
  if (app.got_subcommand("load-child")) {
    return fc::model::LoadChild(child_dir,
                                child_dtype == "bfloat16" ? torch::kBFloat16 : torch::kFloat32);
  }
  return fc::model::RunLoad(tmp, std::filesystem::read_symlink("/proc/self/exe").string());
}
