// Group options as the compiler writes them into rules.o (the language's own
// syntax: "30s", "1m30s", "http://host/path,1.2.3.4,2001:db8::1"), parsed into
// the settings of health checks and selection.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/address.hpp>

namespace dae::artifact {
class ConfigData;
class Group;
}  // namespace dae::artifact

namespace dae::group {

// A configuration or usage error of the groups library (unknown group, bad
// filter, no usable node, ...). The message names the group and the cause.
class GroupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The four kinds of traffic a group chooses a node for.
enum class Kind { Tcp4, Tcp6, Udp4, Udp6 };
inline constexpr std::size_t kKinds = 4;
inline constexpr Kind kAllKinds[kKinds] = {Kind::Tcp4, Kind::Tcp6, Kind::Udp4, Kind::Udp6};
inline constexpr std::size_t kindIndex(Kind k) { return static_cast<std::size_t>(k); }
inline constexpr bool isUdp(Kind k) { return k == Kind::Udp4 || k == Kind::Udp6; }
inline constexpr bool isIpv6(Kind k) { return k == Kind::Tcp6 || k == Kind::Udp6; }
std::string_view kindName(Kind k) noexcept;  // "tcp4", ...

// Go-style durations as the compiler prints them: "0", "30s", "1m30s", "50ms",
// "1.5s", "-20ms", "100us". Throws GroupError naming `what`.
std::chrono::nanoseconds parseDuration(std::string_view text, std::string_view what);
// "1.234s", "85ms", "950us": short and readable, for logs and status.
std::string formatLatency(std::chrono::nanoseconds d);
std::string formatLatencyNs(std::int64_t ns);
// Splits "a,b , c" at commas, trimming blanks and dropping empty entries.
std::vector<std::string> splitList(std::string_view text);

// tcp_check_url: the URL, then optional fixed addresses of its host (used
// instead of resolving it; at most one IPv4 and one IPv6 address matter).
struct TcpCheckTarget {
  bool tls = false;
  std::string host;  // as in the URL, without brackets
  std::uint16_t port = 80;
  std::string path = "/";  // path and query
  std::optional<boost::asio::ip::address> ip4, ip6;
  std::string raw;  // the option as written, for messages
};
// udp_check_dns: "host:port" of a DNS server (port 53 if omitted), then
// optional fixed addresses of that host.
struct DnsCheckTarget {
  std::string host;
  std::uint16_t port = 53;
  std::optional<boost::asio::ip::address> ip4, ip6;
  std::string raw;
};

TcpCheckTarget parseTcpCheckUrl(std::string_view text);
DnsCheckTarget parseUdpCheckDns(std::string_view text);

// The effective check settings of one group: the global options overridden by
// the group's own.
struct CheckSettings {
  TcpCheckTarget tcp;
  std::string method = "HEAD";
  DnsCheckTarget dns;
  std::chrono::nanoseconds interval = std::chrono::seconds(30);
  std::chrono::nanoseconds tolerance{0};

  // Same checks (tolerance is a property of the selection, not of the checks).
  bool sameChecks(const CheckSettings& o) const;
};

CheckSettings globalSettings(const artifact::ConfigData& config);
CheckSettings groupSettings(const CheckSettings& global, const artifact::Group& group);

}  // namespace dae::group
