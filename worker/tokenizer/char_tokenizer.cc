// MakeCharTokenizer: the character-level tokenizer of the tiny models we train ourselves.
//
// Stored as an HF "BPE" model with no pre-tokenizer and a Fuse decoder: every character of the
// alphabet is a vocabulary entry, so BPE starts from single characters; the only merges are the
// ones that build the optional whole-number tokens. HF loads this with any tokenizers version
// (WordLevel would need a Split pre-tokenizer with a regex to cut characters, and could not
// express "numbers up to N are one token, longer digit runs split"). Without a decoder HF would
// join tokens with spaces, hence Fuse.
//
// Number tokens: for every n in [10, max_number_token] the token str(n) exists, and for every
// split of str(n) into a left part and a right part that are both tokens (the right part has no
// leading zero, or is "0") there is a merge left+right. Merges are ranked by result length,
// then value, then split position, so a new pair always ranks after the merges that made its
// parts; every digit run whose value is <= max_number_token then ends as one token whatever the
// merge order (each canonical substring of such a number is itself <= max_number_token).
#include <set>

#include "worker/tokenizer/bpe_tokenizer.h"
#include "worker/tokenizer/unicode.h"

namespace fc::text {

std::string DefaultCharAlphabet() {
  std::string a;
  for (char c = 0x20; c <= 0x7E; ++c) a.push_back(c);
  a.push_back('\n');
  return a;
}

std::unique_ptr<Tokenizer> MakeCharTokenizer(const std::string& alphabet, const CharTokenizerOptions& options) {
  constexpr const char* kEot = "<|endoftext|>";
  constexpr const char* kUnk = "<|unk|>";
  BpeConfig c;
  c.vocab.emplace_back(kEot, 0);
  c.vocab.emplace_back(kUnk, 1);
  c.added_tokens.push_back(AddedToken{0, kEot, /*special=*/true});
  c.added_tokens.push_back(AddedToken{1, kUnk, /*special=*/true});
  c.unk_token = kUnk;
  std::set<std::string> seen{kEot, kUnk};
  int64_t next = 2;
  auto add = [&](const std::string& token) {
    if (seen.insert(token).second) c.vocab.emplace_back(token, next++);
  };
  for (char32_t cp : DecodeUtf8(alphabet)) add(EncodeUtf8(cp));
  for (char d = '0'; d <= '9'; ++d) {
    if (options.max_number_token > 0) add(std::string(1, d));  // parts of the number merges
  }
  for (int64_t n = 10; n <= options.max_number_token; ++n) {
    const std::string s = std::to_string(n);
    add(s);
    for (size_t k = 1; k < s.size(); ++k) {
      const std::string right = s.substr(k);
      if (right.size() > 1 && right[0] == '0') continue;  // "05" is not a token
      c.merges.emplace_back(s.substr(0, k), right);
    }
  }
  c.decoder = DecoderKind::kFuse;
  c.decoder_json = {{"type", "Fuse"}};
  c.bos_id = c.eos_id = c.pad_id = 0;
  // The config is valid by construction (every merge part and result was added above).
  auto tok = BpeTokenizer::Create(std::move(c), "char tokenizer");
  assert(tok.ok());
  return std::unique_ptr<Tokenizer>(std::move(tok).value());
}

}  // namespace fc::text
