// UTF-8 decoding/encoding and the character classes the GPT-2 pre-tokenizer regex needs.
//
// The GPT-2 split regex uses \p{L} (letters), \p{N} (numbers) and \s (white space). We classify
// by hand instead of linking a regex/ICU library. The tables cover ASCII, Latin-1, Latin
// Extended-A/B and Additional, IPA, Greek, Cyrillic, Armenian, Hebrew, Arabic, Devanagari, Thai,
// Georgian, Hangul, Hiragana/Katakana, CJK ideographs, full-width forms and the decimal digits of
// the common scripts. Code points outside these ranges (rare scripts, symbols) are classified as
// "other", which is what the regex does for symbols and punctuation but not for letters of
// uncovered scripts: documented approximation (docs/datasets.md, tokenizer section).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fc::text {

// Decodes UTF-8 leniently: every maximal ill-formed subpart becomes one U+FFFD (the Unicode
// recommendation that Rust's from_utf8_lossy, hence HF's decode, and Python's
// errors="replace" follow). `offsets`, when non-null, receives the byte offset of every code
// point plus a final entry text.size().
std::vector<char32_t> DecodeUtf8(std::string_view text, std::vector<size_t>* offsets = nullptr);

// Appends the UTF-8 encoding of `cp` to `out`.
void AppendUtf8(char32_t cp, std::string* out);
std::string EncodeUtf8(char32_t cp);

// True for bytes that are a complete, valid UTF-8 string.
bool IsValidUtf8(std::string_view text);

bool IsUnicodeLetter(char32_t cp);      // \p{L} (approximation, see header comment)
bool IsUnicodeNumber(char32_t cp);      // \p{N}
bool IsUnicodeWhitespace(char32_t cp);  // \s as Oniguruma/Rust regex define it

}  // namespace fc::text
