// The reduced quickstart: examples/quickstart.yaml's stages (dataset -> train_base -> discover ->
// LoRA with checkpoints -> coordinator-run re-extraction -> CircuitLoRA plan -> CircuitLoRA ->
// evaluate; bare prompts as in the quickstart) at a size that runs in well under a minute on
// one CPU core per worker, plus what the DAG implies for the stored results (job names,
// checkpoint steps), so the tests derive their expectations from the same constants instead of
// hard-coding results.
#pragma once

#include <set>
#include <string>
#include <vector>

namespace fc::e2e {

inline constexpr int kLoraSteps = 400;
inline constexpr int kCheckpointEvery = 100;

// The experiment; lora's length and checkpoint interval come from the constants above.
inline std::string ReducedQuickstartYaml() {
  return R"(experiment: e2e_quickstart
defaults: {retries: 2, device: cpu}
jobs:
  data:
    {kind: dataset, task: add_sub, max_operand: 20, size: 400, prefix: false,
     circuit_fraction: 0.1, seed: 42}
  base:
    {kind: train_base, data: data.ft, only_operator: "+", arch: gpt_neox, layers: 2, heads: 4,
     d_model: 32, max_positions: 32, steps: 100, batch_size: 32, lr: 0.003, seed: 42}
  before:
    {kind: discover, model: base, data: data.circuit, method: eap_ig, ig_steps: 2, metric: kl,
     selection: topn, top: 30%, batch_size: 40, prompt_format: ft_nobos}
  lora:
    {kind: finetune, model: base, data: data.ft, eval_data: data.circuit, method: lora, rank: 4,
     alpha: 8, lr: 0.01, steps: )" + std::to_string(kLoraSteps) + R"(, batch_size: 16, grad_accum: 1, warmup: 5,
     checkpoint_every: )" + std::to_string(kCheckpointEvery) + R"(, max_length: 16}
  track:
    {kind: reextract, finetune: lora, like: before}
  plan:
    {kind: circuit_lora_plan, base_circuit: before, tuned_circuit: track.last, top_k: 1,
     r_o: 2, r_c: 8, alpha: 4, alpha_c: 16}
  clora:
    {kind: finetune, model: base, data: data.ft, eval_data: data.circuit, method: circuit_lora,
     plan: plan, lr: 0.01, lr_critical: 0.02, steps: 50, batch_size: 16, grad_accum: 1,
     warmup: 5, checkpoint_every: 25, max_length: 16}
  eval_base:  {kind: evaluate, model: base, data: data.circuit}
  eval_lora:  {kind: evaluate, model: lora, data: data.circuit}
  eval_clora: {kind: evaluate, model: clora, data: data.circuit}
)";
}

// Steps of lora's checkpoints: 0 (the base), every kCheckpointEvery, the last.
inline std::vector<int> LoraCheckpointSteps() {
  std::vector<int> s;
  for (int i = 0; i < kLoraSteps; i += kCheckpointEvery) s.push_back(i);
  s.push_back(kLoraSteps);
  return s;
}

// Every job of a finished run: the DAG's jobs plus one re-extraction child per checkpoint.
inline std::set<std::string> ExpectedJobNames() {
  std::set<std::string> n = {"data", "base", "before", "lora", "track", "plan", "clora", "eval_base", "eval_lora", "eval_clora"};
  for (int s : LoraCheckpointSteps()) n.insert("track@" + std::to_string(s));
  return n;
}

}  // namespace fc::e2e
