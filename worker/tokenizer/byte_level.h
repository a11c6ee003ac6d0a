// GPT-2's byte-level pieces: the byte <-> printable-unicode mapping and the pre-tokenizer split.
//
// ByteLevel BPE never sees raw bytes: every byte b becomes one printable code point
// (bytes 33..126, 161..172, 174..255 map to themselves, the other 68 to U+0100.. in order), so a
// space is "Ġ" (U+0120) and "\n" is "Ċ" (U+010A). The split implements, by hand, the regex
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// over code points, with the \p{L}/\p{N}/\s classes of unicode.h.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace fc::text {

// The code point byte b maps to.
char32_t ByteToUnicode(unsigned char b);
// The byte the code point stands for; -1 for code points outside the mapping.
int UnicodeToByte(char32_t cp);

// Maps every byte of `bytes` and returns the UTF-8 of the mapped code points.
std::string BytesToByteLevel(std::string_view bytes);
// Inverse of BytesToByteLevel. Code points outside the mapping are kept as their own UTF-8
// (HF's decoder does the same), so no input is ever lost.
std::string ByteLevelToBytes(std::string_view mapped);

// Splits `text` with the GPT-2 regex; the pieces concatenate to `text`.
std::vector<std::string_view> Gpt2Split(std::string_view text);

}  // namespace fc::text
