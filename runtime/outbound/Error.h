// Typed errors of the outbound layer.
//
// Every failure to reach a node, or a malformed answer from it, is thrown as an
// OutboundError. Its code() says which stage failed; nodeUnhealthy() tells the
// groups code whether the failure counts against the node (a proxy that could
// not reach the *destination* is still a healthy proxy).
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace dae::outbound {

enum class Errc {
  InvalidArgument,    // bad endpoint or option for this dialer
  Resolve,            // name of the proxy server (or direct target) did not resolve
  Connect,            // TCP connect / UDP socket to the proxy server failed
  Timeout,            // a dial phase or a read exceeded its deadline
  Tls,                // TLS handshake or certificate verification failed
  Handshake,          // the proxy answered the handshake with something unexpected
  Auth,               // the proxy rejected our credentials
  Protocol,           // malformed or unauthenticated data after the handshake
  TargetUnreachable,  // the proxy is fine but could not reach the destination
  Blocked,            // the block outbound
  Unsupported,        // e.g. UDP through an HTTP proxy
  Closed,             // the peer closed the connection where data was required
};

// Stable lower-case name of a code ("connect", "tls", ...), for logs.
std::string_view errcName(Errc code) noexcept;

class OutboundError : public std::runtime_error {
 public:
  OutboundError(Errc code, const std::string& message);
  Errc code() const noexcept { return code_; }
  // True when the failure says something about the node itself.
  bool nodeUnhealthy() const noexcept;

 private:
  Errc code_;
};

[[noreturn]] void fail(Errc code, const std::string& message);

}  // namespace dae::outbound
