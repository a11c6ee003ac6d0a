// Splits (sizes, disjointness, determinism), robustness splits, perturbation, and the Rng they
// share.
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "tests/worker/data/test_tokenizers.h"
#include "worker/data/rng.h"
#include "worker/data/splits.h"

namespace fc::data {
namespace {

std::vector<TaskRow> Rows(int n) {
  std::vector<TaskRow> rows;
  for (int i = 0; i < n; ++i) rows.push_back({"q" + std::to_string(i), "c" + std::to_string(i), std::to_string(i)});
  return rows;
}

std::set<std::string> Cleans(const std::vector<TaskRow>& rows) {
  std::set<std::string> s;
  for (const auto& r : rows) s.insert(r.clean);
  return s;
}

TEST(Rng, EngineIsTheStandardMt19937_64) {
  // The C++ standard fixes the 10000th output of a default-seeded mt19937_64.
  std::mt19937_64 e;
  e.discard(9999);
  EXPECT_EQ(e(), 9981545732273789042ull);
}

TEST(Rng, UniformIntStaysInRangeAndCoversIt) {
  Rng rng(1);
  std::map<int64_t, int> hist;
  for (int i = 0; i < 60000; ++i) {
    const int64_t v = rng.UniformInt(-2, 3);
    ASSERT_GE(v, -2);
    ASSERT_LE(v, 3);
    ++hist[v];
  }
  ASSERT_EQ(hist.size(), 6u);
  for (const auto& [v, count] : hist) EXPECT_NEAR(count, 10000, 500) << v;  // ~5 sigma
  Rng a(5), b(5);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.UniformInt(0, 1000000), b.UniformInt(0, 1000000));
  std::vector<size_t> p = Rng(3).Permutation(100);
  std::sort(p.begin(), p.end());
  for (size_t i = 0; i < p.size(); ++i) EXPECT_EQ(p[i], i);
}

TEST(Splits, PaperFractionsGiveThePaperSizes) {
  auto s = SplitRows(Rows(5000), 0.1, 42);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->circuit.size(), 500u);
  EXPECT_EQ(s->finetune.size(), 4500u);
  auto c = SplitRows(Rows(5000), 0.2, 42);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->circuit.size(), 1000u);
  EXPECT_EQ(c->finetune.size(), 4000u);
  auto odd = SplitRows(Rows(11), 0.2, 42);  // ceil(2.2) = 3, like sklearn's test_size
  ASSERT_TRUE(odd.ok());
  EXPECT_EQ(odd->circuit.size(), 3u);
}

TEST(Splits, PartsAreDisjointCoverEverythingAndDependOnlyOnTheSeed) {
  const auto rows = Rows(1000);
  auto s = SplitRows(rows, 0.2, 7);
  ASSERT_TRUE(s.ok());
  std::set<std::string> all = Cleans(s->circuit);
  for (const auto& r : s->finetune) EXPECT_TRUE(all.insert(r.clean).second) << "in both parts: " << r.clean;
  EXPECT_EQ(all, Cleans(rows));
  auto again = SplitRows(rows, 0.2, 7);
  EXPECT_EQ(again->circuit, s->circuit);
  EXPECT_EQ(again->finetune, s->finetune);
  auto other = SplitRows(rows, 0.2, 8);
  EXPECT_NE(other->circuit, s->circuit);
  // Shuffled: the circuit part is not simply the first rows.
  EXPECT_NE(std::vector<TaskRow>(rows.begin(), rows.begin() + 200), s->circuit);
}

TEST(Splits, BadFractionsAreErrors) {
  for (double f : {0.0, 1.0, -0.5, 1.5}) {
    auto s = SplitRows(Rows(10), f, 1);
    ASSERT_FALSE(s.ok()) << f;
    EXPECT_NE(s.status().message().find("circuit_fraction"), std::string::npos);
  }
  EXPECT_FALSE(SplitRows(Rows(3), 0.1, 1).ok() && SplitRows(Rows(3), 0.1, 1)->finetune.empty());
  EXPECT_FALSE(SplitRows(Rows(1), 0.5, 1).ok());
}

TEST(Splits, RobustnessSplitsAreFiveDisjointPartsOfCircuitPlusFirstFinetuneRows) {
  auto s = SplitRows(Rows(5000), 0.1, 42);
  ASSERT_TRUE(s.ok());
  auto parts = RobustnessSplits(*s, 5, 42);
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  ASSERT_EQ(parts->size(), 5u);
  std::set<std::string> expected = Cleans(s->circuit);
  for (size_t i = 0; i < 500; ++i) expected.insert(s->finetune[i].clean);
  std::set<std::string> seen;
  for (const auto& part : *parts) {
    EXPECT_EQ(part.size(), 200u);
    for (const auto& r : part) EXPECT_TRUE(seen.insert(r.clean).second) << "in two splits: " << r.clean;
  }
  EXPECT_EQ(seen, expected);
  // Shuffled: each split mixes circuit and fine-tune rows (the paper saw 85..112 circuit rows).
  const std::set<std::string> circuit = Cleans(s->circuit);
  for (const auto& part : *parts) {
    size_t from_circuit = 0;
    for (const auto& r : part) from_circuit += circuit.count(r.clean);
    EXPECT_GT(from_circuit, 50u);
    EXPECT_LT(from_circuit, 150u);
  }
  EXPECT_FALSE(RobustnessSplits(*s, 1).ok());
  DatasetSplit few{Rows(10), Rows(20)};
  EXPECT_FALSE(RobustnessSplits(few).ok());
}

TEST(Splits, PerturbReplacesExactlyTheFractionWithFreshRows) {
  const auto rows = Rows(200);
  std::vector<TaskRow> fresh = Rows(10);  // all already in `rows`: must be skipped
  for (int i = 0; i < 300; ++i) fresh.push_back({"fresh" + std::to_string(i), "x", "1"});
  for (double p : {0.0, 0.1, 0.5, 0.9, 1.0}) {
    auto out = PerturbRows(rows, p, fresh, 3);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    ASSERT_EQ(out->size(), rows.size());
    size_t changed = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      if ((*out)[i] == rows[i]) continue;
      ++changed;
      EXPECT_EQ((*out)[i].clean.rfind("fresh", 0), 0u) << "a replacement comes from the fresh rows";
    }
    EXPECT_EQ(changed, static_cast<size_t>(std::llround(p * 200)));
    EXPECT_EQ(Cleans(*out).size(), rows.size()) << "no duplicates introduced";
  }
  EXPECT_FALSE(PerturbRows(rows, 0.5, Rows(50), 3).ok());  // no fresh row available
  EXPECT_FALSE(PerturbRows(rows, 1.5, fresh, 3).ok());
}

TEST(Splits, PerturbWithFreshRowsGeneratesRowsOfTheSameTask) {
  auto tok = testing::CharTokenizer999();
  auto rows = GenerateTask({Task::kAddSub, 300, 42, 100}, *tok);
  ASSERT_TRUE(rows.ok());
  auto out = PerturbWithFreshRows(*rows, 0.3, {Task::kAddSub, 0, 42, 100}, *tok, 5);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const std::set<std::string> before = Cleans(*rows);
  size_t fresh = 0;
  for (const auto& r : *out) {
    fresh += before.count(r.clean) == 0;
    EXPECT_EQ(r.clean.rfind(kArithmeticPrefix, 0), 0u);
  }
  EXPECT_EQ(fresh, 90u);
}

}  // namespace
}  // namespace fc::data
