// Unicode NFC normalization (Pythia's tokenizer.json normalizer), from tables generated out of
// the Unicode Character Database (nfc_tables.inc, Unicode 14; see gen_nfc_tables.py).
#pragma once

#include <string>
#include <string_view>

namespace fc::text {

// Canonical decomposition, canonical reordering, then canonical composition (UAX #15), Hangul
// included. Text whose code points are all below U+0300 is returned unchanged without work
// (all of it is NFC already). Invalid UTF-8 bytes become U+FFFD first, as in DecodeUtf8.
std::string NormalizeNfc(std::string_view text);

}  // namespace fc::text
