// fc-bench-finetune: training throughput of the C++ LoRA loop (fc::finetune::Finetune) against
// the same loop in Python PyTorch (bench/finetune/lora_ref.py) on the same model shape and the
// same tokenized rows, in one run; peak RSS of both; and, with --train-base, the time and
// held-out accuracy of base-model training from scratch. Results: bench/RESULTS.md "Finetune".
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "worker/data/tasks.h"
#include "worker/finetune/finetune_data.h"
#include "worker/finetune/loss.h"
#include "worker/finetune/train_base.h"
#include "worker/finetune/trainer.h"
#include "worker/model/causal_lm.h"
#include "worker/tokenizer/tokenizer.h"

namespace {

using fc::finetune::FinetuneMethod;
using fc::finetune::FinetuneParams;

double PeakRssMiB(int who) {
  rusage u{};
  getrusage(who, &u);
  return u.ru_maxrss / 1024.0;  // Linux: KiB
}

int RunTrainBase(const fc::finetune::TrainBaseParams& p) {
  int64_t last = 0;
  auto r = fc::finetune::TrainBase(p, [&](int64_t s, double loss) {
    if (s % 50 == 0 || s == p.steps) std::cerr << "  step " << s << " loss " << loss << "\n";
    last = s;
  });
  if (!r.ok()) {
    std::cerr << r.status().ToString() << "\n";
    return 1;
  }
  nlohmann::json j = {{"mode", "train_base"}, {"layers", p.layers}, {"d_model", p.d_model}, {"steps", r->steps},
                      {"batch_size", p.batch_size}, {"max_operand", p.max_operand}, {"strip_prefix", p.strip_prefix}, {"seconds", r->seconds},
                      {"heldout_accuracy", r->heldout_accuracy}, {"final_loss", r->final_loss},
                      {"parameters", r->parameters}, {"tokens_per_step", r->tokens_per_step},
                      {"peak_rss_mib", PeakRssMiB(RUSAGE_SELF)}, {"threads", torch::get_num_threads()}};
  std::cout << j.dump() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fc-bench-finetune: C++ vs Python LoRA training throughput; base-model training"};
  int layers = 4, d_model = 256, heads = 4, rank = 32, batch = 16, steps = 30, skip = 3, threads = 2;
  int64_t max_operand = 100, rows_n = 2000;
  bool train_base = false, no_python = false, strip_prefix = false;
  int base_steps = 300;
  double lr = 2e-4;
  std::string python = "/usr/bin/python3";
  app.add_option("--layers", layers);
  app.add_option("--d-model", d_model);
  app.add_option("--heads", heads);
  app.add_option("--rank", rank);
  app.add_option("--batch", batch);
  app.add_option("--steps", steps, "timed optimizer steps");
  app.add_option("--skip", skip, "untimed warm-up steps");
  app.add_option("--threads", threads);
  app.add_option("--max-operand", max_operand);
  app.add_option("--rows", rows_n);
  app.add_option("--lr", lr);
  app.add_option("--python", python);
  app.add_flag("--no-python", no_python);
  app.add_flag("--train-base", train_base, "measure TrainBase instead of the LoRA loop");
  app.add_option("--base-steps", base_steps);
  app.add_flag("--strip-prefix", strip_prefix, "train-base: drop the instruction prefix");
  CLI11_PARSE(app, argc, argv);
  torch::set_num_threads(threads);

  if (train_base) {
    fc::finetune::TrainBaseParams p;
    p.layers = layers;
    p.d_model = d_model;
    p.heads = heads;
    p.steps = base_steps;
    p.batch_size = batch;
    p.max_operand = max_operand;
    p.generated_rows = rows_n;
    p.strip_prefix = strip_prefix;
    if (lr != 2e-4) p.lr = lr;
    p.out_dir = (std::filesystem::temp_directory_path() / "fc-bench-train-base").string();
    return RunTrainBase(p);
  }

  // Data: add/sub within max_operand, char tokenizer with number tokens (quickstart setting).
  fc::text::CharTokenizerOptions topt;
  topt.max_number_token = 2 * max_operand;
  auto tok = fc::text::MakeCharTokenizer(fc::text::DefaultCharAlphabet(), topt);
  fc::data::TaskOptions o;
  o.task = fc::data::Task::kAddSub;
  o.size = rows_n;
  o.max_operand = max_operand;
  auto rows = fc::data::GenerateTask(o, *tok);
  if (!rows.ok()) {
    std::cerr << rows.status().ToString() << "\n";
    return 1;
  }
  auto train = fc::finetune::BuildTrainExamples(*tok, *rows, fc::finetune::ExampleOptions{});
  if (!train.ok()) {
    std::cerr << train.status().ToString() << "\n";
    return 1;
  }
  double mean_len = 0;
  for (const auto& e : *train) mean_len += e.ids.size();
  mean_len /= train->size();

  nlohmann::json cfg = {{"model_type", "gpt_neox"}, {"hidden_size", d_model}, {"num_attention_heads", heads},
                        {"num_hidden_layers", layers}, {"intermediate_size", 4 * d_model}, {"rotary_pct", 0.25}, {"rotary_emb_base", 10000},
                        {"layer_norm_eps", 1e-5}, {"tie_word_embeddings", false},
                        {"use_parallel_residual", true}, {"max_position_embeddings", 256},
                        {"vocab_size", tok->vocab_size()}, {"hidden_act", "gelu"}};
  auto config = fc::model::ParseModelConfig(cfg, "bench config");
  if (!config.ok()) {
    std::cerr << config.status().ToString() << "\n";
    return 1;
  }
  auto model = fc::model::CreateRandomCausalLM(*config, 1);
  FinetuneParams p;
  p.method = FinetuneMethod::kLora;
  p.rank = rank;
  p.alpha = 2.0 * rank;
  p.lr = lr;
  p.batch_size = batch;
  p.grad_accum = 1;
  p.max_steps = steps + skip;
  p.warmup_steps = std::max(1, (steps + skip) / 10);
  p.pad_id = tok->pad_id().value_or(0);
  p.eval_batch_size = 64;
  std::chrono::steady_clock::time_point t_start;
  auto result = fc::finetune::Finetune(*model, *train, {}, p, [&](int64_t s, double) {
    if (s == skip) t_start = std::chrono::steady_clock::now();
  });
  const double cpp_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  if (!result.ok()) {
    std::cerr << result.status().ToString() << "\n";
    return 1;
  }
  const double tokens = static_cast<double>(steps) * batch * mean_len;
  // Breakdown: the same number of forward + loss + backward passes on one fixed batch, without
  // the optimizer, clipping and data handling: the model library's share of a step.
  double fwd_bwd_s = 0;
  {
    std::vector<int64_t> idx;
    for (int i = 0; i < batch; ++i) idx.push_back(i % static_cast<int>(train->size()));
    auto b = fc::finetune::CollateTrain(*train, idx, p.pad_id);
    auto t0 = std::chrono::steady_clock::now();
    for (int s = 0; s < steps; ++s) {
      auto ls = fc::finetune::CausalLmLossSum(model->Forward(b->ids), b->labels);
      (ls->sum / static_cast<double>(ls->count)).backward();
    }
    fwd_bwd_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  const double cpp_tps = tokens / cpp_s;
  const double cpp_rss = PeakRssMiB(RUSAGE_SELF);
  std::cout << "model: gpt_neox layers=" << layers << " d_model=" << d_model << " heads=" << heads
            << " vocab=" << tok->vocab_size() << " lora r=" << rank << " (trainable " << result->trainable_params
            << " of " << result->base_params << ")\n"
            << "data: add_sub within " << max_operand << ", " << train->size() << " rows, mean " << mean_len
            << " tokens; batch " << batch << ", " << steps << " timed steps after " << skip << ", threads "
            << threads << "\n"
            << "C++    : " << cpp_s << " s, " << cpp_tps << " tokens/s, peak RSS " << cpp_rss << " MiB, final loss "
            << result->final_loss << "\n"
            << "C++ forward+loss+backward alone (same step count, fixed batch): " << fwd_bwd_s << " s ("
            << 100.0 * fwd_bwd_s / cpp_s << " % of the loop)\n";
  nlohmann::json out = {{"cpp_seconds", cpp_s}, {"cpp_tokens_per_s", cpp_tps}, {"cpp_peak_rss_mib", cpp_rss},
                        {"steps", steps}, {"batch", batch}, {"mean_tokens", mean_len}, {"threads", threads},
                        {"cpp_fwd_bwd_seconds", fwd_bwd_s}};
  if (!no_python) {
    // Same rows for Python.
    const std::string data_path = (std::filesystem::temp_directory_path() / "fc-bench-lora-data.json").string();
    {
      nlohmann::json d;
      d["config"] = {{"vocab", tok->vocab_size()}, {"d_model", d_model}, {"heads", heads}, {"layers", layers},
                     {"d_mlp", 4 * d_model}, {"rotary_pct", 0.25}, {"r", rank}, {"alpha", 2.0 * rank},
                     {"lr", lr}, {"batch_size", batch}, {"pad_id", p.pad_id}};
      d["rows"] = nlohmann::json::array();
      for (const auto& e : *train) d["rows"].push_back({{"ids", e.ids}, {"labels", e.labels}});
      std::ofstream(data_path) << d.dump();
    }
    const std::string cmd = python + " " + FC_BENCH_FINETUNE_DIR + "/lora_ref.py --data " + data_path +
                            " --steps " + std::to_string(steps) + " --skip " + std::to_string(skip) +
                            " --threads " + std::to_string(threads);
    FILE* f = popen(cmd.c_str(), "r");
    std::string line, all;
    if (f) {
      char buf[4096];
      while (fgets(buf, sizeof(buf), f)) all += buf;
      int rc = pclose(f);
      if (rc != 0) {
        std::cerr << "python reference failed (rc " << rc << "): " << cmd << "\n" << all;
        return 1;
      }
    }
    auto pos = all.rfind('{');
    if (pos == std::string::npos) {
      std::cerr << "no JSON from python reference: " << all << "\n";
      return 1;
    }
    auto pj = nlohmann::json::parse(all.substr(pos));
    const double py_s = pj["seconds"].get<double>();
    const double py_tps = tokens / py_s;
    const double py_rss = PeakRssMiB(RUSAGE_CHILDREN);
    std::cout << "Python : " << py_s << " s, " << py_tps << " tokens/s, peak RSS " << py_rss << " MiB (torch "
              << pj["torch"].get<std::string>() << ", final loss " << pj["final_loss"].get<double>() << ")\n"
              << "ratio C++/Python tokens/s: " << cpp_tps / py_tps << "\n";
    out["python_seconds"] = py_s;
    out["python_tokens_per_s"] = py_tps;
    out["python_peak_rss_mib"] = py_rss;
    out["ratio"] = cpp_tps / py_tps;
    std::filesystem::remove(data_path);
  }
  std::cout << out.dump() << "\n";
  return 0;
}
