// Streaming SHA-256 (OpenSSL EVP) for content addresses, plus the address syntax: 64 lowercase
// hex digits. Not thread-safe: one hasher per stream. Used by the coordinator's blob store and by
// the worker's transfer client (same bytes, same address everywhere).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace fc::artifacts {

class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(Sha256Hasher&&) noexcept;
  Sha256Hasher& operator=(Sha256Hasher&&) noexcept;

  void Update(const void* data, size_t n);
  void Update(std::string_view s) { Update(s.data(), s.size()); }
  // Lowercase hex of everything fed so far; the hasher restarts empty afterwards.
  std::string FinishHex();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

std::string Sha256Hex(std::string_view data);

// True for exactly 64 lowercase hex digits (the only form used as a file name or address).
bool IsSha256Hex(std::string_view s);
// INVALID_ARGUMENT "<what>: '<s>' is not a sha256 (64 lowercase hex digits)" unless IsSha256Hex.
Status CheckSha256Hex(std::string_view s, std::string_view what);

// Hash of a whole file, read in 1 MiB blocks; *size (optional) gets its length. NOT_FOUND when
// the file does not exist, INTERNAL for other read errors, naming the path.
StatusOr<std::string> Sha256File(const std::string& path, int64_t* size = nullptr);

}  // namespace fc::artifacts
