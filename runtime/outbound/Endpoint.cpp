#include "outbound/Endpoint.h"

#include <charconv>

#include "outbound/Error.h"

namespace dae::outbound {

namespace ip = boost::asio::ip;

std::optional<ip::address> Endpoint::address() const {
  boost::system::error_code ec;
  auto a = ip::make_address(host, ec);
  if (ec) return std::nullopt;
  return a;
}

std::string Endpoint::hostForUrl() const {
  auto a = address();
  if (a && a->is_v6()) return "[" + host + "]";
  return host;
}

std::string Endpoint::toString() const { return hostForUrl() + ":" + std::to_string(port); }

Endpoint Endpoint::parse(std::string_view text) {
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      fail(Errc::InvalidArgument, "bad endpoint '" + std::string(text) + "': expected [IPv6]:port");
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos)
      fail(Errc::InvalidArgument, "bad endpoint '" + std::string(text) + "': expected host:port");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos)
      fail(Errc::InvalidArgument, "bad endpoint '" + std::string(text) + "': put an IPv6 address in brackets");
  }
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (host.empty() || port.empty() || ec != std::errc() || ptr != port.data() + port.size() || value == 0 ||
      value > 65535)
    fail(Errc::InvalidArgument, "bad endpoint '" + std::string(text) + "': host or port (1-65535) invalid");
  return Endpoint(std::string(host), static_cast<std::uint16_t>(value));
}

namespace {

void appendPort(std::vector<std::uint8_t>& out, std::uint16_t port) {
  out.push_back(static_cast<std::uint8_t>(port >> 8));
  out.push_back(static_cast<std::uint8_t>(port & 0xff));
}

// Writes the address with the given type codes for IPv4, domain and IPv6.
void appendAddress(std::vector<std::uint8_t>& out, const Endpoint& ep, std::uint8_t v4, std::uint8_t domain,
                   std::uint8_t v6) {
  if (auto a = ep.address()) {
    if (a->is_v4()) {
      out.push_back(v4);
      auto b = a->to_v4().to_bytes();
      out.insert(out.end(), b.begin(), b.end());
    } else {
      out.push_back(v6);
      auto b = a->to_v6().to_bytes();
      out.insert(out.end(), b.begin(), b.end());
    }
    return;
  }
  if (ep.host.empty() || ep.host.size() > 255)
    fail(Errc::InvalidArgument, "domain name '" + ep.host + "' must be 1-255 bytes");
  out.push_back(domain);
  out.push_back(static_cast<std::uint8_t>(ep.host.size()));
  out.insert(out.end(), ep.host.begin(), ep.host.end());
}

}  // namespace

void appendSocksAddress(std::vector<std::uint8_t>& out, const Endpoint& ep) {
  appendAddress(out, ep, 1, 3, 4);
  appendPort(out, ep.port);
}

void appendPortThenAddress(std::vector<std::uint8_t>& out, const Endpoint& ep) {
  appendPort(out, ep.port);
  appendAddress(out, ep, 1, 2, 3);
}

std::optional<Endpoint> parseSocksAddress(std::span<const std::uint8_t> data, std::size_t& consumed,
                                          std::size_t* need) {
  auto want = [&](std::size_t n) -> bool {
    if (data.size() >= n) return true;
    if (need) *need = n;
    return false;
  };
  if (!want(1)) return std::nullopt;
  std::size_t addrLen = 0, offset = 1;
  switch (data[0]) {
    case 1: addrLen = 4; break;
    case 4: addrLen = 16; break;
    case 3:
      if (!want(2)) return std::nullopt;
      addrLen = data[1];
      offset = 2;
      if (addrLen == 0) fail(Errc::Protocol, "empty domain name in a SOCKS address");
      break;
    default:
      fail(Errc::Protocol, "unknown SOCKS address type " + std::to_string(data[0]));
  }
  std::size_t total = offset + addrLen + 2;
  if (!want(total)) return std::nullopt;
  Endpoint ep;
  auto addr = data.subspan(offset, addrLen);
  if (data[0] == 1) {
    ip::address_v4::bytes_type b;
    std::copy(addr.begin(), addr.end(), b.begin());
    ep.host = ip::address_v4(b).to_string();
  } else if (data[0] == 4) {
    ip::address_v6::bytes_type b;
    std::copy(addr.begin(), addr.end(), b.begin());
    auto v6 = ip::address_v6(b);
    ep.host = v6.is_v4_mapped() ? ip::make_address_v4(ip::v4_mapped, v6).to_string() : v6.to_string();
  } else {
    ep.host.assign(addr.begin(), addr.end());
  }
  ep.port = static_cast<std::uint16_t>((data[offset + addrLen] << 8) | data[offset + addrLen + 1]);
  consumed = total;
  return ep;
}

}  // namespace dae::outbound
