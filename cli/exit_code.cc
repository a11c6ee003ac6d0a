#include "cli/exit_code.h"

#include <fmt/format.h>

namespace fc::cli {

int ExitCodeFor(const Status& s) {
  switch (s.code()) {
    case StatusCode::kOk:
      return kExitOk;
    case StatusCode::kInvalidArgument:
      return kExitBadInput;
    case StatusCode::kUnavailable:
      return kExitUnreachable;
    case StatusCode::kNotFound:
      return kExitNotFound;
    default:
      return kExitError;
  }
}

std::string ErrorMessage(const Status& s, const std::string& coordinator) {
  switch (s.code()) {
    case StatusCode::kUnavailable:
      return fmt::format("fcctl: cannot reach the coordinator at {} ({}); is fc-coordinator "
                         "running? (set --coordinator or FC_COORDINATOR)",
                         coordinator, s.message());
    case StatusCode::kInvalidArgument:
      return fmt::format("fcctl: rejected: {}", s.message());
    case StatusCode::kNotFound:
      return fmt::format("fcctl: not found: {}", s.message());
    default:
      return fmt::format("fcctl: {}", s.ToString());
  }
}

}  // namespace fc::cli
