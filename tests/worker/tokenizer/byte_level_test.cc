// Byte <-> unicode mapping, the hand-written GPT-2 split, and UTF-8 helpers.
#include <gtest/gtest.h>

#include "worker/tokenizer/byte_level.h"
#include "worker/tokenizer/unicode.h"

namespace fc::text {
namespace {

std::vector<std::string> Split(std::string_view s) {
  std::vector<std::string> out;
  for (std::string_view p : Gpt2Split(s)) out.emplace_back(p);
  return out;
}

TEST(ByteLevel, MappingIsABijectionOnAllBytes) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  EXPECT_EQ(ByteLevelToBytes(BytesToByteLevel(all)), all);
  EXPECT_EQ(ByteToUnicode(' '), 0x120u);   // "Ġ"
  EXPECT_EQ(ByteToUnicode('\n'), 0x10Au);  // "Ċ"
  EXPECT_EQ(ByteToUnicode('A'), static_cast<char32_t>('A'));
  EXPECT_EQ(UnicodeToByte(0x120), ' ');
  EXPECT_EQ(UnicodeToByte(0x4E00), -1);
}

TEST(ByteLevel, Gpt2SplitFollowsTheRegex) {
  EXPECT_EQ(Split("Hello world"), (std::vector<std::string>{"Hello", " world"}));
  EXPECT_EQ(Split("I'm they'll it's"), (std::vector<std::string>{"I", "'m", " they", "'ll", " it", "'s"}));
  EXPECT_EQ(Split("72 - 46 ="), (std::vector<std::string>{"72", " -", " 46", " ="}));
  EXPECT_EQ(Split("a  b"), (std::vector<std::string>{"a", " ", " b"}));        // \s+(?!\S) keeps one
  EXPECT_EQ(Split("a \n\nb"), (std::vector<std::string>{"a", " \n", "\n", "b"}));
  EXPECT_EQ(Split("end   "), (std::vector<std::string>{"end", "   "}));
  EXPECT_EQ(Split("?!'s"), (std::vector<std::string>{"?!'", "s"}));             // greedy punctuation
  EXPECT_EQ(Split("x=1,2"), (std::vector<std::string>{"x", "=", "1", ",", "2"}));
  EXPECT_EQ(Split("h\xC3\xA9llo \xCE\xB1\xCE\xB2"), (std::vector<std::string>{"h\xC3\xA9llo", " \xCE\xB1\xCE\xB2"}));
  std::string joined;
  for (const auto& p : Split("any text\t\twith\n mixed  ")) joined += p;
  EXPECT_EQ(joined, "any text\t\twith\n mixed  ");
}

TEST(Unicode, DecodesUtf8AndReplacesInvalidBytes) {
  EXPECT_EQ(DecodeUtf8("a\xC3\xA9\xE4\xBD\xA0\xF0\x9F\x98\x80"),
            (std::vector<char32_t>{'a', 0xE9, 0x4F60, 0x1F600}));
  EXPECT_EQ(DecodeUtf8("\xFF" "a\xC3"), (std::vector<char32_t>{0xFFFD, 'a', 0xFFFD}));
  EXPECT_EQ(DecodeUtf8("\xC0\xAF"), (std::vector<char32_t>{0xFFFD, 0xFFFD}));  // overlong '/'
  // One U+FFFD per maximal ill-formed subpart, as Rust's from_utf8_lossy (HF decode) does.
  EXPECT_EQ(DecodeUtf8("\xE4\xBD"), (std::vector<char32_t>{0xFFFD}));
  EXPECT_EQ(DecodeUtf8("\xF0\x9F\x98" "A"), (std::vector<char32_t>{0xFFFD, 'A'}));
  EXPECT_EQ(DecodeUtf8("\xED\xA0\x80"), (std::vector<char32_t>{0xFFFD, 0xFFFD, 0xFFFD}));  // surrogate
  EXPECT_TRUE(IsValidUtf8("h\xC3\xA9"));
  EXPECT_FALSE(IsValidUtf8("h\xC3"));
  EXPECT_EQ(EncodeUtf8(0x1F600), "\xF0\x9F\x98\x80");
}

TEST(Unicode, ClassifiesLettersNumbersAndSpaces) {
  for (char32_t cp : {U'a', U'Z', char32_t{0xE9}, char32_t{0x3B1}, char32_t{0x416}, char32_t{0x4E2D},
                      char32_t{0xAC00}, char32_t{0x3042}}) {
    EXPECT_TRUE(IsUnicodeLetter(cp)) << std::hex << cp;
  }
  for (char32_t cp : {U'0', char32_t{0xB2}, char32_t{0xBD}, char32_t{0x663}, char32_t{0xFF11}}) {
    EXPECT_TRUE(IsUnicodeNumber(cp)) << std::hex << cp;
  }
  for (char32_t cp : {U'-', U'=', char32_t{0xD7}, char32_t{0xF7}, char32_t{0x301}, char32_t{0x1F600}}) {
    EXPECT_FALSE(IsUnicodeLetter(cp) || IsUnicodeNumber(cp)) << std::hex << cp;
  }
  for (char32_t cp : {U' ', U'\t', U'\n', char32_t{0xA0}, char32_t{0x3000}}) EXPECT_TRUE(IsUnicodeWhitespace(cp));
  EXPECT_FALSE(IsUnicodeWhitespace(U'x'));
}

}  // namespace
}  // namespace fc::text
