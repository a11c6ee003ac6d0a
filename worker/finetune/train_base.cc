#include "worker/finetune/train_base.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "worker/data/splits.h"
#include "worker/data/tasks.h"
#include "worker/finetune/finetune_data.h"
#include "worker/model/causal_lm.h"
#include "worker/tokenizer/tokenizer.h"

namespace fc::finetune {

namespace {

Status Validate(const TrainBaseParams& p) {
  if (p.arch != "gpt_neox" && p.arch != "gpt2") {
    return InvalidArgumentError("train_base field 'arch': must be gpt_neox or gpt2, got '{}'", p.arch);
  }
  if (p.layers < 1 || p.layers > 48) return InvalidArgumentError("train_base field 'layers': must be in [1, 48], got {}", p.layers);
  if (p.heads < 1 || p.d_model % p.heads != 0) {
    return InvalidArgumentError("train_base field 'heads': must divide d_model {}, got {}", p.d_model, p.heads);
  }
  if (p.d_model < 8) return InvalidArgumentError("train_base field 'd_model': must be >= 8, got {}", p.d_model);
  if (p.steps < 1) return InvalidArgumentError("train_base field 'steps': must be >= 1, got {}", p.steps);
  if (!(p.heldout_fraction > 0 && p.heldout_fraction < 1)) {
    return InvalidArgumentError("train_base field 'heldout_fraction': must be in (0, 1), got {}", p.heldout_fraction);
  }
  if (p.max_operand < 2) return InvalidArgumentError("train_base field 'max_operand': must be >= 2, got {}", p.max_operand);
  if (!p.only_operator.empty() && p.only_operator != "+" && p.only_operator != "-") {
    return InvalidArgumentError("train_base field 'only_operator': must be empty, + or -, got '{}'", p.only_operator);
  }
  if (p.out_dir.empty()) return InvalidArgumentError("train_base field 'out_dir': required");
  return Status::OK();
}

nlohmann::json ConfigJson(const TrainBaseParams& p, int64_t vocab, int64_t eos) {
  const int64_t d_mlp = p.d_mlp > 0 ? p.d_mlp : 4 * p.d_model;
  if (p.arch == "gpt2") {
    return {{"model_type", "gpt2"}, {"architectures", {"GPT2LMHeadModel"}}, {"n_embd", p.d_model},
            {"n_head", p.heads}, {"n_layer", p.layers}, {"n_positions", p.max_positions},
            {"n_ctx", p.max_positions}, {"n_inner", d_mlp}, {"vocab_size", vocab},
            {"layer_norm_epsilon", 1e-5}, {"activation_function", "gelu_new"},
            {"initializer_range", 0.02}, {"bos_token_id", eos}, {"eos_token_id", eos}};
  }
  return {{"model_type", "gpt_neox"}, {"architectures", {"GPTNeoXForCausalLM"}},
          {"hidden_size", p.d_model}, {"num_attention_heads", p.heads}, {"num_hidden_layers", p.layers},
          {"intermediate_size", d_mlp}, {"rotary_pct", 0.25}, {"rotary_emb_base", 10000},
          {"use_parallel_residual", true}, {"layer_norm_eps", 1e-5},
          {"max_position_embeddings", p.max_positions}, {"vocab_size", vocab},
          {"tie_word_embeddings", false}, {"hidden_act", "gelu"}, {"bos_token_id", eos},
          {"eos_token_id", eos}, {"initializer_range", 0.02}};
}

}  // namespace

StatusOr<TrainBaseResult> TrainBase(const TrainBaseParams& p, const ProgressFn& progress, const CancelFn& cancel) {
  FC_RETURN_IF_ERROR(Validate(p));
  const auto t0 = std::chrono::steady_clock::now();
  text::CharTokenizerOptions topt;
  topt.max_number_token = 2 * p.max_operand;
  std::unique_ptr<text::Tokenizer> tok = text::MakeCharTokenizer(text::DefaultCharAlphabet(), topt);
  const int64_t eos = tok->eos_id().value_or(0);

  std::vector<data::TaskRow> rows = p.rows;
  if (rows.empty()) {
    data::TaskOptions o;
    o.task = data::Task::kAddSub;
    o.size = p.generated_rows;
    o.seed = p.seed;
    o.max_operand = p.max_operand;
    FC_ASSIGN_OR_RETURN(rows, data::GenerateTask(o, *tok));
  }
  if (p.strip_prefix) {
    const std::string prefix = data::kArithmeticPrefix;
    for (auto& row : rows) {
      if (row.clean.rfind(prefix, 0) == 0) row.clean = row.clean.substr(prefix.size());
    }
  }
  if (!p.only_operator.empty()) {
    const std::string op = " " + p.only_operator + " ";
    const size_t before = rows.size();
    rows.erase(std::remove_if(rows.begin(), rows.end(),
                              [&](const data::TaskRow& r) { return r.clean.find(op) == std::string::npos; }),
               rows.end());
    if (rows.size() < 2) {
      return InvalidArgumentError("train_base field 'only_operator': {} of {} rows use '{}', need at least 2",
                                  rows.size(), before, p.only_operator);
    }
  }
  FC_ASSIGN_OR_RETURN(data::DatasetSplit split, data::SplitRows(rows, p.heldout_fraction, p.seed));
  FC_ASSIGN_OR_RETURN(auto train, BuildTrainExamples(*tok, split.finetune, ExampleOptions{}));
  FC_ASSIGN_OR_RETURN(auto heldout, BuildEvalExamples(*tok, split.circuit));
  int64_t longest = 0, tokens = 0;
  for (const auto& e : train) {
    longest = std::max<int64_t>(longest, e.ids.size());
    tokens += e.ids.size();
  }
  if (longest > p.max_positions) {
    return InvalidArgumentError("train_base field 'max_positions': rows need {} positions, got {}", longest,
                                p.max_positions);
  }

  FC_ASSIGN_OR_RETURN(model::ModelConfig config,
                      model::ParseModelConfig(ConfigJson(p, tok->vocab_size(), eos), "train_base config"));
  FC_ASSIGN_OR_RETURN(auto model, model::CreateRandomCausalLM(config, p.seed, torch::kCPU, torch::kFloat32));

  FinetuneParams fp;
  fp.method = FinetuneMethod::kFull;
  fp.lr = p.lr;
  fp.weight_decay = p.weight_decay;
  fp.batch_size = p.batch_size;
  fp.grad_accum = 1;
  fp.max_steps = p.steps;
  fp.warmup_steps = std::min(p.warmup_steps, p.steps);
  fp.max_grad_norm = p.max_grad_norm;
  fp.seed = p.seed;
  fp.pad_id = tok->pad_id().value_or(eos);
  FC_ASSIGN_OR_RETURN(FinetuneResult fr, Finetune(*model, train, heldout, fp, progress, cancel));

  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(p.out_dir, ec);
  if (ec) return InternalError("cannot create '{}': {}", p.out_dir, ec.message());
  FC_RETURN_IF_ERROR(model::SaveCausalLM(*model, p.out_dir));
  FC_RETURN_IF_ERROR(tok->Save(p.out_dir + "/tokenizer.json"));

  TrainBaseResult r;
  r.dir = p.out_dir;
  r.steps = fr.total_steps;
  r.parameters = fr.base_params;
  r.final_loss = fr.final_loss;
  r.heldout_accuracy = fr.final_accuracy;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.tokens_per_step = p.batch_size * tokens / static_cast<int64_t>(train.size());
  nlohmann::json meta = {{"arch", p.arch}, {"layers", p.layers}, {"heads", p.heads}, {"d_model", p.d_model},
                         {"steps", r.steps}, {"batch_size", p.batch_size}, {"lr", p.lr}, {"seed", p.seed},
                         {"max_operand", p.max_operand}, {"strip_prefix", p.strip_prefix},
                         {"only_operator", p.only_operator}, {"train_rows", train.size()},
                         {"heldout_rows", heldout.size()}, {"final_loss", r.final_loss},
                         {"heldout_accuracy", r.heldout_accuracy}, {"parameters", r.parameters},
                         {"seconds", r.seconds}};
  std::ofstream(p.out_dir + "/train_base.json") << meta.dump(2) << "\n";
  return r;
}

}  // namespace fc::finetune
