// Recoverable errors as values: a message with its errno, or a value.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace vxt {

struct Error {
  std::string message;
  int err = 0;  // errno, when the failure came from the kernel
  std::string what() const;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)
  explicit operator bool() const { return v_.index() == 0; }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  T* operator->() { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Success, or an error, for steps that have no value to return: `return {};` is success.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT(google-explicit-constructor)
  explicit operator bool() const { return !error_; }
  const Error& error() const { return *error_; }

 private:
  std::optional<Error> error_;
};

// Thrown only for fatal start-up errors; main() prints it as one line.
struct FatalError : std::runtime_error {
  using std::runtime_error::runtime_error;
  explicit FatalError(const Error& e) : std::runtime_error(e.what()) {}
};

Error errno_error(std::string message, int err);

// The value, or the error thrown as a FatalError: for start-up steps without which nothing runs.
template <typename T>
T must(Result<T> r) {
  if (!r) throw FatalError(r.error());
  return std::move(*r);
}

inline void must(const Result<void>& r) {
  if (!r) throw FatalError(r.error());
}

}  // namespace vxt
