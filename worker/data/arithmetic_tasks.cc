// Add/Sub within N (algorithms.md 1.1), Mul/Div (1.2), the compositional task (1.6) and its
// line-by-line subtasks.
#include <cstdio>

#include <fmt/format.h>

#include "worker/data/rng.h"
#include "worker/data/task_checks.h"
#include "worker/data/task_generators.h"

namespace fc::data {
namespace internal {
namespace {

std::string Expr(int64_t a, char op, int64_t b) {
  return fmt::format("{}{} {} {} =", kArithmeticPrefix, a, op, b);
}

std::string CompositionalExpr(int64_t x, char op1, int64_t y, char op2, int64_t z) {
  return fmt::format("{}({} {} {}) {} {} =", kArithmeticPrefix, x, op1, y, op2, z);
}

}  // namespace

// Operator per attempt: uniform, but once one operator has its half the other is used, so the
// result has exactly size/2 '+' rows (the extra row of an odd size is '-'). With one operator
// ("+" or "-") its quota is the whole size and the draws stay the same (the other operator's
// quota is 0), so the rows are that operator's rows of the same random stream.
StatusOr<std::vector<TaskRow>> GenerateAddSub(int64_t size, uint64_t seed, int64_t max_operand,
                                              const std::string& operators, const text::Tokenizer& tok) {
  Rng rng(seed);
  RowChecker check(tok);
  std::vector<TaskRow> rows;
  const bool add = operators.find('+') != std::string::npos, sub = operators.find('-') != std::string::npos;
  const int64_t quota[2] = {add ? (sub ? size / 2 : size) : 0,
                            sub ? (add ? size - size / 2 : size) : 0};  // '+', '-'
  int64_t count[2] = {0, 0};
  const int64_t max_attempts = MaxAttempts(size);
  int64_t attempt = 0;
  for (; attempt < max_attempts && static_cast<int64_t>(rows.size()) < size; ++attempt) {
    int k = static_cast<int>(rng.UniformInt(0, 1));
    if (count[k] >= quota[k]) k = 1 - k;
    int64_t a = rng.UniformInt(1, max_operand);
    int64_t b = rng.UniformInt(1, max_operand);
    if (a < b) std::swap(a, b);
    const char op = k == 0 ? '+' : '-';
    const int64_t label = k == 0 ? a + b : a - b;
    TaskRow row{Expr(a, op, b), Expr(a, k == 0 ? '-' : '+', b), std::to_string(label)};
    if (check.Seen(row.clean) || !check.SingleToken(label) || !check.SameTokenLength(row.clean, row.corrupted)) {
      continue;
    }
    check.Unique(row.clean);
    ++count[k];
    rows.push_back(std::move(row));
  }
  if (static_cast<int64_t>(rows.size()) < size) return TooFewRows("add_sub", rows.size(), size, attempt);
  return rows;
}

// Operators alternate per attempt ('*' on even attempts) until one has its half.
StatusOr<std::vector<TaskRow>> GenerateMulDiv(int64_t size, uint64_t seed, const text::Tokenizer& tok) {
  Rng rng(seed);
  RowChecker check(tok);
  std::vector<TaskRow> rows;
  const int64_t quota[2] = {size / 2, size - size / 2};  // '*', '/'
  int64_t count[2] = {0, 0};
  const int64_t max_attempts = MaxAttempts(size);
  int64_t attempt = 0;
  for (; attempt < max_attempts && static_cast<int64_t>(rows.size()) < size; ++attempt) {
    int k = static_cast<int>(attempt % 2);
    if (count[k] >= quota[k]) k = 1 - k;
    int64_t a, b, label, a2, label2;
    if (k == 0) {
      a = rng.UniformInt(2, 200);
      b = rng.UniformInt(2, 180);
      label = a * b;
      do {
        a2 = rng.UniformInt(2, 99);
      } while (a2 == a);
      label2 = a2 * b;
    } else {
      b = rng.UniformInt(2, 200);
      const int64_t x = rng.UniformInt(2, 200);
      a = b * x;
      label = x;
      std::vector<int64_t> multiples;  // range(b, 200, b) minus a, single tokens
      for (int64_t m = b; m < 200; m += b) {
        if (m != a && check.SingleToken(m)) multiples.push_back(m);
      }
      if (!multiples.empty()) {
        a2 = multiples[static_cast<size_t>(rng.UniformInt(0, static_cast<int64_t>(multiples.size()) - 1))];
      } else {
        a2 = -1;
        for (int tries = 0; tries < 100 && a2 < 0; ++tries) {
          const int64_t x2 = rng.UniformInt(2, 200);
          if (b * x2 != a && check.SingleToken(b * x2)) a2 = b * x2;
        }
        if (a2 < 0) continue;
      }
      label2 = a2 / b;
    }
    const char op = k == 0 ? '*' : '/';
    TaskRow row{Expr(a, op, b), Expr(a2, op, b), std::to_string(label)};
    if (check.Seen(row.clean) || !check.SingleToken(label) || !check.SingleToken(label2) || !check.SingleToken(a) ||
        !check.SameTokenLength(row.clean, row.corrupted)) {
      continue;
    }
    check.Unique(row.clean);
    ++count[k];
    rows.push_back(std::move(row));
  }
  if (static_cast<int64_t>(rows.size()) < size) return TooFewRows("mul_div", rows.size(), size, attempt);
  return rows;
}

// Outside operator: '*' while #mul <= #div (accepted rows), so the halves are equal.
StatusOr<std::vector<TaskRow>> GenerateCompositional(int64_t size, uint64_t seed, const text::Tokenizer& tok) {
  Rng rng(seed);
  RowChecker check(tok);
  std::vector<TaskRow> rows;
  int64_t n_mul = 0, n_div = 0;
  const int64_t max_attempts = MaxAttempts(size);
  int64_t attempt = 0;
  for (; attempt < max_attempts && static_cast<int64_t>(rows.size()) < size; ++attempt) {
    const bool mul = n_mul <= n_div;
    const char op1 = rng.UniformInt(0, 1) == 0 ? '+' : '-';
    int64_t x = rng.UniformInt(2, 100);
    int64_t y = rng.UniformInt(1, 100);
    if (op1 == '-' && x < y) std::swap(x, y);
    const int64_t v = op1 == '+' ? x + y : x - y;
    int64_t z, z2, result, result2;
    if (mul) {
      z = rng.UniformInt(2, 100);
      do {
        z2 = rng.UniformInt(2, 100);
      } while (z2 == z);
      result = v * z;
      result2 = v * z2;
    } else {
      if (v <= 1) continue;  // |v| > 1 (v >= 0 here)
      std::vector<int64_t> divisors;
      for (int64_t d = 2; d <= v; ++d) {
        if (v % d == 0) divisors.push_back(d);
      }
      if (divisors.size() < 2) continue;  // no other divisor for the corruption
      const auto pick = [&] {
        return divisors[static_cast<size_t>(rng.UniformInt(0, static_cast<int64_t>(divisors.size()) - 1))];
      };
      z = pick();
      do {
        z2 = pick();
      } while (z2 == z);
      result = v / z;
      result2 = v / z2;
    }
    (void)result2;  // the corrupted answer is not stored (as in the original)
    const char op2 = mul ? '*' : '/';
    TaskRow row{CompositionalExpr(x, op1, y, op2, z), CompositionalExpr(x, op1, y, op2, z2), std::to_string(result)};
    if (check.Seen(row.clean) || !check.SingleToken(result) || !check.SameTokenLength(row.clean, row.corrupted)) {
      continue;
    }
    check.Unique(row.clean);
    (mul ? n_mul : n_div)++;
    rows.push_back(std::move(row));
  }
  if (static_cast<int64_t>(rows.size()) < size) return TooFewRows("compositional", rows.size(), size, attempt);
  return rows;
}

}  // namespace internal

namespace {

struct ParsedComposite {
  long long x, y, z;
  char op1, op2;
};

bool ParseComposite(const std::string& prompt, ParsedComposite* p) {
  const std::string prefix = kArithmeticPrefix;
  if (prompt.compare(0, prefix.size(), prefix) != 0) return false;
  const std::string rest = prompt.substr(prefix.size());
  int consumed = 0;
  if (std::sscanf(rest.c_str(), "(%lld %c %lld) %c %lld =%n", &p->x, &p->op1, &p->y, &p->op2, &p->z, &consumed) != 5) {
    return false;
  }
  return consumed == static_cast<int>(rest.size()) && (p->op1 == '+' || p->op1 == '-') &&
         (p->op2 == '*' || p->op2 == '/');
}

}  // namespace

StatusOr<std::vector<TaskRow>> DeriveCompositionalSubtask(const std::vector<TaskRow>& rows, Subtask subtask,
                                                          const text::Tokenizer& tokenizer) {
  std::vector<TaskRow> out;
  out.reserve(rows.size());
  internal::RowChecker check(tokenizer);
  for (size_t i = 0; i < rows.size(); ++i) {
    ParsedComposite c, k;
    if (!ParseComposite(rows[i].clean, &c)) {
      return InvalidArgumentError("compositional row {}: clean prompt is not PREFIX \"(x op y) op z =\": '{}'", i,
                                  rows[i].clean);
    }
    if (!ParseComposite(rows[i].corrupted, &k) || k.x != c.x || k.y != c.y || k.op1 != c.op1 || k.op2 != c.op2) {
      return InvalidArgumentError(
          "compositional row {}: corrupted prompt must be the clean one with only z changed, got '{}'", i,
          rows[i].corrupted);
    }
    const long long v = c.op1 == '+' ? c.x + c.y : c.x - c.y;
    TaskRow row;
    if (subtask == Subtask::kAddSub) {
      row = {fmt::format("{}{} {} {} =", kArithmeticPrefix, c.x, c.op1, c.y),
             fmt::format("{}{} {} {} =", kArithmeticPrefix, c.x, c.op1 == '+' ? '-' : '+', c.y), std::to_string(v)};
    } else {
      row = {fmt::format("{}{} {} {} =", kArithmeticPrefix, v, c.op2, c.z),
             fmt::format("{}{} {} {} =", kArithmeticPrefix, v, c.op2, k.z), rows[i].label};
    }
    if (!check.SingleToken(row.label)) {
      return InvalidArgumentError("compositional row {}: subtask label '{}' is not a single token", i, row.label);
    }
    if (!check.SameTokenLength(row.clean, row.corrupted)) {
      return InvalidArgumentError("compositional row {}: subtask prompts '{}' and '{}' differ in token length", i,
                                  row.clean, row.corrupted);
    }
    out.push_back(std::move(row));
  }
  return out;
}

}  // namespace fc::data
