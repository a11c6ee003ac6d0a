#include "worker/tokenizer/byte_level.h"

#include <array>

#include "worker/tokenizer/unicode.h"

namespace fc::text {
namespace {

struct ByteTables {
  std::array<char32_t, 256> to_unicode{};
  ByteTables() {
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
      to_unicode[b] = printable ? static_cast<char32_t>(b) : next++;
    }
  }
};

const ByteTables& Tables() {
  static const ByteTables tables;
  return tables;
}

enum class Cls { kLetter, kNumber, kSpace, kOther };

Cls Classify(char32_t cp) {
  if (IsUnicodeLetter(cp)) return Cls::kLetter;
  if (IsUnicodeNumber(cp)) return Cls::kNumber;
  if (IsUnicodeWhitespace(cp)) return Cls::kSpace;
  return Cls::kOther;
}

}  // namespace

char32_t ByteToUnicode(unsigned char b) { return Tables().to_unicode[b]; }

int UnicodeToByte(char32_t cp) {
  if ((cp >= 33 && cp <= 126) || (cp >= 161 && cp <= 172) || (cp >= 174 && cp <= 255)) {
    return static_cast<int>(cp);
  }
  if (cp < 256 || cp >= 256 + 68) return -1;
  // The 68 non-printable bytes, in increasing order, map to 256, 257, ...
  const auto& t = Tables().to_unicode;
  for (int b = 0; b < 256; ++b) {
    if (t[b] == cp) return b;
  }
  return -1;
}

std::string BytesToByteLevel(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) AppendUtf8(ByteToUnicode(static_cast<unsigned char>(c)), &out);
  return out;
}

std::string ByteLevelToBytes(std::string_view mapped) {
  std::string out;
  out.reserve(mapped.size());
  for (char32_t cp : DecodeUtf8(mapped)) {
    const int b = UnicodeToByte(cp);
    if (b >= 0) {
      out.push_back(static_cast<char>(b));
    } else {
      AppendUtf8(cp, &out);
    }
  }
  return out;
}

std::vector<std::string_view> Gpt2Split(std::string_view text) {
  std::vector<size_t> off;
  const std::vector<char32_t> cps = DecodeUtf8(text, &off);
  const size_t n = cps.size();
  std::vector<Cls> cls(n);
  for (size_t i = 0; i < n; ++i) cls[i] = Classify(cps[i]);

  std::vector<std::string_view> pieces;
  auto emit = [&](size_t a, size_t b) { pieces.push_back(text.substr(off[a], off[b] - off[a])); };
  // End of the run of class c starting at i (for the "other" class: [^\s\p{L}\p{N}]+).
  auto run_end = [&](size_t i, Cls c) {
    while (i < n && cls[i] == c) ++i;
    return i;
  };

  size_t i = 0;
  while (i < n) {
    // 's|'t|'re|'ve|'m|'ll|'d  (lower case only, as in the regex)
    if (cps[i] == U'\'' && i + 1 < n) {
      const char32_t c1 = cps[i + 1];
      if (c1 == U's' || c1 == U't' || c1 == U'm' || c1 == U'd') {
        emit(i, i + 2);
        i += 2;
        continue;
      }
      if (i + 2 < n) {
        const char32_t c2 = cps[i + 2];
        if ((c1 == U'r' && c2 == U'e') || (c1 == U'v' && c2 == U'e') || (c1 == U'l' && c2 == U'l')) {
          emit(i, i + 3);
          i += 3;
          continue;
        }
      }
    }
    // ` ?\p{L}+ | ?\p{N}+ | ?[^\s\p{L}\p{N}]+`: an optional single ' ' then a run of one class.
    size_t start = i;
    size_t j = i;
    if (cps[j] == U' ' && j + 1 < n && cls[j + 1] != Cls::kSpace) ++j;
    if (cls[j] != Cls::kSpace) {
      const size_t end = run_end(j, cls[j]);
      emit(start, end);
      i = end;
      continue;
    }
    // White space: `\s+(?!\S)` keeps the last space for the next word when one follows;
    // otherwise `\s+` takes a single remaining space.
    const size_t end = run_end(i, Cls::kSpace);
    if (end == n) {
      emit(i, end);
      i = end;
    } else if (end - i > 1) {
      emit(i, end - 1);
      i = end - 1;
    } else {
      emit(i, end);
      i = end;
    }
  }
  return pieces;
}

}  // namespace fc::text
