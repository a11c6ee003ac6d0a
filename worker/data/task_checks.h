// Internal helpers shared by the generators: tokenizer-based row checks and uniqueness.
#pragma once

#include <string>
#include <unordered_map>
#include <unordered_set>

#include "worker/data/task_row.h"
#include "worker/tokenizer/tokenizer.h"

namespace fc::data::internal {

class RowChecker {
 public:
  explicit RowChecker(const text::Tokenizer& tokenizer) : tokenizer_(tokenizer) {}

  // str(n) encodes to exactly one token (memoized: generators ask about the same numbers often).
  bool SingleToken(int64_t n);
  bool SingleToken(const std::string& text) { return tokenizer_.Encode(text).size() == 1; }
  bool SameTokenLength(const std::string& a, const std::string& b) const {
    return tokenizer_.Encode(a).size() == tokenizer_.Encode(b).size();
  }
  // Inserts `key`; false if it was already there.
  bool Unique(const std::string& key) { return seen_.insert(key).second; }
  bool Seen(const std::string& key) const { return seen_.count(key) > 0; }

 private:
  const text::Tokenizer& tokenizer_;
  std::unordered_map<int64_t, bool> single_;
  std::unordered_set<std::string> seen_;
};

// Attempt budget of a generator asked for `size` rows: generous, because a rejected attempt is
// cheap and single-token filters reject most candidates for small vocabularies.
inline int64_t MaxAttempts(int64_t size) { return 50 * size + 10000; }

}  // namespace fc::data::internal
