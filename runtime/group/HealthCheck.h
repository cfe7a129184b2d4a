// One health check through one node:
//   TCP: an HTTP request (tcp_check_http_method) for tcp_check_url, sent to a
//        fixed address of its host; latency = from the start of the dial to the
//        response's status line. 200-399 passes; a path ending in
//        generate_NNN must answer exactly NNN (as upstream).
//   UDP: a DNS query (A record of the udp_check_dns host, or of
//        connectivitycheck.gstatic.com when that host is an address) to the
//        DNS server's address; latency = until the reply with our id. Any
//        answer (even REFUSED) proves that the node relays UDP.
// The address family of the target decides the kind (tcp4/tcp6, udp4/udp6).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <utility>  // before Boost.Asio 1.74 headers (std::exchange)
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/context.hpp>

#include "group/Options.h"
#include "outbound/Dialer.h"

namespace dae::group {

struct CheckResult {
  bool ok = false;
  std::chrono::nanoseconds latency{0};
  std::string error;  // why it failed, one line
};

// Never throws for a failed check: the failure is in the result. The dialer's
// own timeouts bound the dial; `timeout` bounds the whole check.
boost::asio::awaitable<CheckResult> checkTcp(std::shared_ptr<outbound::Dialer> node, TcpCheckTarget target,
                                             std::string method, boost::asio::ip::address ip,
                                             std::chrono::milliseconds timeout,
                                             std::shared_ptr<boost::asio::ssl::context> tls);

boost::asio::awaitable<CheckResult> checkUdp(std::shared_ptr<outbound::Dialer> node, DnsCheckTarget target,
                                             boost::asio::ip::address ip, std::chrono::milliseconds timeout);

// DNS wire helpers (exposed for tests).
std::vector<std::uint8_t> buildDnsQuery(const std::string& name, std::uint16_t id);
// True when data is a DNS response (QR set) with this id.
bool isDnsReply(std::span<const std::uint8_t> data, std::uint16_t id);
// "HTTP/1.1 204 No Content" -> 204; -1 when it is not a status line.
int parseStatusLine(const std::string& line);
// Whether `status` passes for `path` (200-399, or generate_NNN exactly).
bool statusPasses(int status, const std::string& path);

}  // namespace dae::group
