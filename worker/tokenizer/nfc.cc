#include "worker/tokenizer/nfc.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "worker/tokenizer/unicode.h"

namespace fc::text {
namespace {

struct CccEntry {
  char32_t cp;
  uint8_t ccc;
};
struct DecompEntry {
  char32_t cp, first, second;  // second == 0: singleton decomposition
};
struct ComposeEntry {
  char32_t first, second, composite;
};

#include "worker/tokenizer/nfc_tables.inc"

constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr int kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

int Ccc(char32_t cp) {
  const auto* end = std::end(kCcc);
  const auto* it = std::lower_bound(std::begin(kCcc), end, cp, [](const CccEntry& e, char32_t v) { return e.cp < v; });
  return it != end && it->cp == cp ? it->ccc : 0;
}

void Decompose(char32_t cp, std::vector<char32_t>* out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {  // Hangul syllable: L V (T)
    const char32_t s = cp - kSBase;
    out->push_back(kLBase + s / kNCount);
    out->push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount) out->push_back(kTBase + s % kTCount);
    return;
  }
  const auto* end = std::end(kDecomp);
  const auto* it =
      std::lower_bound(std::begin(kDecomp), end, cp, [](const DecompEntry& e, char32_t v) { return e.cp < v; });
  if (it == end || it->cp != cp) {
    out->push_back(cp);
    return;
  }
  Decompose(it->first, out);
  if (it->second) Decompose(it->second, out);
}

// The primary composite of (a, b), or 0.
char32_t Compose(char32_t a, char32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount) {
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  }
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase && b < kTBase + kTCount) {
    return a + (b - kTBase);
  }
  const auto* end = std::end(kCompose);
  const auto* it = std::lower_bound(std::begin(kCompose), end, std::make_pair(a, b),
                                    [](const ComposeEntry& e, const std::pair<char32_t, char32_t>& v) {
                                      return std::make_pair(e.first, e.second) < v;
                                    });
  return it != end && it->first == a && it->second == b ? it->composite : 0;
}

}  // namespace

std::string NormalizeNfc(std::string_view text) {
  const std::vector<char32_t> cps = DecodeUtf8(text);
  if (std::all_of(cps.begin(), cps.end(), [](char32_t c) { return c < 0x300; }) && IsValidUtf8(text)) {
    return std::string(text);
  }
  std::vector<char32_t> d;
  d.reserve(cps.size() + 8);
  for (char32_t cp : cps) Decompose(cp, &d);
  // Canonical ordering: stable sort of every run of non-starters by combining class.
  for (size_t i = 0; i < d.size();) {
    if (Ccc(d[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < d.size() && Ccc(d[j]) != 0) ++j;
    std::stable_sort(d.begin() + i, d.begin() + j, [](char32_t a, char32_t b) { return Ccc(a) < Ccc(b); });
    i = j;
  }
  // Canonical composition: combine each character with the last starter unless blocked (a
  // character in between whose class is 0 or >= its own).
  std::vector<char32_t> out;
  out.reserve(d.size());
  size_t starter = SIZE_MAX;
  int last_ccc = 0;
  for (char32_t c : d) {
    const int ccc = Ccc(c);
    if (starter != SIZE_MAX) {
      const bool adjacent = out.size() - 1 == starter;
      if (adjacent || (last_ccc != 0 && last_ccc < ccc)) {
        if (char32_t comp = Compose(out[starter], c)) {
          out[starter] = comp;
          continue;
        }
      }
    }
    if (ccc == 0) starter = out.size();
    out.push_back(c);
    last_ccc = ccc;
  }
  std::string s;
  s.reserve(text.size());
  for (char32_t c : out) AppendUtf8(c, &s);
  return s;
}

}  // namespace fc::text
