#include "worker/tokenizer/bpe_tokenizer.h"

#include <algorithm>
#include <climits>
#include <cstdio>
#include <fstream>

#include "worker/tokenizer/byte_level.h"
#include "worker/tokenizer/nfc.h"
#include "worker/tokenizer/unicode.h"

namespace fc::text {
namespace {

uint64_t PairKey(int64_t a, int64_t b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

// Start of the UTF-8 character that ends at `pos` (pos > 0).
size_t PrevCharStart(std::string_view text, size_t pos) {
  size_t k = pos - 1;
  while (k > 0 && pos - k < 4 && (static_cast<unsigned char>(text[k]) & 0xC0) == 0x80) --k;
  return k;
}

// lstrip/rstrip of added tokens: move over Unicode white space (as Rust's trim does).
size_t SkipSpaceLeft(std::string_view text, size_t pos, size_t floor) {
  while (pos > floor) {
    const size_t k = PrevCharStart(text, pos);
    const std::vector<char32_t> cp = DecodeUtf8(text.substr(k, pos - k));
    if (cp.size() != 1 || !IsUnicodeWhitespace(cp[0])) break;
    pos = k;
  }
  return pos;
}

size_t SkipSpaceRight(std::string_view text, size_t pos) {
  std::vector<size_t> off;
  while (pos < text.size()) {
    const std::vector<char32_t> cp = DecodeUtf8(text.substr(pos, std::min<size_t>(4, text.size() - pos)), &off);
    if (cp.empty() || !IsUnicodeWhitespace(cp[0])) break;
    pos += off[1];
  }
  return pos;
}

// HF's single_word rule: no word character (letter, number or '_') right before or after.
bool IsWordChar(char32_t cp) { return cp == U'_' || IsUnicodeLetter(cp) || IsUnicodeNumber(cp); }

bool StandsAlone(std::string_view text, size_t begin, size_t end) {
  if (begin > 0) {
    const size_t k = PrevCharStart(text, begin);
    const std::vector<char32_t> prev = DecodeUtf8(text.substr(k, begin - k));
    if (!prev.empty() && IsWordChar(prev.back())) return false;
  }
  if (end < text.size()) {
    const std::vector<char32_t> next = DecodeUtf8(text.substr(end, std::min<size_t>(4, text.size() - end)));
    if (!next.empty() && IsWordChar(next.front())) return false;
  }
  return true;
}

struct Segment {
  std::string_view text;
  const AddedToken* added = nullptr;  // non-null: this segment is that added token
};

}  // namespace

StatusOr<std::unique_ptr<BpeTokenizer>> BpeTokenizer::Create(BpeConfig config, const std::string& source) {
  std::unique_ptr<BpeTokenizer> tok(new BpeTokenizer(std::move(config)));
  FC_RETURN_IF_ERROR(tok->Init(source));
  return tok;
}

Status BpeTokenizer::Init(const std::string& source) {
  token_to_id_.reserve(config_.vocab.size() + config_.added_tokens.size());
  id_to_token_.reserve(config_.vocab.size() + config_.added_tokens.size());
  for (const auto& [token, id] : config_.vocab) {
    if (id < 0 || id > INT32_MAX) {
      return InvalidArgumentError("{}: field 'model.vocab' entry '{}': id {} out of range", source, token, id);
    }
    if (!token_to_id_.emplace(token, id).second) {
      return InvalidArgumentError("{}: field 'model.vocab': duplicate token '{}'", source, token);
    }
    if (!id_to_token_.emplace(id, token).second) {
      return InvalidArgumentError("{}: field 'model.vocab': id {} used by '{}' and '{}'", source, id,
                                  id_to_token_[id], token);
    }
    vocab_size_ = std::max(vocab_size_, id + 1);
  }
  merges_.reserve(config_.merges.size());
  for (size_t r = 0; r < config_.merges.size(); ++r) {
    const auto& [a, b] = config_.merges[r];
    auto ia = token_to_id_.find(a);
    auto ib = token_to_id_.find(b);
    auto ic = token_to_id_.find(a + b);
    if (ia == token_to_id_.end() || ib == token_to_id_.end() || ic == token_to_id_.end()) {
      const std::string& missing = ia == token_to_id_.end() ? a : ib == token_to_id_.end() ? b : a + b;
      return InvalidArgumentError("{}: field 'model.merges[{}]' ('{} {}'): token '{}' is not in model.vocab",
                                  source, r, a, b, missing);
    }
    // The first occurrence of a pair keeps its rank, like HF.
    merges_.emplace(PairKey(ia->second, ib->second), Merge{static_cast<int32_t>(r), ic->second});
  }
  for (size_t i = 0; i < config_.added_tokens.size(); ++i) {
    const AddedToken& t = config_.added_tokens[i];
    if (t.content.empty()) {
      return InvalidArgumentError("{}: field 'added_tokens[{}].content': empty", source, i);
    }
    auto it = id_to_token_.find(t.id);
    if (it != id_to_token_.end() && it->second != t.content) {
      return InvalidArgumentError("{}: field 'added_tokens[{}]': id {} is '{}' in model.vocab, not '{}'",
                                  source, i, t.id, it->second, t.content);
    }
    id_to_token_[t.id] = t.content;
    added_by_id_[t.id] = &t;
    vocab_size_ = std::max(vocab_size_, t.id + 1);
  }
  if (config_.unk_token) {
    auto it = token_to_id_.find(*config_.unk_token);
    if (it == token_to_id_.end()) {
      return InvalidArgumentError("{}: field 'model.unk_token': '{}' is not in model.vocab", source,
                                  *config_.unk_token);
    }
    unk_id_ = it->second;
  }
  for (const auto* id : {&config_.bos_id, &config_.eos_id, &config_.pad_id}) {
    if (*id && !id_to_token_.count(**id)) {
      return InvalidArgumentError("{}: special token id {} is not in the vocabulary", source, **id);
    }
  }
  return Status::OK();
}

std::optional<int64_t> BpeTokenizer::TokenToId(std::string_view token) const {
  for (const AddedToken& t : config_.added_tokens) {
    if (t.content == token) return t.id;
  }
  auto it = token_to_id_.find(std::string(token));
  if (it == token_to_id_.end()) return std::nullopt;
  return it->second;
}

std::string BpeTokenizer::IdToToken(int64_t id) const {
  auto it = id_to_token_.find(id);
  return it == id_to_token_.end() ? std::string() : it->second;
}

void BpeTokenizer::EncodeWord(std::string_view word, std::vector<int64_t>* out) const {
  const bool cacheable = word.size() <= kMaxCachedWordBytes;
  std::string key;
  if (cacheable) {
    key.assign(word);
    std::lock_guard<std::mutex> lock(cache_mu_);
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      out->insert(out->end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int64_t> syms;
  if (config_.ignore_merges) {
    auto it = token_to_id_.find(std::string(word));
    if (it != token_to_id_.end()) syms.push_back(it->second);
  }
  if (syms.empty()) {
    std::vector<size_t> off;
    const std::vector<char32_t> cps = DecodeUtf8(word, &off);
    syms.reserve(cps.size());
    bool prev_unk = false;
    for (size_t i = 0; i < cps.size(); ++i) {
      auto it = token_to_id_.find(std::string(word.substr(off[i], off[i + 1] - off[i])));
      if (it != token_to_id_.end()) {
        syms.push_back(it->second);
        prev_unk = false;
      } else if (unk_id_) {
        if (!(config_.fuse_unk && prev_unk)) syms.push_back(*unk_id_);
        prev_unk = true;
      }
      // No unk token: the symbol is dropped, as HF's BPE does.
    }
    // Merge the lowest-rank adjacent pair (leftmost), all its non-overlapping occurrences
    // left to right, until no pair has a merge.
    std::vector<int64_t> next;
    while (syms.size() > 1) {
      int32_t best_rank = INT32_MAX;
      uint64_t best_key = 0;
      int64_t best_result = -1;
      for (size_t i = 0; i + 1 < syms.size(); ++i) {
        auto it = merges_.find(PairKey(syms[i], syms[i + 1]));
        if (it != merges_.end() && it->second.rank < best_rank) {
          best_rank = it->second.rank;
          best_key = it->first;
          best_result = it->second.result;
        }
      }
      if (best_result < 0) break;
      next.clear();
      for (size_t i = 0; i < syms.size();) {
        if (i + 1 < syms.size() && PairKey(syms[i], syms[i + 1]) == best_key) {
          next.push_back(best_result);
          i += 2;
        } else {
          next.push_back(syms[i]);
          ++i;
        }
      }
      syms.swap(next);
    }
  }
  out->insert(out->end(), syms.begin(), syms.end());
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mu_);
    if (cache_.size() < kCacheCapacity) cache_.emplace(std::move(key), std::move(syms));
  }
}

void BpeTokenizer::EncodeSegment(std::string_view segment, std::vector<int64_t>* out) const {
  if (segment.empty()) return;
  std::string normalized;
  if (config_.nfc) {
    normalized = NormalizeNfc(segment);
    segment = normalized;
  }
  if (!config_.byte_level) {
    EncodeWord(segment, out);
    return;
  }
  std::string with_prefix;
  if (config_.add_prefix_space && segment.front() != ' ') {
    with_prefix.reserve(segment.size() + 1);
    with_prefix.push_back(' ');
    with_prefix.append(segment);
    segment = with_prefix;
  }
  if (config_.use_regex) {
    for (std::string_view piece : Gpt2Split(segment)) EncodeWord(BytesToByteLevel(piece), out);
  } else {
    EncodeWord(BytesToByteLevel(segment), out);
  }
}

std::vector<int64_t> BpeTokenizer::Encode(std::string_view text) const {
  // Split on added tokens: at the leftmost position where any matches, take the longest.
  std::vector<Segment> segments;
  size_t seg_start = 0;
  size_t i = 0;
  const auto& added = config_.added_tokens;
  while (i < text.size()) {
    const AddedToken* best = nullptr;
    for (const AddedToken& t : added) {
      if (t.content.size() <= text.size() - i && text.compare(i, t.content.size(), t.content) == 0 &&
          (!best || t.content.size() > best->content.size())) {
        best = &t;
      }
    }
    if (!best) {
      ++i;
      continue;
    }
    if (best->single_word && !StandsAlone(text, i, i + best->content.size())) {
      // HF scans matches without overlap: the rejected match's characters stay plain text.
      i += best->content.size();
      continue;
    }
    size_t begin = i;
    size_t end = i + best->content.size();
    if (best->lstrip) begin = SkipSpaceLeft(text, begin, seg_start);
    if (best->rstrip) end = SkipSpaceRight(text, end);
    segments.push_back({text.substr(seg_start, begin - seg_start), nullptr});
    segments.push_back({text.substr(begin, end - begin), best});
    seg_start = end;
    i = end;
  }
  segments.push_back({text.substr(seg_start), nullptr});

  std::vector<int64_t> ids;
  ids.reserve(text.size() / 2 + 4);
  for (const Segment& s : segments) {
    if (s.added) {
      ids.push_back(s.added->id);
    } else {
      EncodeSegment(s.text, &ids);
    }
  }
  return ids;
}

std::vector<int64_t> BpeTokenizer::EncodeWithSpecialTokens(std::string_view text) const {
  std::vector<int64_t> ids = config_.template_prefix;
  std::vector<int64_t> body = Encode(text);
  ids.insert(ids.end(), body.begin(), body.end());
  ids.insert(ids.end(), config_.template_suffix.begin(), config_.template_suffix.end());
  return ids;
}

std::string BpeTokenizer::DecodeImpl(const std::vector<int64_t>& ids, bool skip_special) const {
  std::string out;
  std::vector<const std::string*> pending;
  auto flush = [&] {
    if (pending.empty()) return;
    std::string joined;
    for (size_t k = 0; k < pending.size(); ++k) {
      // Without a decoder HF joins tokens with a space.
      if (k > 0 && config_.decoder == DecoderKind::kNone) joined.push_back(' ');
      joined += *pending[k];
    }
    if (config_.decoder == DecoderKind::kByteLevel) {
      // Tokens can end inside a UTF-8 sequence; like HF (from_utf8_lossy), broken sequences
      // become U+FFFD, so the result is always valid UTF-8 (JSON writers reject anything else).
      std::string bytes = ByteLevelToBytes(joined);
      if (!IsValidUtf8(bytes)) {
        std::string fixed;
        for (char32_t cp : DecodeUtf8(bytes)) AppendUtf8(cp, &fixed);
        bytes.swap(fixed);
      }
      out += bytes;
    } else {
      out += joined;
    }
    pending.clear();
  };
  for (int64_t id : ids) {
    auto a = added_by_id_.find(id);
    if (a != added_by_id_.end()) {
      if (skip_special && a->second->special) continue;
      flush();
      out += a->second->content;
      continue;
    }
    auto it = id_to_token_.find(id);
    if (it != id_to_token_.end()) pending.push_back(&it->second);
  }
  flush();
  return out;
}

std::string BpeTokenizer::Decode(const std::vector<int64_t>& ids) const { return DecodeImpl(ids, false); }
std::string BpeTokenizer::DecodeSkippingSpecial(const std::vector<int64_t>& ids) const {
  return DecodeImpl(ids, true);
}

Status BpeTokenizer::Save(const std::string& tokenizer_json) const {
  std::string text;
  try {
    text = BpeConfigToJson(config_).dump(2);
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgumentError("tokenizer '{}': cannot serialize: {}", tokenizer_json, e.what());
  }
  const std::string tmp = tokenizer_json + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) return UnavailableError("tokenizer '{}': cannot open for writing", tmp);
    f << text << '\n';
    f.close();
    if (!f) return UnavailableError("tokenizer '{}': write failed", tmp);
  }
  if (std::rename(tmp.c_str(), tokenizer_json.c_str()) != 0) {
    return UnavailableError("tokenizer '{}': rename from '{}' failed", tokenizer_json, tmp);
  }
  return Status::OK();
}

}  // namespace fc::text
