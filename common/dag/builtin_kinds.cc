// The builtin job kinds: `sleep` and `fail` (used by the scheduler tests, the dispatch benchmark
// and the fault tests) and the science kinds of architecture.md section 5 with parameters and
// defaults from algorithms.md (the paper's released notebooks).
#include <cmath>
#include <regex>

#include "common/dag/kind_registry.h"

namespace fc::dag {
namespace {

using nlohmann::json;

ParamSpec Int(std::string name, json def, std::optional<double> lo, std::optional<double> hi,
              std::string doc) {
  ParamSpec p;
  p.name = std::move(name);
  p.type = ParamType::kInt;
  p.default_value = std::move(def);
  p.min = lo;
  p.max = hi;
  p.doc = std::move(doc);
  return p;
}
ParamSpec Float(std::string name, json def, std::optional<double> lo, std::optional<double> hi,
                std::string doc) {
  ParamSpec p = Int(std::move(name), std::move(def), lo, hi, std::move(doc));
  p.type = ParamType::kFloat;
  return p;
}
ParamSpec Str(std::string name, json def, std::vector<std::string> choices, std::string doc) {
  ParamSpec p;
  p.name = std::move(name);
  p.type = ParamType::kString;
  p.default_value = std::move(def);
  p.enum_values = std::move(choices);
  p.doc = std::move(doc);
  return p;
}
ParamSpec Bool(std::string name, bool def, std::string doc) {
  ParamSpec p;
  p.name = std::move(name);
  p.type = ParamType::kBool;
  p.default_value = def;
  p.doc = std::move(doc);
  return p;
}
ParamSpec Ref(std::string name, bool required, std::vector<std::string> kinds, std::string doc) {
  ParamSpec p;
  p.name = std::move(name);
  p.type = ParamType::kRef;
  p.required = required;
  p.ref_kinds = std::move(kinds);
  p.doc = std::move(doc);
  return p;
}
ParamSpec Required(ParamSpec p) {
  p.required = true;
  p.default_value = nullptr;
  return p;
}

// "auto", "cpu", "cuda" or "cuda:N".
ParamSpec Device() {
  ParamSpec p = Str("device", "auto", {}, "where the job runs: auto | cpu | cuda | cuda:N");
  p.check = [](const json& v) -> std::string {
    static const std::regex re("^(auto|cpu|cuda(:[0-9]+)?)$");
    return std::regex_match(v.get<std::string>(), re) ? "" : "must be auto, cpu, cuda or cuda:N";
  };
  return p;
}

// An edge budget: a count ("11574") or a percentage of all edges ("5%").
ParamSpec Top() {
  ParamSpec p = Str("top", "5%", {}, "edges kept: a count (11574) or a percentage of all edges (5%)");
  p.check = [](const json& v) -> std::string {
    static const std::regex re("^([0-9]+|[0-9]*\\.?[0-9]+%)$");
    const std::string s = v.get<std::string>();
    if (!std::regex_match(s, re)) return "must be an edge count or a percentage like 5%";
    if (s.back() == '%') {
      double pct = std::stod(s.substr(0, s.size() - 1));
      if (!(pct > 0 && pct <= 100)) return "percentage must be in (0, 100]";
    } else if (std::stoll(s) <= 0) {
      return "edge count must be positive";
    }
    return "";
  };
  return p;
}

const std::vector<std::string> kModelKinds = {"train_base", "model", "finetune"};
const std::vector<std::string> kCircuitKinds = {"discover", "reextract", "merge"};

KindSchema Sleep() {
  return {"sleep", "sleeps for `seconds` (scheduler tests and benchmarks)",
          {Float("seconds", 1.0, 0.0, 86400.0, "how long to sleep")}, {}, nullptr};
}

KindSchema Fail() {
  ParamSpec permanent = Bool("permanent", false, "report a permanent (not retried) failure");
  return {"fail",
          "fails with `message` after `after_seconds` (fault tests)",
          {Str("message", "requested failure", {}, "the error reported"),
           Float("after_seconds", 0.0, 0.0, 86400.0, "delay before failing"), permanent},
          {},
          nullptr};
}

KindSchema Dataset() {
  return {"dataset",
          "generates clean/corrupted/label rows of a task and splits them (algorithms.md 1)",
          {Required(Str("task", nullptr,
                        {"add_sub", "mul_div", "sequence", "lcm", "function", "compositional",
                         "compositional_add_sub", "compositional_mul_div"},
                        "task generator")),
           Int("max_operand", 100, 1, 1e6, "N of add/sub within N"),
           Str("operators", "+-", {"+-", "+", "-"},
               "add_sub: operators of the clean prompts (+ or - alone: an easier related task)"),
           Bool("prefix", true, "prompts start with the instruction prefix (false: bare 'a + b =')"),
           Int("size", 5000, 1, 1e7, "rows generated"),
           Float("circuit_fraction", 0.1, 0.0, 1.0, "fraction of rows in the circuit split"),
           Int("seed", 42, 0, 9.2e18, "generator and split seed"),
           Str("tokenizer", "", {}, "tokenizer.json path; empty = the char tokenizer"),
           Int("robustness_splits", 0, 0, 100, "extra disjoint robustness splits (0 = none)")},
          {"ft", "circuit", "robustness"},
          [](const json& p) -> std::optional<std::pair<std::string, std::string>> {
            double f = p.at("circuit_fraction").get<double>();
            if (f <= 0.0 || f >= 1.0) {
              return std::make_pair("circuit_fraction", fmt::format("must be in (0, 1), got {}", f));
            }
            return std::nullopt;
          }};
}

KindSchema TrainBase() {
  ParamSpec data = Ref("data", true, {"dataset"}, "training rows (usually data.ft)");
  return {"train_base",
          "trains a small model from scratch in HuggingFace layout",
          {Str("arch", "gpt_neox", {"gpt_neox", "gpt2"}, "architecture"),
           Int("layers", 2, 1, 128, "transformer blocks"),
           Int("heads", 4, 1, 256, "attention heads"),
           Int("d_model", 128, 8, 65536, "residual width"),
           Int("d_mlp", 0, 0, 262144, "MLP width (0 = 4 * d_model)"),
           Int("max_positions", 64, 8, 65536, "context length"),
           data,
           Int("steps", 500, 1, 1e8, "optimizer steps"),
           Float("lr", 1e-3, 0.0, 10.0, "learning rate"),
           Int("batch_size", 32, 1, 65536, "rows per step"),
           Str("only_operator", "", {"", "+", "-"},
               "keep only rows whose prompt uses this operator (pre-train on an easier part)"),
           Int("seed", 42, 0, 9.2e18, "init and data-order seed"),
           Device()},
          {"model"},
          [](const json& p) -> std::optional<std::pair<std::string, std::string>> {
            int64_t d = p.at("d_model").get<int64_t>(), h = p.at("heads").get<int64_t>();
            if (d % h != 0) {
              return std::make_pair("d_model",
                                    fmt::format("must be divisible by heads ({}), got {}", h, d));
            }
            return std::nullopt;
          }};
}

KindSchema Model() {
  return {"model",
          "an existing HuggingFace model folder (config.json, model.safetensors, tokenizer.json)",
          {Required(Str("path", nullptr, {}, "folder of the model")), Device()},
          {"model"},
          nullptr};
}

KindSchema Discover() {
  return {"discover",
          "circuit discovery: EAP / EAP-IG edge scores, selection, faithfulness (algorithms.md 3-5)",
          {Ref("model", true, kModelKinds, "model (or a finetune job: its final weights)"),
           Ref("checkpoint", false, {"finetune"}, "optional checkpoint/adapter to merge first"),
           Ref("data", true, {"dataset"}, "rows (usually data.circuit)"),
           Str("method", "eap_ig", {"eap", "eap_ig", "eap_ig_activations", "clean_corrupted"},
               "attribution method"),
           Int("ig_steps", 5, 1, 1000, "integrated-gradient steps"),
           Str("metric", "kl", {"kl", "logit_diff", "prob_diff"}, "metric"),
           Str("selection", "topn", {"topn", "threshold", "greedy"}, "edge selection"),
           Top(),
           Float("threshold", nullptr, 0.0, std::nullopt, "|score| threshold (selection: threshold)"),
           Bool("absolute", true, "rank edges by |score|"),
           Bool("collapse_qkv", true, "also write the q/k/v-collapsed circuit"),
           Int("batch_size", 32, 1, 65536, "rows per batch"),
           Str("prompt_format", "ft", {"ft", "ft_nobos", "paper"},
               "ft: BOS + input + newline (fine-tuning format); ft_nobos: without BOS; paper: BOS + input"),
           Device()},
          {"circuit"},
          [](const json& p) -> std::optional<std::pair<std::string, std::string>> {
            if (p.at("selection") == "threshold" && !p.contains("threshold")) {
              return std::make_pair("threshold", "is required when selection is threshold");
            }
            return std::nullopt;
          }};
}

KindSchema Finetune() {
  return {"finetune",
          "LoRA, CircuitLoRA or full fine-tuning with checkpoints (algorithms.md 6, 8)",
          {Ref("model", true, kModelKinds, "base model"),
           Ref("data", true, {"dataset"}, "training rows (usually data.ft)"),
           Str("method", "lora", {"lora", "circuit_lora", "full"}, "what is trained"),
           Ref("plan", false, {"circuit_lora_plan"}, "rank plan (method: circuit_lora)"),
           Ref("eval_data", false, {"dataset"},
               "held-out rows for each checkpoint's loss and accuracy (usually data.circuit)"),
           Int("rank", 32, 1, 4096, "LoRA rank"),
           Float("alpha", 64.0, 0.0, 1e6, "LoRA alpha (scale = alpha / rank)"),
           Float("dropout", 0.0, 0.0, 1.0, "adapter input dropout"),
           Float("lr", 2e-4, 0.0, 10.0, "peak learning rate"),
           Float("lr_critical", 0.0, 0.0, 10.0, "CircuitLoRA critical-module lr (0 = lr)"),
           Int("epochs", 2, 1, 10000, "epochs"),
           Int("steps", 0, 0, 1e8, "optimizer steps (0 = from epochs)"),
           Int("batch_size", 8, 1, 65536, "rows per micro-batch"),
           Int("grad_accum", 4, 1, 65536, "micro-batches per optimizer step"),
           Int("warmup", 25, 0, 1e8, "linear warm-up steps"),
           Float("weight_decay", 0.01, 0.0, 10.0, "AdamW weight decay"),
           Int("checkpoint_every", 25, 0, 1e8, "steps between checkpoints (0 = only the last)"),
           Int("max_length", 32, 4, 65536, "tokens per row"),
           Int("seed", 42, 0, 9.2e18, "seed"),
           Device()},
          {"model", "adapter", "checkpoints", "last"},
          [](const json& p) -> std::optional<std::pair<std::string, std::string>> {
            bool clora = p.at("method") == "circuit_lora";
            if (clora && !p.contains("plan")) {
              return std::make_pair("plan", "is required when method is circuit_lora");
            }
            if (!clora && p.contains("plan")) {
              return std::make_pair("plan", "is only allowed when method is circuit_lora");
            }
            return std::nullopt;
          }};
}

KindSchema Reextract() {
  return {"reextract",
          "re-runs a discover job's settings on every checkpoint of a finetune job",
          {Ref("finetune", true, {"finetune"}, "the fine-tuning job whose checkpoints are read"),
           Ref("like", true, {"discover"}, "discover job whose parameters are reused"),
           Ref("data", false, {"dataset"}, "rows (default: the `like` job's data)"),
           Ref("model", false, kModelKinds,
               "base model LoRA checkpoints are merged into (default: the finetune job's base)"),
           Bool("include_base", true, "also extract at checkpoint 0 (the base model)"),
           Device()},
          {"circuits", "last"},
          nullptr};
}

KindSchema CircuitLoraPlan() {
  return {"circuit_lora_plan",
          "per-layer edge-change scores, critical layers and per-module ranks (algorithms.md 8)",
          {Ref("base_circuit", true, kCircuitKinds, "circuit before fine-tuning"),
           Ref("tuned_circuit", true, kCircuitKinds, "circuit after a preliminary run"),
           Int("top_k", 5, 0, 1024, "critical layers (0 = mean + std rule)"),
           Int("r_o", 8, 1, 4096, "rank of the other layers"),
           Int("r_c", 32, 1, 4096, "rank of the critical layers"),
           Float("alpha", 16.0, 0.0, 1e6, "alpha of the other layers"),
           Float("alpha_c", 64.0, 0.0, 1e6, "alpha of the critical layers")},
          {"plan"},
          nullptr};
}

KindSchema Merge() {
  ParamSpec circuits;
  circuits.name = "circuits";
  circuits.type = ParamType::kList;
  circuits.item_type = ParamType::kRef;
  circuits.ref_kinds = kCircuitKinds;
  circuits.required = true;
  circuits.min = 2;
  circuits.doc = "circuits to merge";
  return {"merge",
          "union or intersection of circuits with a target edge count (algorithms.md 9)",
          {circuits, Str("mode", "union", {"union", "intersection"}, "set operation"),
           Str("score", "avg", {"avg", "max", "min"}, "score of an edge in several circuits"),
           Int("target_edges", 0, 0, 1e9, "keep the top edges by |score| (0 = all)")},
          {"circuit"},
          nullptr};
}

KindSchema Robustness() {
  ParamSpec levels;
  levels.name = "levels";
  levels.type = ParamType::kList;
  levels.item_type = ParamType::kInt;
  levels.default_value = json::array({10, 20, 30, 40, 50, 60, 70, 80, 90});
  levels.min = 1;
  levels.doc = "perturbation levels in percent, each in [0, 100]";
  levels.check = [](const json& v) -> std::string {
    for (const json& x : v) {
      if (x.get<int64_t>() < 0 || x.get<int64_t>() > 100) {
        return fmt::format("each level must be in [0, 100], got {}", x.get<int64_t>());
      }
    }
    return "";
  };
  return {"robustness",
          "circuit Jaccard under input perturbation and across disjoint splits (algorithms.md 10)",
          {Ref("model", true, kModelKinds, "model"), Ref("data", true, {"dataset"}, "rows"),
           Ref("like", false, {"discover"}, "discover job whose parameters are reused"), levels,
           Int("seeds", 3, 1, 1000, "seeds per level"), Int("splits", 5, 0, 100, "disjoint splits"),
           Device()},
          {"report"},
          nullptr};
}

KindSchema Evaluate() {
  return {"evaluate",
          "exact-match accuracy and loss of a model or checkpoint (algorithms.md 6.8)",
          {Ref("model", true, kModelKinds, "model or finetune job"),
           Ref("data", true, {"dataset"}, "rows"),
           Int("batch_size", 32, 1, 65536, "rows per batch"), Device()},
          {"report"},
          nullptr};
}

}  // namespace

Status RegisterBuiltinKinds(KindRegistry* registry) {
  for (KindSchema k : {Sleep(), Fail(), Dataset(), TrainBase(), Model(), Discover(), Finetune(),
                       Reextract(), CircuitLoraPlan(), Merge(), Robustness(), Evaluate()}) {
    FC_RETURN_IF_ERROR(registry->Register(std::move(k)));
  }
  return Status::OK();
}

}  // namespace fc::dag
