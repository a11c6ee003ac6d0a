// fc::Status and fc::StatusOr<T>: the error type every module returns.
//
// Codes are gRPC's canonical codes with the same numbers, so the RPC layer converts by a cast.
// A message names the object, the field, the problem and the value, e.g.
//   job 'lora' field 'rank' (line 7): must be in [1, 1024], got 0
// No exception crosses a module boundary: third-party exceptions are caught where raised and
// turned into a Status. Retry decisions read the code, never the message.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include <fmt/format.h>

namespace fc {

enum class StatusCode : int {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status OK() { return Status(); }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "INVALID_ARGUMENT: job 'x' ..." or "OK".
  std::string ToString() const;
  // Returns a copy whose message is "<prefix>: <message>"; OK stays OK.
  Status WithContext(const std::string& prefix) const;

  bool operator==(const Status& o) const { return code_ == o.code_ && message_ == o.message_; }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

#define FC_DEFINE_STATUS_FACTORY(Name, Code)                                   \
  template <typename... Args>                                                  \
  Status Name(fmt::format_string<Args...> f, Args&&... args) {                 \
    return Status(StatusCode::Code, fmt::format(f, std::forward<Args>(args)...)); \
  }
FC_DEFINE_STATUS_FACTORY(CancelledError, kCancelled)
FC_DEFINE_STATUS_FACTORY(UnknownError, kUnknown)
FC_DEFINE_STATUS_FACTORY(InvalidArgumentError, kInvalidArgument)
FC_DEFINE_STATUS_FACTORY(DeadlineExceededError, kDeadlineExceeded)
FC_DEFINE_STATUS_FACTORY(NotFoundError, kNotFound)
FC_DEFINE_STATUS_FACTORY(AlreadyExistsError, kAlreadyExists)
FC_DEFINE_STATUS_FACTORY(PermissionDeniedError, kPermissionDenied)
FC_DEFINE_STATUS_FACTORY(ResourceExhaustedError, kResourceExhausted)
FC_DEFINE_STATUS_FACTORY(FailedPreconditionError, kFailedPrecondition)
FC_DEFINE_STATUS_FACTORY(AbortedError, kAborted)
FC_DEFINE_STATUS_FACTORY(OutOfRangeError, kOutOfRange)
FC_DEFINE_STATUS_FACTORY(UnimplementedError, kUnimplemented)
FC_DEFINE_STATUS_FACTORY(InternalError, kInternal)
FC_DEFINE_STATUS_FACTORY(UnavailableError, kUnavailable)
FC_DEFINE_STATUS_FACTORY(DataLossError, kDataLoss)
FC_DEFINE_STATUS_FACTORY(UnauthenticatedError, kUnauthenticated)
#undef FC_DEFINE_STATUS_FACTORY

// Holds either a T or a non-OK Status.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(Status s) : v_(std::move(s)) {  // NOLINT: implicit by design
    assert(!std::get<Status>(v_).ok() && "StatusOr built from an OK status");
    if (std::get<Status>(v_).ok()) v_ = Status(StatusCode::kInternal, "StatusOr from OK status");
  }
  StatusOr(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  template <typename U,
            typename = std::enable_if_t<std::is_convertible_v<U&&, T> &&
                                        !std::is_same_v<std::decay_t<U>, Status> &&
                                        !std::is_same_v<std::decay_t<U>, T>>>
  StatusOr(U&& value) : v_(T(std::forward<U>(value))) {}  // NOLINT

  bool ok() const { return std::holds_alternative<T>(v_); }
  Status status() const { return ok() ? Status::OK() : std::get<Status>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T& value() & { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

 private:
  std::variant<Status, T> v_;
};

}  // namespace fc

#define FC_STATUS_CONCAT_INNER(a, b) a##b
#define FC_STATUS_CONCAT(a, b) FC_STATUS_CONCAT_INNER(a, b)

#define FC_RETURN_IF_ERROR(expr)                   \
  do {                                             \
    ::fc::Status _fc_status = (expr);              \
    if (!_fc_status.ok()) return _fc_status;       \
  } while (0)

#define FC_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(tmp).value()

#define FC_ASSIGN_OR_RETURN(lhs, expr) \
  FC_ASSIGN_OR_RETURN_IMPL(FC_STATUS_CONCAT(_fc_statusor_, __LINE__), lhs, expr)
