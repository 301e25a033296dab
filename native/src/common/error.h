// Errors inside the runtime are exceptions carrying a C ABI status; the C ABI
// turns them into a status code and a thread-local message.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

#include "fasternet.h"

namespace fasternet {

class Error : public std::runtime_error {
public:
    Error(fasternet_status status, const std::string& message) : std::runtime_error(message), status_(status) {}
    fasternet_status status() const { return status_; }

private:
    fasternet_status status_;
};

// Builds a message from streamable parts: Fail(FASTERNET_INVALID_ARGUMENT, "depth ", i, " is ", d).
template <typename... Parts>
[[noreturn]] void Fail(fasternet_status status, const Parts&... parts) {
    std::ostringstream message;
    (message << ... << parts);
    throw Error(status, message.str());
}

}  // namespace fasternet
