// JSONL and CSV rows: round trips of both layouts, the paper's integer outputs, CSV quoting,
// and errors naming file, line and problem.
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/worker/data/test_tokenizers.h"
#include "worker/data/csv.h"
#include "worker/data/row_io.h"

namespace fc::data {
namespace {

class RowIo : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::TempDir("io"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  std::string Write(const std::string& name, const std::string& text) const {
    std::ofstream(Path(name), std::ios::binary) << text;
    return Path(name);
  }
  static std::string Read(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }
  // Expects an INVALID_ARGUMENT whose message contains every needle.
  static void ExpectError(const StatusOr<std::vector<TaskRow>>& r, std::initializer_list<std::string> needles) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
    for (const auto& n : needles) EXPECT_NE(r.status().message().find(n), std::string::npos) << r.status().message();
  }
  std::filesystem::path dir_;
};

const std::vector<TaskRow> kTricky = {
    {"plain = ", "other = ", "26"},
    {"with, commas, \"quotes\" and\nnewline", "x", "-3"},
    {"unicode h\xC3\xA9llo", "y", "007"},
    {"text label", "z", "abc"},
};

TEST_F(RowIo, CircuitJsonlRoundTrips) {
  ASSERT_TRUE(WriteCircuitJsonl(Path("c.jsonl"), kTricky).ok());
  auto back = ReadRowsJsonl(Path("c.jsonl"));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, kTricky);
  auto by_ext = ReadRows(Path("c.jsonl"));
  ASSERT_TRUE(by_ext.ok());
  EXPECT_EQ(*by_ext, kTricky);
}

TEST_F(RowIo, FinetuneJsonlHasThePaperKeysAndIntegerOutputs) {
  ASSERT_TRUE(WriteFinetuneJsonl(Path("f.jsonl"), kTricky).ok());
  std::istringstream lines(Read(Path("f.jsonl")));
  std::string line;
  std::getline(lines, line);
  const auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["instruction"], "");
  EXPECT_EQ(j["input"], "plain = ");
  EXPECT_TRUE(j["output"].is_number_integer());
  EXPECT_EQ(j["output"], 26);
  EXPECT_EQ(line.rfind("{\"instruction\":\"\",\"input\":", 0), 0u) << "paper key order first";
  std::getline(lines, line);
  std::getline(lines, line);
  EXPECT_TRUE(nlohmann::json::parse(line)["output"].is_string()) << "'007' is not a canonical integer";
  auto back = ReadRowsJsonl(Path("f.jsonl"));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, kTricky);
}

TEST_F(RowIo, ReadsThePapersFinetuneOnlyRows) {
  const auto path = Write("paper.jsonl", "{\"instruction\": \"\", \"input\": \"1 + 1 =\", \"output\": 2}\n\n"
                                         "{\"instruction\": \"\", \"input\": \"3 - 1 =\", \"output\": \"2\"}\n");
  auto rows = ReadRowsJsonl(path);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0], (TaskRow{"1 + 1 =", "", "2"}));
  EXPECT_EQ((*rows)[1].label, "2");
}

TEST_F(RowIo, JsonlErrorsNameFileLineAndField) {
  const std::string good = "{\"clean\": \"a\", \"corrupted\": \"b\", \"label\": 1}\n";
  ExpectError(ReadRowsJsonl(Write("a.jsonl", good + "{\"clean\": \"a\", \"corrupted\": \n")), {"a.jsonl:2:", "invalid JSON"});
  ExpectError(ReadRowsJsonl(Write("b.jsonl", good + good + "{\"clean\": \"a\", \"corrupted\": \"b\"}\n")),
              {"b.jsonl:3:", "field 'label': missing"});
  ExpectError(ReadRowsJsonl(Write("c.jsonl", "{\"clean\": 5, \"corrupted\": \"b\", \"label\": 1}\n")),
              {"c.jsonl:1:", "field 'clean': expected a string"});
  ExpectError(ReadRowsJsonl(Write("d.jsonl", "[1, 2]\n")), {"d.jsonl:1:", "expected a JSON object"});
  ExpectError(ReadRowsJsonl(Write("e.jsonl", "{\"prompt\": \"x\"}\n")), {"e.jsonl:1:", "'clean'"});
  ExpectError(ReadRowsJsonl(Write("f.jsonl", "{\"clean\": \"a\", \"corrupted\": \"b\", \"label\": 1.5}\n")),
              {"f.jsonl:1:", "field 'label'"});
  EXPECT_EQ(ReadRowsJsonl(Path("missing.jsonl")).status().code(), StatusCode::kNotFound);
  ExpectError(ReadRows(Write("g.txt", "")), {"g.txt", "unknown dataset format"});
}

