#include "common/circuit/circuit_lora_plan.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <nlohmann/json.hpp>

#include "common/circuit/diff.h"
#include "common/circuit/graph.h"

namespace fc::circuit {

StatusOr<LayerAttribution> ParseLayerAttribution(std::string_view s) {
  if (s == "source" || s == "src") return LayerAttribution::kSource;
  if (s == "dst" || s == "destination") return LayerAttribution::kDestination;
  if (s == "split") return LayerAttribution::kSplit;
  return InvalidArgumentError("layer attribution '{}': expected source, dst or split", s);
}

const char* LayerAttributionName(LayerAttribution a) {
  switch (a) {
    case LayerAttribution::kSource: return "source";
    case LayerAttribution::kDestination: return "dst";
    default: return "split";
  }
}

CriticalRule CriticalRuleForTopK(int top_k) {
  return top_k > 0 ? CriticalRule::kTopK : CriticalRule::kMeanStd;
}

std::vector<std::string> CircuitLoraPlan::CriticalModules() const {
  std::vector<std::string> out;
  for (const ModuleRank& m : modules)
    if (m.critical) out.push_back(m.name);
  return out;
}

namespace {

Status Validate(const CollapsedCircuit& before, const CollapsedCircuit& after,
                const CircuitLoraOptions& o) {
  if (before.cfg != after.cfg)
    return InvalidArgumentError(
        "circuit_lora_plan: before has n_layers={} n_heads={}, after n_layers={} n_heads={}",
        before.cfg.n_layers, before.cfg.n_heads, after.cfg.n_layers, after.cfg.n_heads);
  FC_RETURN_IF_ERROR(ValidateCollapsed(before).WithContext("circuit_lora_plan: before"));
  FC_RETURN_IF_ERROR(ValidateCollapsed(after).WithContext("circuit_lora_plan: after"));
  if (o.shape.n_layers != before.cfg.n_layers)
    return InvalidArgumentError(
        "circuit_lora_plan field 'shape.n_layers': model has {} layers, circuits {}",
        o.shape.n_layers, before.cfg.n_layers);
  if (o.shape.d_model < 1 || o.shape.d_mlp < 1)
    return InvalidArgumentError("circuit_lora_plan field 'shape': d_model and d_mlp must be >= 1");
  if (o.rule == CriticalRule::kTopK && o.top_k < 1)
    return InvalidArgumentError("circuit_lora_plan field 'top_k': must be >= 1, got {}", o.top_k);
  if (o.r_o < 1 || o.r_c < 1)
    return InvalidArgumentError("circuit_lora_plan field 'r_o'/'r_c': must be >= 1, got {}/{}",
                                o.r_o, o.r_c);
  if (!(o.alpha > 0) || !(o.alpha_c > 0))
    return InvalidArgumentError("circuit_lora_plan field 'alpha'/'alpha_c': must be > 0");
  if (!(o.lr_other > 0) || !(o.lr_critical > 0))
    return InvalidArgumentError("circuit_lora_plan field 'lr_other'/'lr_critical': must be > 0");
  return Status::OK();
}

}  // namespace

StatusOr<CircuitLoraPlan> PlanCircuitLora(const CollapsedCircuit& before,
                                          const CollapsedCircuit& after,
                                          const CircuitLoraOptions& options) {
  FC_RETURN_IF_ERROR(Validate(before, after, options));
  GraphLayout g(before.cfg);
  const int L = g.n_layers();
  CircuitLoraPlan plan;
  plan.options = options;
  plan.layer_delta.assign(L, 0.0);
  plan.layer_delta_edges.assign(L, 0.0);
  std::vector<uint8_t> has_delta(L, 0);

  for (auto [f, c] : g.CollapsedEdgeOrder()) {
    const bool in_b = before.edge(f, c), in_a = after.edge(f, c);
    if (!in_b && !in_a) continue;
    double delta;
    if (in_b && in_a) delta = std::fabs(after.score(f, c) - before.score(f, c));
    else delta = std::fabs(in_a ? after.score(f, c) : before.score(f, c));
    ++plan.n_delta_edges;
    const int src_layer = EdgeLayer(g, f, c, EdgeLayerBy::kSource);
    const int dst_layer = EdgeLayer(g, f, c, EdgeLayerBy::kDestination);
    switch (options.attribution) {
      case LayerAttribution::kSource:
        plan.layer_delta[src_layer] += delta;
        plan.layer_delta_edges[src_layer] += 1;
        has_delta[src_layer] = 1;
        break;
      case LayerAttribution::kDestination:
        plan.layer_delta[dst_layer] += delta;
        plan.layer_delta_edges[dst_layer] += 1;
        has_delta[dst_layer] = 1;
        break;
      case LayerAttribution::kSplit:
        plan.layer_delta[src_layer] += 0.5 * delta;
        plan.layer_delta[dst_layer] += 0.5 * delta;
        plan.layer_delta_edges[src_layer] += 0.5;
        plan.layer_delta_edges[dst_layer] += 0.5;
        has_delta[src_layer] = has_delta[dst_layer] = 1;
        break;
    }
  }

  std::vector<int> present;
  for (int l = 0; l < L; ++l)
    if (has_delta[l]) present.push_back(l);
  if (options.rule == CriticalRule::kTopK) {
    std::vector<int> order = present;
    std::stable_sort(order.begin(), order.end(),
                     [&](int a, int b) { return plan.layer_delta[a] > plan.layer_delta[b]; });
    if (static_cast<int>(order.size()) > options.top_k) order.resize(options.top_k);
    plan.critical_layers = order;
  } else if (options.rule == CriticalRule::kMeanStd && !present.empty()) {
    double mean = 0.0;
    for (int l : present) mean += plan.layer_delta[l];
    mean /= static_cast<double>(present.size());
    double var = 0.0;
    for (int l : present) var += (plan.layer_delta[l] - mean) * (plan.layer_delta[l] - mean);
    var /= static_cast<double>(present.size());  // population std, as the original
    plan.threshold = mean + std::sqrt(var);
    for (int l : present)
      if (plan.layer_delta[l] >= plan.threshold) plan.critical_layers.push_back(l);
  }

  std::vector<uint8_t> critical(L, 0);
  for (int l : plan.critical_layers) critical[l] = 1;
  for (const LinearModule& m : LoraTargetModules(options.shape)) {
    const bool crit = critical[m.layer];
    plan.modules.push_back({m.name, m.layer, crit ? options.r_c : options.r_o,
                            crit ? options.alpha_c : options.alpha, crit, m.in, m.out});
  }
  plan.params = CountCircuitLora(options.shape, plan.critical_layers, options.r_o, options.r_c);
  return plan;
}

std::string PlanToJson(const CircuitLoraPlan& plan) {
  using nlohmann::ordered_json;
  ordered_json j;
  ordered_json modules = ordered_json::object();
  for (const ModuleRank& m : plan.modules)
    modules[m.name] = {{"r", m.r}, {"alpha", m.alpha}, {"critical", m.critical}};
  j["modules"] = std::move(modules);
  j["lr_critical"] = plan.options.lr_critical;
  j["lr_other"] = plan.options.lr_other;
  j["critical_layers"] = plan.critical_layers;
  j["layer_deltas"] = plan.layer_delta;
  j["attribution"] = LayerAttributionName(plan.options.attribution);
  j["rule"] = plan.options.rule == CriticalRule::kTopK     ? "top_k"
              : plan.options.rule == CriticalRule::kMeanStd ? "mean_std"
                                                            : "none";
  j["top_k"] = plan.options.top_k;
  j["n_delta_edges"] = plan.n_delta_edges;
  if (plan.options.rule == CriticalRule::kMeanStd) j["threshold"] = plan.threshold;
  j["arch"] = ModelArchName(plan.options.shape.arch);
  j["trainable_params"] = plan.params.trainable;
  j["base_params"] = plan.params.base;
  j["param_ratio"] = plan.params.ratio();
  return j.dump(2);
}

}  // namespace fc::circuit
