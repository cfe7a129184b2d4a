#include "outbound/Error.h"

namespace dae::outbound {

std::string_view errcName(Errc code) noexcept {
  switch (code) {
    case Errc::InvalidArgument: return "invalid-argument";
    case Errc::Resolve: return "resolve";
    case Errc::Connect: return "connect";
    case Errc::Timeout: return "timeout";
    case Errc::Tls: return "tls";
    case Errc::Handshake: return "handshake";
    case Errc::Auth: return "auth";
    case Errc::Protocol: return "protocol";
    case Errc::TargetUnreachable: return "target-unreachable";
    case Errc::Blocked: return "blocked";
    case Errc::Unsupported: return "unsupported";
    case Errc::Closed: return "closed";
  }
  return "unknown";
}

OutboundError::OutboundError(Errc code, const std::string& message)
    : std::runtime_error(message), code_(code) {}

bool OutboundError::nodeUnhealthy() const noexcept {
  switch (code_) {
    case Errc::TargetUnreachable:
    case Errc::Blocked:
    case Errc::Unsupported:
    case Errc::InvalidArgument:
      return false;
    default:
      return true;
  }
}

void fail(Errc code, const std::string& message) { throw OutboundError(code, message); }

}  // namespace dae::outbound
