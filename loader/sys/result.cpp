#include "sys/result.hpp"

#include <cstring>

namespace vxt {

std::string Error::what() const {
  if (err == 0) return message;
  return message + ": " + std::strerror(err);
}

Error errno_error(std::string message, int err) {
  return Error{std::move(message), err < 0 ? -err : err};
}

}  // namespace vxt
