// Reading a coordinator's artifact directory the way an outside observer would (layout of
// docs/artifacts.md: DIR/blobs/<ab>/<sha256>, DIR/corrupt/<sha256>.<unix_ms>): the test rebuilds
// a job output from the store to run the engine on exactly the bytes the workers exchanged, and
// damages a stored blob to check that corruption is caught.
#pragma once

#include <string>
#include <vector>

namespace fc::e2e {

// Path of blob `sha` under the artifact directory (it may not exist).
std::string BlobPath(const std::string& artifacts_dir, const std::string& sha);

// Copies the artifact `uri` out of the store into `dest`:
//   "blob:<sha>/<name>" (one file)  -> dest/<name>, returned;
//   "blob:<sha>" (a tree manifest)   -> every file of the manifest under dest, dest returned.
// Returns "" and sets *error (naming the uri and the missing or unreadable piece) on failure.
std::string RebuildFromStore(const std::string& artifacts_dir, const std::string& uri,
                             const std::string& dest, std::string* error);

// The sha of file `path` inside the tree artifact `tree_uri` ("blob:<manifest sha>"), read from
// the stored manifest; "" with *error set when absent.
std::string TreeFileSha(const std::string& artifacts_dir, const std::string& tree_uri, const std::string& path,
                        std::string* error);

// The sha of a blob uri ("" if `uri` is not one).
std::string BlobSha(const std::string& uri);

// Flips one bit of the byte at `offset` of a stored blob in place (blobs are 0444: the mode is
// lifted for the write and put back). Returns "" or an error.
std::string FlipStoredByte(const std::string& artifacts_dir, const std::string& sha, long offset);

// Files under DIR/corrupt/ whose name starts with `sha` (quarantined copies).
std::vector<std::string> QuarantinedCopies(const std::string& artifacts_dir, const std::string& sha);

}  // namespace fc::e2e
