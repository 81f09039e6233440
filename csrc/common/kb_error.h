// Errors: kernels and launchers throw kb::Error (a std::runtime_error) with file:line;
// every front door turns it into its own exception type (RuntimeError / InvalidArgument).
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace kb {
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// Bad arguments (wrong dtype, shape, ...): front doors map this to ValueError / TypeError.
struct ArgumentError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};
}  // namespace kb

#define KB_THROW(msg)                                                              \
  do {                                                                             \
    std::ostringstream kb_oss_;                                                    \
    kb_oss_ << msg << " (" << __FILE__ << ":" << __LINE__ << ")";                  \
    throw ::kb::Error(kb_oss_.str());                                              \
  } while (0)

#define KB_REQUIRE(cond, msg)                                                      \
  do {                                                                             \
    if (!(cond)) {                                                                 \
      std::ostringstream kb_oss_;                                                  \
      kb_oss_ << msg;                                                              \
      throw ::kb::ArgumentError(kb_oss_.str());                                    \
    }                                                                              \
  } while (0)
