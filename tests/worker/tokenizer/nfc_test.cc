// NFC normalization: composition, singletons, canonical reordering, Hangul, fast path.
#include <gtest/gtest.h>

#include "worker/tokenizer/nfc.h"

namespace fc::text {
namespace {

TEST(Nfc, ComposesDecomposedLatin) {
  EXPECT_EQ(NormalizeNfc("e\xCC\x81"), "\xC3\xA9");                    // e + U+0301 -> é
  EXPECT_EQ(NormalizeNfc("a\xCC\x88 o\xCC\x88"), "\xC3\xA4 \xC3\xB6");  // ä ö
  EXPECT_EQ(NormalizeNfc("\xC3\xA9"), "\xC3\xA9");                     // already NFC
}

TEST(Nfc, MapsSingletonsAndReordersMarks) {
  EXPECT_EQ(NormalizeNfc("\xE2\x84\xAB"), "\xC3\x85");  // U+212B ANGSTROM SIGN -> U+00C5
  EXPECT_EQ(NormalizeNfc("\xE2\x84\xA6"), "\xCE\xA9");  // U+2126 OHM SIGN -> U+03A9
  // d + dot above (230) + dot below (220): reordered, then d + dot below composes to U+1E0D.
  EXPECT_EQ(NormalizeNfc("d\xCC\x87\xCC\xA3"), "\xE1\xB8\x8D\xCC\x87");
  // A mark with no starter before it stays as it is.
  EXPECT_EQ(NormalizeNfc("\xCC\x81x"), "\xCC\x81x");
}

TEST(Nfc, ComposesHangulJamo) {
  EXPECT_EQ(NormalizeNfc("\xE1\x84\x80\xE1\x85\xA1"), "\xEA\xB0\x80");              // L V -> U+AC00
  EXPECT_EQ(NormalizeNfc("\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8"), "\xEA\xB0\x81");  // L V T -> U+AC01
  EXPECT_EQ(NormalizeNfc("\xEA\xB0\x81"), "\xEA\xB0\x81");
}

TEST(Nfc, AsciiAndLatin1AreUnchanged) {
  const std::string s = "Calculate 72 - 46 =\n26 caf\xC3\xA9 \xC3\x85ngstr\xC3\xB6m";
  EXPECT_EQ(NormalizeNfc(s), s);
}

}  // namespace
}  // namespace fc::text