TEST_F(RowIo, CsvRoundTripsQuotedCommasQuotesAndNewlines) {
  ASSERT_TRUE(WriteRowsCsv(Path("r.csv"), kTricky).ok());
  auto back = ReadRowsCsv(Path("r.csv"));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, kTricky);
}

TEST_F(RowIo, ReadsTheOriginalCsvLayout) {
  // pandas writes an unnamed index column when index=True; CRLF line ends; header order free.
  const auto path = Write("orig.csv",
                          "\xEF\xBB\xBF,label,clean,corrupted\r\n"
                          "0,26,\"Calculate ...: 72 - 46 =\",\"Calculate ...: 72 + 46 =\"\r\n"
                          "1,7,\"a, b =\",\"a, c =\"\r\n");
  auto rows = ReadRowsCsv(path);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0], (TaskRow{"Calculate ...: 72 - 46 =", "Calculate ...: 72 + 46 =", "26"}));
  EXPECT_EQ((*rows)[1], (TaskRow{"a, b =", "a, c =", "7"}));
}

TEST_F(RowIo, CsvErrorsNameFileAndLine) {
  const std::string header = "clean,corrupted,label\n";
  ExpectError(ReadRowsCsv(Write("a.csv", header + "a,b,1\nc,d\n")), {"a.csv:3:", "expected 3 fields", "got 2"});
  // Line numbers count the newlines inside quoted fields.
  ExpectError(ReadRowsCsv(Write("b.csv", header + "\"multi\nline\",b,1\nx,y,1,extra\n")), {"b.csv:4:", "got 4"});
  ExpectError(ReadRowsCsv(Write("c.csv", header + "a,b,1\n\"never closed,b,1\n")),
              {"c.csv:3:", "unterminated quoted field"});
  ExpectError(ReadRowsCsv(Write("d.csv", "clean,label\na,1\n")), {"d.csv:1:", "no column 'corrupted'"});
  ExpectError(ReadRowsCsv(Write("e.csv", header + "a,\"b\"x,1\n")), {"e.csv:2:", "after a closing quote"});
  ExpectError(ReadRowsCsv(Write("f.csv", header + "a\"b,c,1\n")), {"f.csv:2:", "quote inside an unquoted field"});
  ExpectError(ReadRowsCsv(Write("g.csv", header + "a,b,\n")), {"g.csv:2:", "field 'label': empty"});
  ExpectError(ReadRowsCsv(Write("h.csv", "")), {"h.csv:1:", "empty file"});
}

TEST(Csv, EscapeQuotesOnlyWhenNeeded) {
  EXPECT_EQ(CsvEscape("plain"), "plain");
  EXPECT_EQ(CsvEscape("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvEscape("say \"hi\""), "\"say \"\"hi\"\"\"");
  auto recs = ParseCsv("x,\"a\"\"b\",\n\n\"\",y\n", "t.csv");
  ASSERT_TRUE(recs.ok());
  ASSERT_EQ(recs->size(), 2u);
  EXPECT_EQ((*recs)[0].fields, (std::vector<std::string>{"x", "a\"b", ""}));
  EXPECT_EQ((*recs)[1].line, 3);
  EXPECT_EQ((*recs)[1].fields, (std::vector<std::string>{"", "y"}));
}

}  // namespace
}  // namespace fc::data
