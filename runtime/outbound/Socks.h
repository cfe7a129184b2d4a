// SOCKS5 (RFC 1928, RFC 1929) and SOCKS4/4a reply parsing, exposed for tests
// and fuzzing; the dialers are in Socks.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "outbound/Endpoint.h"
#include "outbound/Error.h"

namespace dae::outbound {

struct Socks5Reply {
  std::uint8_t code = 0;  // REP: 0 succeeded
  Endpoint bound;         // BND.ADDR / BND.PORT
};

// Parses a SOCKS5 reply at the start of data. Returns nullopt while
// incomplete (then *need is the total length needed so far); throws
// OutboundError(Handshake) on a wrong version or address type.
std::optional<Socks5Reply> parseSocks5Reply(std::span<const std::uint8_t> data, std::size_t& consumed,
                                            std::size_t* need = nullptr);
// Text and error class of a non-zero REP code.
std::string socks5ReplyMessage(std::uint8_t code);
Errc socks5ReplyErrc(std::uint8_t code);

// A SOCKS4 reply is 8 bytes: VN=0, CD (90 granted), port, address. Throws
// OutboundError unless the request was granted.
void checkSocks4Reply(std::span<const std::uint8_t> reply8);

}  // namespace dae::outbound
