// BpeTokenizer: merge-rank BPE with HF tokenizers' semantics, byte-level (GPT-2, Pythia) or on
// plain characters (our char tokenizer). The one Tokenizer implementation; tokenizer_json.cc
// turns tokenizer.json into a BpeConfig and back.
//
// Encode: (1) split the text on added tokens, leftmost-longest, before anything else;
// (1b) NFC-normalize the other segments when the normalizer says so; (2) byte-level: optional prefix space, GPT-2 regex split, bytes -> mapped code points;
// otherwise the whole segment is one word; (3) per word, repeatedly merge the adjacent pair of
// lowest merge rank (leftmost first) until none applies. Symbols missing from the vocabulary
// become the unk token, or are dropped when there is none (as HF does). Words are cached.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "worker/tokenizer/tokenizer.h"

namespace fc::text {

struct AddedToken {
  int64_t id = 0;
  std::string content;
  bool special = true;
  bool single_word = false;  // match only with no letter/number/'_' right before or after
  bool lstrip = false;       // the match also swallows (Unicode) white space on its left
  bool rstrip = false;       // ... and on its right
  bool normalized = false;
};

enum class DecoderKind { kNone, kByteLevel, kFuse };

struct BpeConfig {
  std::vector<std::pair<std::string, int64_t>> vocab;            // model.vocab, any order
  std::vector<std::pair<std::string, std::string>> merges;       // rank order
  std::vector<AddedToken> added_tokens;
  std::optional<std::string> unk_token;
  bool fuse_unk = false;
  bool ignore_merges = false;  // a word that is itself in the vocabulary is one token
  bool nfc = false;            // normalizer NFC (Pythia): applied to text outside added tokens
  // Pre-tokenizer: ByteLevel (possibly inside a Sequence) or none.
  bool byte_level = false;
  bool add_prefix_space = false;
  bool use_regex = true;
  DecoderKind decoder = DecoderKind::kNone;
  // Ids the post-processor (TemplateProcessing "single") puts before and after the sequence.
  std::vector<int64_t> template_prefix, template_suffix;
  std::optional<int64_t> bos_id, eos_id, pad_id;
  // Sections kept verbatim for Save (normalizer, pre_tokenizer, post_processor, decoder,
  // truncation, padding); null when absent.
  nlohmann::json normalizer, pre_tokenizer, post_processor, decoder_json, truncation, padding;
};

class BpeTokenizer final : public Tokenizer {
 public:
  // Validates the config (merge parts and results in the vocabulary, unique ids).
  static StatusOr<std::unique_ptr<BpeTokenizer>> Create(BpeConfig config, const std::string& source);

  std::vector<int64_t> Encode(std::string_view text) const override;
  std::vector<int64_t> EncodeWithSpecialTokens(std::string_view text) const override;
  std::string Decode(const std::vector<int64_t>& ids) const override;
  std::string DecodeSkippingSpecial(const std::vector<int64_t>& ids) const override;
  int64_t vocab_size() const override { return vocab_size_; }
  std::optional<int64_t> bos_id() const override { return config_.bos_id; }
  std::optional<int64_t> eos_id() const override { return config_.eos_id; }
  std::optional<int64_t> pad_id() const override {
    return config_.pad_id ? config_.pad_id : config_.eos_id;
  }
  std::optional<int64_t> TokenToId(std::string_view token) const override;
  std::string IdToToken(int64_t id) const override;
  Status Save(const std::string& tokenizer_json) const override;

  const BpeConfig& config() const { return config_; }

 private:
  struct Merge {
    int32_t rank;
    int64_t result;
  };
  explicit BpeTokenizer(BpeConfig config) : config_(std::move(config)) {}
  Status Init(const std::string& source);
  // Appends the ids of one pre-tokenized word (already byte-mapped when byte-level).
  void EncodeWord(std::string_view word, std::vector<int64_t>* out) const;
  void EncodeSegment(std::string_view segment, std::vector<int64_t>* out) const;
  std::string DecodeImpl(const std::vector<int64_t>& ids, bool skip_special) const;

  BpeConfig config_;
  std::unordered_map<std::string, int64_t> token_to_id_;   // vocab + added tokens
  std::unordered_map<int64_t, std::string> id_to_token_;
  std::unordered_map<int64_t, const AddedToken*> added_by_id_;
  std::unordered_map<uint64_t, Merge> merges_;               // (left id, right id) -> merge
  int64_t vocab_size_ = 0;
  std::optional<int64_t> unk_id_;

  static constexpr size_t kCacheCapacity = 10000;  // like HF's default BPE cache
  static constexpr size_t kMaxCachedWordBytes = 256;
  mutable std::mutex cache_mu_;
  mutable std::unordered_map<std::string, std::vector<int64_t>> cache_;
};

// JSON document of a config (tokenizer.json layout). Merges are written as "a b" strings, which
// every tokenizers version reads, unless a token contains a space; then as [a, b] pairs.
nlohmann::ordered_json BpeConfigToJson(const BpeConfig& config);
// Parses tokenizer.json; `source` names the file in errors.
StatusOr<BpeConfig> BpeConfigFromJson(const nlohmann::json& doc, const std::string& source);

}  // namespace fc::text
