#include "worker/data/splits.h"

#include <cmath>
#include <unordered_set>

#include "worker/data/rng.h"

namespace fc::data {

StatusOr<DatasetSplit> SplitRows(const std::vector<TaskRow>& rows, double circuit_fraction, uint64_t seed) {
  if (!(circuit_fraction > 0.0 && circuit_fraction < 1.0)) {
    return InvalidArgumentError("field 'circuit_fraction': must be in (0, 1), got {}", circuit_fraction);
  }
  const size_t n = rows.size();
  // ceil like sklearn; the epsilon keeps 0.1 * 5000 = 500 from becoming 501 through rounding.
  const auto n_circuit = static_cast<size_t>(std::ceil(circuit_fraction * static_cast<double>(n) - 1e-9));
  if (n_circuit == 0 || n_circuit >= n) {
    return InvalidArgumentError("split of {} rows with circuit_fraction {} leaves an empty part", n,
                                circuit_fraction);
  }
  Rng rng(seed);
  const std::vector<size_t> perm = rng.Permutation(n);
  DatasetSplit split;
  split.circuit.reserve(n_circuit);
  split.finetune.reserve(n - n_circuit);
  for (size_t i = 0; i < n; ++i) (i < n_circuit ? split.circuit : split.finetune).push_back(rows[perm[i]]);
  return split;
}

StatusOr<std::vector<std::vector<TaskRow>>> RobustnessSplits(const DatasetSplit& split, int num_splits,
                                                             uint64_t seed) {
  if (num_splits < 2) return InvalidArgumentError("field 'num_splits': must be >= 2, got {}", num_splits);
  const size_t nc = split.circuit.size();
  if (split.finetune.size() < nc) {
    return InvalidArgumentError("robustness splits need >= {} fine-tune rows (as many as circuit rows), got {}", nc,
                                split.finetune.size());
  }
  std::vector<TaskRow> pool = split.circuit;
  pool.insert(pool.end(), split.finetune.begin(), split.finetune.begin() + static_cast<std::ptrdiff_t>(nc));
  const size_t part = pool.size() / static_cast<size_t>(num_splits);
  if (part == 0) return InvalidArgumentError("{} rows cannot be cut into {} non-empty splits", pool.size(), num_splits);
  Rng rng(seed);
  rng.Shuffle(&pool);
  std::vector<std::vector<TaskRow>> parts(static_cast<size_t>(num_splits));
  for (size_t s = 0; s < parts.size(); ++s) {
    parts[s].assign(pool.begin() + static_cast<std::ptrdiff_t>(s * part),
                    pool.begin() + static_cast<std::ptrdiff_t>((s + 1) * part));
  }
  return parts;
}

StatusOr<std::vector<TaskRow>> PerturbRows(const std::vector<TaskRow>& rows, double fraction,
                                           const std::vector<TaskRow>& fresh, uint64_t seed) {
  if (!(fraction >= 0.0 && fraction <= 1.0)) {
    return InvalidArgumentError("field 'fraction': must be in [0, 1], got {}", fraction);
  }
  const auto count = static_cast<size_t>(std::llround(fraction * static_cast<double>(rows.size())));
  std::unordered_set<std::string> used;
  for (const TaskRow& r : rows) used.insert(r.clean);
  std::vector<const TaskRow*> replacements;
  for (const TaskRow& r : fresh) {
    if (replacements.size() == count) break;
    if (used.insert(r.clean).second) replacements.push_back(&r);
  }
  if (replacements.size() < count) {
    return InvalidArgumentError("perturbing {} of {} rows needs {} fresh rows not in the dataset, only {} available",
                                count, rows.size(), count, replacements.size());
  }
  Rng rng(seed);
  const std::vector<size_t> perm = rng.Permutation(rows.size());
  std::vector<TaskRow> out = rows;
  for (size_t i = 0; i < count; ++i) out[perm[i]] = *replacements[i];
  return out;
}

StatusOr<std::vector<TaskRow>> PerturbWithFreshRows(const std::vector<TaskRow>& rows, double fraction,
                                                    TaskOptions task, const text::Tokenizer& tokenizer,
                                                    uint64_t seed) {
  // A seed stream distinct from the dataset's own: mix with a constant (splitmix64 step).
  uint64_t z = seed + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  task.seed = z ^ (z >> 31);
  task.size = static_cast<int64_t>(rows.size());
  FC_ASSIGN_OR_RETURN(std::vector<TaskRow> fresh, GenerateTask(task, tokenizer));
  return PerturbRows(rows, fraction, fresh, seed);
}

}  // namespace fc::data
