// Endpoint (host + port) and the address encodings the proxy protocols use.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/address.hpp>

namespace dae::outbound {

struct Endpoint {
  std::string host;  // IPv4/IPv6 literal (no brackets) or a domain name
  std::uint16_t port = 0;

  Endpoint() = default;
  Endpoint(std::string h, std::uint16_t p) : host(std::move(h)), port(p) {}

  // The address if host is an IP literal.
  std::optional<boost::asio::ip::address> address() const;
  bool isIp() const { return address().has_value(); }
  // "1.2.3.4:80", "[fd00::1]:80", "example.com:443"
  std::string toString() const;
  // Host as it goes into a URL authority or Host header: IPv6 in brackets.
  std::string hostForUrl() const;

  // Parses "host:port", "[v6]:port"; throws OutboundError(InvalidArgument).
  static Endpoint parse(std::string_view text);

  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

// SOCKS5 address (RFC 1928; also Shadowsocks and Trojan):
// ATYP(1: IPv4, 3: domain, 4: IPv6) ADDR PORT(big endian).
void appendSocksAddress(std::vector<std::uint8_t>& out, const Endpoint& ep);
// Parses a SOCKS5 address at the start of data. Returns nullopt when more
// bytes are needed (then *need, if given, is the total length required so
// far); throws OutboundError(Protocol) on an unknown address type.
std::optional<Endpoint> parseSocksAddress(std::span<const std::uint8_t> data, std::size_t& consumed,
                                          std::size_t* need = nullptr);

// VMess / VLESS address: PORT(big endian) ATYP(1: IPv4, 2: domain, 3: IPv6) ADDR.
void appendPortThenAddress(std::vector<std::uint8_t>& out, const Endpoint& ep);

}  // namespace dae::outbound
