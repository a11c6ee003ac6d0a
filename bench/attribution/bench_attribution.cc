// fc-bench-attribution: how fast and how lean is EAP-IG (algorithms.md 3.5, 3.8, 12)?
//
// For each model shape (random weights, float32, CPU, --threads threads), on B x P token rows:
//   ours      AttributeDense with the defaults (EAP-IG inputs, m steps, KL, all steps batched)
//   ours/mb   the same with one step per forward (micro-batched)
//   bare      the passes EAP-IG cannot avoid on the plain model: 2 no-grad forwards of B rows
//             (clean, corrupted) + one forward of m*B interpolated rows and its backward to the
//             embeddings only (same batching as ours); also step by step (m forwards of B rows)
//   python    bench/attribution/eap_ig_ref.py on the same saved model and rows (same method)
// Times are medians of --repeats rounds that run every variant in turn (after one warm-up round),
// so load changes on a shared machine hit all variants alike. Peak memory is
// the peak RSS growth during one AttributeDense call (sampled every ms), compared with the
// float32 activation difference [B,P,n_forward,D] and memory_plan's estimate.
#include <malloc.h>
#include <time.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <random>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "bench/attribution/python_ref.h"
#include "worker/attribution/eap.h"
#include "worker/attribution/memory_plan.h"
#include "worker/attribution/metrics.h"
#include "worker/model/causal_lm.h"

