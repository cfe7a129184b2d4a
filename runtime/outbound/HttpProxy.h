// HTTP CONNECT reply parsing (Boost.Beast's parser), exposed for tests and
// fuzzing; the dialer is in HttpProxy.cpp.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace dae::outbound {

struct HttpConnectReply {
  unsigned status = 0;
  std::string reason;
  std::size_t headerLength = 0;  // bytes of the status line and header fields, incl. the empty line
};

// Parses the head of a proxy's answer to CONNECT at the start of data.
// Returns nullopt while the head is incomplete; throws
// OutboundError(Handshake) when it is not HTTP or exceeds 16 KiB.
std::optional<HttpConnectReply> parseHttpConnectReply(std::string_view data);

}  // namespace dae::outbound
