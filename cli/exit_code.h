// fcctl's exit codes and error messages, one mapping for every command:
//   0 ok | 1 other errors (and a watched experiment that did not succeed)
//   2 bad input: invalid DAG (the server's message names job/field/line), bad flags
//   3 coordinator unreachable (the message says so and names the address)
//   4 unknown id
#pragma once

#include <string>

#include "common/status.h"

namespace fc::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;
inline constexpr int kExitBadInput = 2;
inline constexpr int kExitUnreachable = 3;
inline constexpr int kExitNotFound = 4;

int ExitCodeFor(const Status& s);
// One line for stderr: "fcctl: cannot reach the coordinator at 127.0.0.1:1 (...)" etc.
std::string ErrorMessage(const Status& s, const std::string& coordinator);

}  // namespace fc::cli
