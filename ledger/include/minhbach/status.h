// Status and Result<T>: errors are values in minhbach; exceptions never cross module borders.
//
// Every fallible call returns a Status (or a Result<T> carrying a value or a Status). A Status is made
// by a named factory so the category of failure is explicit, and each category maps to one CLI exit code
// (see docs/cli.md): 0 ok, 1 verification failed / tampered, 2 bad usage or bad input, 3 I/O or internal.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace minhbach {

class [[nodiscard]] Status {
 public:
  enum class Code {
    kOk = 0,
    kInvalidArgument,  // bad input from a user: exit 2
    kNotFound,         // a requested entry/checkpoint does not exist: exit 2
    kCorruption,       // stored or supplied data fails verification: exit 1
    kIOError,          // storage failed (disk full, fsync error, lock held): exit 3
    kInternal,         // a bug or an unexpected library failure: exit 3
  };

  Status() = default;
  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string msg) { return Status(Code::kInvalidArgument, std::move(msg)); }
  static Status NotFound(std::string msg) { return Status(Code::kNotFound, std::move(msg)); }
  static Status Corruption(std::string msg) { return Status(Code::kCorruption, std::move(msg)); }
  static Status IOError(std::string msg) { return Status(Code::kIOError, std::move(msg)); }
  static Status Internal(std::string msg) { return Status(Code::kInternal, std::move(msg)); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  bool IsInvalidArgument() const { return code_ == Code::kInvalidArgument; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsCorruption() const { return code_ == Code::kCorruption; }
  bool IsIOError() const { return code_ == Code::kIOError; }

  // "Corruption: entry 4812: stored hash does not match recomputed"
  std::string ToString() const;
  // The CLI exit code for this status (0, 1, 2 or 3).
  int ExitCode() const;
  // Returns a copy whose message is prefixed with `context + ": "`.
  Status WithContext(const std::string& context) const {
    if (ok()) return *this;
    return Status(code_, context + ": " + message_);
  }

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}                  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {            // NOLINT
    assert(!std::get<Status>(v_).ok() && "Result built from an OK status carries no value");
  }
  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace minhbach

#define MINHBACH_CONCAT_INNER(a, b) a##b
#define MINHBACH_CONCAT(a, b) MINHBACH_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function if `expr` is not OK.
#define MB_RETURN_IF_ERROR(expr)                      \
  do {                                                \
    ::minhbach::Status mb_status_ = (expr);           \
    if (!mb_status_.ok()) return mb_status_;          \
  } while (0)

// `MB_ASSIGN_OR_RETURN(auto x, F())` declares x from a Result, or returns its Status.
#define MB_ASSIGN_OR_RETURN(lhs, expr) \
  MB_ASSIGN_OR_RETURN_IMPL(MINHBACH_CONCAT(mb_result_, __LINE__), lhs, expr)
#define MB_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(tmp).value()
