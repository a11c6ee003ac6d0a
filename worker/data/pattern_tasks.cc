// Sequence (algorithms.md 1.3), LCM (1.4) and function evaluation (1.5).
#include <algorithm>
#include <numeric>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "worker/data/rng.h"
#include "worker/data/task_checks.h"
#include "worker/data/task_generators.h"

namespace fc::data::internal {
namespace {

std::string SequencePrompt(const std::vector<int64_t>& shown) {
  return fmt::format("Derive the following sequence: {},", fmt::join(shown, ", "));
}

std::string LcmPrompt(std::pair<int64_t, int64_t> demo, std::pair<int64_t, int64_t> query) {
  return fmt::format("Calculate the least common multiple (LCM) of two numbers. LCM({}, {}) = {}, LCM({}, {}) =",
                     demo.first, demo.second, std::lcm(demo.first, demo.second), query.first, query.second);
}

std::string FunctionPrompt(int64_t a, int64_t b) {
  return fmt::format("There is a function y={}x+{}. Given x=1,2,3,4, y={},{},{},", a, b, a + b, 2 * a + b,
                     3 * a + b);
}

// The three LCM pair generators; `type` in [0, 2].
std::pair<int64_t, int64_t> LcmPair(Rng& rng, int type) {
  if (type == 0) {  // multiple
    const int64_t base = rng.UniformInt(1, 50);
    return {base, base * rng.UniformInt(2, 10)};
  }
  if (type == 1) {  // coprime
    while (true) {
      const int64_t a = rng.UniformInt(1, 100), b = rng.UniformInt(1, 100);
      if (std::gcd(a, b) == 1) return {a, b};
    }
  }
  while (true) {  // common factor, a != b
    const int64_t base = rng.UniformInt(2, 50), f1 = rng.UniformInt(2, 10), f2 = rng.UniformInt(2, 10);
    if (f1 != f2) return {base * f1, base * f2};
  }
}

}  // namespace

StatusOr<std::vector<TaskRow>> GenerateSequence(int64_t size, uint64_t seed, const text::Tokenizer& tok) {
  Rng rng(seed);
  RowChecker check(tok);
  std::vector<TaskRow> rows;
  const int64_t max_attempts = MaxAttempts(size);
  int64_t attempt = 0;
  for (; attempt < max_attempts && static_cast<int64_t>(rows.size()) < size; ++attempt) {
    std::vector<int64_t> terms(5);
    if (rng.UniformInt(0, 1) == 0) {  // arithmetic
      const int64_t start = rng.UniformInt(1, 500), step = rng.UniformInt(1, 100);
      for (int i = 0; i < 5; ++i) terms[i] = start + i * step;
    } else {  // geometric
      const int64_t start = rng.UniformInt(1, 10), ratio = rng.UniformInt(2, 10);
      terms[0] = start;
      for (int i = 1; i < 5; ++i) terms[i] = terms[i - 1] * ratio;
    }
    if (!std::all_of(terms.begin(), terms.end(), [&](int64_t t) { return check.SingleToken(t); })) continue;
    const std::vector<int64_t> shown(terms.begin(), terms.begin() + 4);
    const std::string clean = SequencePrompt(shown);
    if (check.Seen(clean)) continue;
    // Corrupt the last or second-to-last shown term: add U[1, 100] (fresh draw per try) until
    // the value is a single token not already in the sequence.
    const size_t idx = rng.UniformInt(0, 1) == 0 ? 3 : 2;
    int64_t replacement = -1;
    for (int tries = 0; tries < 100 && replacement < 0; ++tries) {
      const int64_t cand = shown[idx] + rng.UniformInt(1, 100);
      if (std::find(terms.begin(), terms.end(), cand) == terms.end() && check.SingleToken(cand)) replacement = cand;
    }
    if (replacement < 0) continue;
    std::vector<int64_t> corrupted = shown;
    corrupted[idx] = replacement;
    TaskRow row{clean, SequencePrompt(corrupted), std::to_string(terms[4])};
    if (!check.SameTokenLength(row.clean, row.corrupted)) continue;
    check.Unique(row.clean);
    rows.push_back(std::move(row));
  }
  if (static_cast<int64_t>(rows.size()) < size) return TooFewRows("sequence", rows.size(), size, attempt);
  return rows;
}

// Fixes the original's missing length check: a corrupted query pair whose prompt has another
// token count is rejected and redrawn (up to 20 tries, then the sample is dropped).
StatusOr<std::vector<TaskRow>> GenerateLcm(int64_t size, uint64_t seed, const text::Tokenizer& tok) {
  Rng rng(seed);
  RowChecker check(tok);
  std::vector<TaskRow> rows;
  const int64_t max_attempts = MaxAttempts(size);
  int64_t attempt = 0;
  for (; attempt < max_attempts && static_cast<int64_t>(rows.size()) < size; ++attempt) {
    const int type = static_cast<int>(rng.UniformInt(0, 2));
    const auto demo = LcmPair(rng, type);
    std::pair<int64_t, int64_t> query{0, 0};
    std::string key;
    bool found = false;
    for (int tries = 0; tries < 20 && !found; ++tries) {
      query = LcmPair(rng, type);
      key = fmt::format("{},{}", std::min(query.first, query.second), std::max(query.first, query.second));
      found = !check.Seen(key) && check.SingleToken(std::lcm(query.first, query.second));
    }
    if (!found) continue;
    const int64_t label = std::lcm(query.first, query.second);
    const std::string clean = LcmPrompt(demo, query);
    std::string corrupted;
    for (int tries = 0; tries < 20 && corrupted.empty(); ++tries) {
      const auto other = LcmPair(rng, type);
      if (std::lcm(other.first, other.second) == label) continue;
      std::string cand = LcmPrompt(demo, other);
      if (check.SameTokenLength(clean, cand)) corrupted = std::move(cand);
    }
    if (corrupted.empty()) continue;
    check.Unique(key);
    rows.push_back(TaskRow{clean, std::move(corrupted), std::to_string(label)});
  }
  if (static_cast<int64_t>(rows.size()) < size) return TooFewRows("lcm", rows.size(), size, attempt);
  return rows;
}

StatusOr<std::vector<TaskRow>> GenerateFunction(int64_t size, uint64_t seed, const text::Tokenizer& tok) {
  Rng rng(seed);
  RowChecker check(tok);
  std::vector<TaskRow> rows;
  auto all_single = [&](int64_t a, int64_t b) {
    for (int x = 1; x <= 4; ++x) {
      if (!check.SingleToken(a * x + b)) return false;
    }
    return true;
  };
  const int64_t max_attempts = MaxAttempts(size);
  int64_t attempt = 0;
  for (; attempt < max_attempts && static_cast<int64_t>(rows.size()) < size; ++attempt) {
    const int64_t a = rng.UniformInt(1, 20), b = rng.UniformInt(1, 500);
    const std::string key = fmt::format("{},{}", a, b);
    if (check.Seen(key) || !all_single(a, b)) continue;
    const std::string clean = FunctionPrompt(a, b);
    std::string corrupted;
    for (int tries = 0; tries < 20 && corrupted.empty(); ++tries) {
      const int64_t b2 = rng.UniformInt(1, 500);
      if (b2 == b || !all_single(a, b2)) continue;
      std::string cand = FunctionPrompt(a, b2);
      if (check.SameTokenLength(clean, cand)) corrupted = std::move(cand);
    }
    if (corrupted.empty()) continue;
    check.Unique(key);
    rows.push_back(TaskRow{clean, std::move(corrupted), std::to_string(4 * a + b)});
  }
  if (static_cast<int64_t>(rows.size()) < size) return TooFewRows("function", rows.size(), size, attempt);
  return rows;
}

}  // namespace fc::data::internal