namespace fc::attribution {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

int64_t RssBytes() {
  std::ifstream f("/proc/self/statm");
  int64_t size = 0, resident = 0;
  f >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

// Peak RSS growth over `fn`, sampled every millisecond by a side thread.
template <typename Fn>
int64_t PeakRssGrowth(Fn&& fn) {
  malloc_trim(0);  // hand freed heap pages back, so the growth is this call's own
  const int64_t base = RssBytes();
  std::atomic<bool> done{false};
  std::atomic<int64_t> peak{base};
  std::thread sampler([&] {
    while (!done.load()) {
      peak.store(std::max(peak.load(), RssBytes()));
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  fn();
  done.store(true);
  sampler.join();
  return std::max<int64_t>(0, std::max(peak.load(), RssBytes()) - base);
}

// Runs every function once as warm-up, then `repeats` rounds of all of them in turn (so a
// change of machine load hits every variant alike), and returns each one's median seconds.
double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

struct Timing {
  double wall = 0, cpu = 0;  // medians
};

std::vector<Timing> InterleavedMedians(int repeats, const std::vector<std::function<void()>>& fns) {
  for (const auto& fn : fns) fn();
  std::vector<std::vector<double>> wall(fns.size()), cpu(fns.size());
  for (int r = 0; r < repeats; ++r) {
    for (size_t i = 0; i < fns.size(); ++i) {
      auto t0 = Clock::now();
      const double c0 = CpuSeconds();
      fns[i]();
      wall[i].push_back(Seconds(t0));
      cpu[i].push_back(CpuSeconds() - c0);
    }
  }
  std::vector<Timing> medians;
  for (size_t i = 0; i < fns.size(); ++i) {
    std::sort(wall[i].begin(), wall[i].end());
    std::sort(cpu[i].begin(), cpu[i].end());
    medians.push_back({wall[i][wall[i].size() / 2], cpu[i][cpu[i].size() / 2]});
  }
  return medians;
}

model::ModelConfig Shape(const std::string& name) {
  model::ModelConfig c;
  c.arch = model::Arch::kGptNeox;
  c.parallel_residual = true;
  c.rotary_pct = 0.25;
  c.rotary_base = 10000;
  c.vocab_size = 50304;
  c.max_positions = 2048;
  c.layer_norm_eps = 1e-5;
  c.initializer_range = 0.02;
  c.activation = model::Activation::kGeluErf;
  if (name == "pythia70m") {
    c.n_layers = 6, c.n_heads = 8, c.d_model = 512, c.d_mlp = 2048;
  } else {  // "l4d256"
    c.n_layers = 4, c.n_heads = 4, c.d_model = 256, c.d_mlp = 1024;
  }
  c.d_head = c.d_model / c.n_heads;
  return c;
}

std::vector<TokenizedRow> Rows(int n, int len, int64_t vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int64_t> tok(1, vocab - 1);
  std::vector<TokenizedRow> rows(n);
  for (auto& r : rows) {
    r.clean.push_back(0);
    for (int p = 1; p < len; ++p) r.clean.push_back(tok(rng));
    r.corrupted = r.clean;
    r.corrupted[len - 3] = tok(rng);  // like "a + b =": change one operand near the end
    r.corrupted[len - 5] = tok(rng);
    r.label = tok(rng);
    r.incorrect = tok(rng);
  }
  return rows;
}

// The passes EAP-IG needs on the plain model (no taps): 2 no-grad forwards, then m
// interpolated forwards + backwards to the embeddings only, in chunks of `spf` steps.
void BarePasses(model::CausalLM& m, const Batch& b, int steps, int spf) {
  torch::Tensor clean_logits, e_clean, e_corr;
  {
    torch::NoGradGuard ng;
    m.Forward(b.corrupted_ids);
    clean_logits = m.Forward(b.clean_ids);
    e_clean = m.Embed(b.clean_ids);
    e_corr = m.Embed(b.corrupted_ids);
  }
  auto ref = GatherLastPosition(clean_logits, b.lengths).value();
  for (int k0 = 0; k0 < steps; k0 += spf) {
    const int s = std::min(spf, steps - k0);
    torch::Tensor e = (e_corr + 0.5 * (e_clean - e_corr)).repeat({s, 1, 1}).requires_grad_(true);
    torch::Tensor logits = m.ForwardFromEmbeddings(e);
    torch::Tensor last = GatherLastPosition(logits, b.lengths.repeat({s})).value();
    torch::Tensor loss = KlDivergence(ref.repeat({s, 1}), last, KlReduction::kMeanOverVocab).sum();
    torch::autograd::grad({loss}, {e});
  }
}

int Run(int argc, char** argv) {
  CLI::App app{"EAP-IG benchmark"};
  std::vector<std::string> shapes = {"l4d256", "pythia70m"};
  int batch = 8, seq = 24, steps = 5, repeats = 3, threads = 2;
  bool python = true;
  app.add_option("--shapes", shapes, "pythia70m and/or l4d256");
  app.add_option("--batch", batch);
  app.add_option("--seq", seq);
  app.add_option("--steps", steps);
  app.add_option("--repeats", repeats);
  app.add_option("--threads", threads);
  app.add_flag("!--no-python", python, "skip the PyTorch comparison");
  CLI11_PARSE(app, argc, argv);
  torch::set_num_threads(threads);
  const std::string py = python ? bench::FindPythonWithTorch() : "";
  namespace fs = std::filesystem;
  const fs::path tmp = fs::temp_directory_path() / ("fc_bench_attr_" + std::to_string(getpid()));
  fs::create_directories(tmp);

  fmt::print("# fc-bench-attribution: B={} P={} m={} threads={} float32 CPU, median of {}\n",
             batch, seq, steps, threads, repeats);
  for (const std::string& shape : shapes) {
    model::ModelConfig cfg = Shape(shape);
    auto model = model::CreateRandomCausalLM(cfg, 1234);
    std::vector<TokenizedRow> rows = Rows(batch, seq, cfg.vocab_size, 99);
    std::vector<Batch> batches = MakeBatches(rows, batch, 0).value();
    AttributionOptions opt;
    opt.ig_steps = steps;
    opt.memory_budget_bytes = int64_t{16} << 30;
    torch::Tensor ours_scores;
    AttributionStats stats;
    AttributionOptions mb = opt;
    mb.steps_per_forward = 1;
    const std::vector<Timing> t = InterleavedMedians(
        repeats, {[&] { ours_scores = AttributeDense(*model, batches, opt, &stats).value(); },
                  [&] { AttributeDense(*model, batches, mb).value(); },
                  [&] { BarePasses(*model, batches[0], steps, steps); },
                  [&] { BarePasses(*model, batches[0], steps, 1); }});
    const Timing& bare = t[2];
    // Smaller first: glibc keeps freed heap pages, so a later, smaller call would show no growth.
    const int64_t peak_mb = PeakRssGrowth([&] { AttributeDense(*model, batches, mb).value(); });
    const int64_t peak = PeakRssGrowth([&] { AttributeDense(*model, batches, opt).value(); });
    const int64_t delta_bytes = ActivationDifferenceBytes(cfg, batch, seq);
    const int64_t estimate = EstimateGradPassBytesPerRow(cfg, seq, 4) * batch * steps + delta_bytes;

    fmt::print("\n## {} (L={} H={} D={} d_mlp={} V={}; {} edges)\n", shape, cfg.n_layers,
               cfg.n_heads, cfg.d_model, cfg.d_mlp, cfg.vocab_size,
               (ours_scores.ne(0)).sum().item<int64_t>());
    auto row = [&](const std::string& name, const Timing& x) {
      fmt::print("| {} | {:.3f} | {:.3f} | {:.2f}x | {:.2f}x |\n", name, x.wall, x.cpu,
                 x.wall / bare.wall, x.cpu / bare.cpu);
    };
    fmt::print("| run | wall s | CPU s | wall vs bare | CPU vs bare |\n|---|---|---|---|---|\n");
    row(fmt::format("ours, all {} steps in one forward ({} rows)", steps,
                    stats.max_rows_per_forward), t[0]);
    row("ours, one step per forward", t[1]);
    row("bare passes, batched (2 fwd of B + fwd/bwd of m*B)", t[2]);
    row("bare passes, step by step (2 fwd + m fwd/bwd of B)", t[3]);
    if (!py.empty()) {
      const std::string dir = (tmp / shape).string();
      if (model::SaveCausalLM(*model, dir).ok() &&
          bench::WriteRowsJson(dir + "/rows.json", rows, 0, batch).ok()) {
        std::vector<Timing> t_py;
        torch::Tensor ref_scores;
        for (int i = 0; i < std::max(1, repeats); ++i) {
          auto ref = bench::RunPythonReference(
              py, std::string(FC_BENCH_SOURCE_DIR) + "/bench/attribution/eap_ig_ref.py", dir,
              dir + "/rows.json", dir + "/scores.f32",
              fmt::format("--steps {} --threads {}", steps, threads), cfg.n_forward(),
              cfg.n_backward());
          if (!ref.ok()) {
            fmt::print("python reference failed: {}\n", ref.status().ToString());
            break;
          }
          t_py.push_back({ref->seconds, ref->cpu_seconds});
          ref_scores = ref->scores;
        }
        if (!t_py.empty()) {
          std::sort(t_py.begin(), t_py.end(), [](auto& a, auto& b) { return a.cpu < b.cpu; });
          const Timing tp = t_py[t_py.size() / 2];
          const double err = ((ours_scores - ref_scores).abs().max() /
                              ref_scores.abs().max()).item<double>();
          row("python eap_ig_ref.py (per step fwd/bwd + einsum per destination)", tp);
          fmt::print("\nours vs python: {:.2f}x less CPU time, {:.2f}x less wall time; "
                     "max |diff| / max |score| = {:.2e}\n",
                     tp.cpu / t[0].cpu, tp.wall / t[0].wall, err);
        }
      }
    }
    fmt::print("\npeak RSS growth of one call: {:.1f} MiB batched ({} rows/forward), "
               "{:.1f} MiB one step per forward; activation difference [B,P,n_forward,D] "
               "fp32 = {:.1f} MiB ({:.1f}x / {:.1f}x of it); memory_plan estimate (batched) "
               "{:.1f} MiB\n",
               peak / 1048576.0, stats.max_rows_per_forward, peak_mb / 1048576.0,
               delta_bytes / 1048576.0, double(peak) / delta_bytes, double(peak_mb) / delta_bytes,
               estimate / 1048576.0);
    std::fflush(stdout);
  }
  std::error_code ec;
  fs::remove_all(tmp, ec);
  return 0;
}

}  // namespace
}  // namespace fc::attribution

int main(int argc, char** argv) { return fc::attribution::Run(argc, argv); }
