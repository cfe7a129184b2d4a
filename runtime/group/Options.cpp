#include "group/Options.h"

#include <cmath>
#include <cstdio>

#include <spdlog/spdlog.h>

#include "artifact.pb.h"

namespace dae::group {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Strips matching quotes the language may have kept around a value.
std::string unquote(std::string_view s) {
  s = trim(s);
  if (s.size() >= 2 && (s.front() == '\'' || s.front() == '"') && s.back() == s.front()) s = s.substr(1, s.size() - 2);
  return std::string(s);
}

std::optional<boost::asio::ip::address> parseIp(std::string_view text) {
  std::string s(text);
  if (s.size() > 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(s, ec);
  if (ec) return std::nullopt;
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return boost::asio::ip::address(a.to_v6().to_v4());
  return a;
}

// The fixed addresses after the first entry: the first IPv4 and the first IPv6.
template <typename Target>
void fixedAddresses(Target& t, const std::vector<std::string>& entries, std::string_view option) {
  for (std::size_t i = 1; i < entries.size(); ++i) {
    auto ip = parseIp(entries[i]);
    if (!ip) {
      spdlog::warn("{}: '{}' is not an IP address; ignored (entries after the first must be addresses of its host)",
                   option, entries[i]);
      continue;
    }
    auto& slot = ip->is_v4() ? t.ip4 : t.ip6;
    if (!slot) slot = *ip;
  }
}

std::uint16_t parsePort(std::string_view text, std::string_view what) {
  unsigned v = 0;
  if (text.empty() || text.size() > 5) throw GroupError(std::string(what) + ": bad port '" + std::string(text) + "'");
  for (char c : text) {
    if (c < '0' || c > '9') throw GroupError(std::string(what) + ": bad port '" + std::string(text) + "'");
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v == 0 || v > 65535) throw GroupError(std::string(what) + ": port out of range '" + std::string(text) + "'");
  return static_cast<std::uint16_t>(v);
}

// "host", "host:port", "[v6]", "[v6]:port", "v6" -> host (no brackets), port.
std::pair<std::string, std::optional<std::uint16_t>> splitHostPort(std::string_view s, std::string_view what) {
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string_view::npos) throw GroupError(std::string(what) + ": unclosed '[' in '" + std::string(s) + "'");
    std::string host(s.substr(1, close - 1));
    auto rest = s.substr(close + 1);
    if (rest.empty()) return {host, std::nullopt};
    if (rest.front() != ':') throw GroupError(std::string(what) + ": unexpected text after ']' in '" + std::string(s) + "'");
    return {host, parsePort(rest.substr(1), what)};
  }
  auto colon = s.rfind(':');
  if (colon != std::string_view::npos && s.find(':') == colon)
    return {std::string(s.substr(0, colon)), parsePort(s.substr(colon + 1), what)};
  return {std::string(s), std::nullopt};  // no port, or a bare IPv6 literal
}

}  // namespace

std::string_view kindName(Kind k) noexcept {
  switch (k) {
    case Kind::Tcp4: return "tcp4";
    case Kind::Tcp6: return "tcp6";
    case Kind::Udp4: return "udp4";
    case Kind::Udp6: return "udp6";
  }
  return "?";
}

std::chrono::nanoseconds parseDuration(std::string_view text, std::string_view what) {
  std::string_view s = trim(text);
  auto bad = [&](const std::string& why) {
    return GroupError(std::string(what) + ": invalid duration '" + std::string(text) + "': " + why);
  };
  if (s.empty()) throw bad("empty");
  bool negative = false;
  if (s.front() == '-' || s.front() == '+') {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return std::chrono::nanoseconds(0);
  long double total = 0;
  while (!s.empty()) {
    std::size_t i = 0;
    while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
    if (i == 0) throw bad("expected a number");
    std::string num(s.substr(0, i));
    s.remove_prefix(i);
    std::size_t j = 0;
    while (j < s.size() && !((s[j] >= '0' && s[j] <= '9') || s[j] == '.')) ++j;
    std::string_view unit = s.substr(0, j);
    s.remove_prefix(j);
    long double scale = 0;
    if (unit == "ns") scale = 1;
    else if (unit == "us" || unit == "\xC2\xB5s") scale = 1e3L;
    else if (unit == "ms") scale = 1e6L;
    else if (unit == "s") scale = 1e9L;
    else if (unit == "m") scale = 60e9L;
    else if (unit == "h") scale = 3600e9L;
    else if (unit == "d") scale = 86400e9L;
    else throw bad(unit.empty() ? "missing unit (ns, us, ms, s, m, h)" : "unknown unit '" + std::string(unit) + "'");
    char* end = nullptr;
    long double v = std::strtold(num.c_str(), &end);
    if (end != num.c_str() + num.size()) throw bad("bad number '" + num + "'");
    total += v * scale;
  }
  if (total > 9.2e18L) throw bad("too large");
  auto ns = static_cast<std::int64_t>(std::llround(static_cast<double>(total)));
  return std::chrono::nanoseconds(negative ? -ns : ns);
}

std::string formatLatencyNs(std::int64_t ns) {
  char buf[48];
  const char* sign = ns < 0 ? "-" : "";
  double a = std::fabs(static_cast<double>(ns));
  if (a >= 1e9) std::snprintf(buf, sizeof buf, "%s%.3gs", sign, a / 1e9);
  else if (a >= 1e6) std::snprintf(buf, sizeof buf, "%s%.3gms", sign, a / 1e6);
  else if (a >= 1e3) std::snprintf(buf, sizeof buf, "%s%.3gus", sign, a / 1e3);
  else std::snprintf(buf, sizeof buf, "%s%.0fns", sign, a);
  return buf;
}

std::string formatLatency(std::chrono::nanoseconds d) { return formatLatencyNs(d.count()); }

std::vector<std::string> splitList(std::string_view text) {
  std::vector<std::string> out;
  while (true) {
    auto comma = text.find(',');
    std::string item = unquote(text.substr(0, comma));
    if (!item.empty()) out.push_back(std::move(item));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

TcpCheckTarget parseTcpCheckUrl(std::string_view text) {
  static constexpr std::string_view what = "tcp_check_url";
  TcpCheckTarget t;
  t.raw = std::string(text);
  auto entries = splitList(text);
  if (entries.empty()) throw GroupError("tcp_check_url is empty; expected e.g. 'http://cp.cloudflare.com,1.1.1.1'");
  std::string_view url = entries[0];
  if (url.rfind("http://", 0) == 0) {
    url.remove_prefix(7);
  } else if (url.rfind("https://", 0) == 0) {
    url.remove_prefix(8);
    t.tls = true;
    t.port = 443;
  } else {
    throw GroupError("tcp_check_url: '" + entries[0] + "' is not an http:// or https:// URL");
  }
  auto slash = url.find_first_of("/?#");
  std::string_view authority = url.substr(0, slash);
  if (slash != std::string_view::npos) {
    std::string_view rest = url.substr(slash);
    if (auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
    t.path = rest.empty() || rest.front() != '/' ? "/" + std::string(rest) : std::string(rest);
  }
  if (auto at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
  auto [host, port] = splitHostPort(authority, what);
  if (host.empty()) throw GroupError("tcp_check_url: no host in '" + entries[0] + "'");
  t.host = host;
  if (port) t.port = *port;
  if (auto ip = parseIp(host)) (ip->is_v4() ? t.ip4 : t.ip6) = *ip;
  fixedAddresses(t, entries, what);
  return t;
}

DnsCheckTarget parseUdpCheckDns(std::string_view text) {
  static constexpr std::string_view what = "udp_check_dns";
  DnsCheckTarget t;
  t.raw = std::string(text);
  auto entries = splitList(text);
  if (entries.empty()) throw GroupError("udp_check_dns is empty; expected e.g. 'dns.google:53,8.8.8.8'");
  auto [host, port] = splitHostPort(entries[0], what);
  if (host.empty()) throw GroupError("udp_check_dns: no host in '" + entries[0] + "'");
  t.host = host;
  if (port) t.port = *port;
  if (auto ip = parseIp(host)) (ip->is_v4() ? t.ip4 : t.ip6) = *ip;
  fixedAddresses(t, entries, what);
  return t;
}

bool CheckSettings::sameChecks(const CheckSettings& o) const {
  return tcp.raw == o.tcp.raw && method == o.method && dns.raw == o.dns.raw && interval == o.interval;
}

namespace {

void apply(CheckSettings& s, const std::string& key, const std::string& value, const std::string& where) {
  try {
    if (key == "tcp_check_url") s.tcp = parseTcpCheckUrl(value);
    else if (key == "udp_check_dns") s.dns = parseUdpCheckDns(value);
    else if (key == "tcp_check_http_method") s.method = unquote(value);
    else if (key == "check_interval") s.interval = parseDuration(value, key);
    else if (key == "check_tolerance") s.tolerance = parseDuration(value, key);
  } catch (const GroupError& e) {
    throw GroupError(where + ": " + e.what());
  }
}

}  // namespace

CheckSettings globalSettings(const artifact::ConfigData& config) {
  CheckSettings s;
  s.tcp = parseTcpCheckUrl("http://cp.cloudflare.com,1.1.1.1,2606:4700:4700::1111");
  s.dns = parseUdpCheckDns("dns.google:53,8.8.8.8,2001:4860:4860::8888");
  for (const auto& kv : config.global()) apply(s, kv.key(), kv.value(), "global option " + kv.key());
  if (s.interval <= std::chrono::nanoseconds(0)) throw GroupError("global option check_interval must be positive");
  return s;
}

CheckSettings groupSettings(const CheckSettings& global, const artifact::Group& group) {
  CheckSettings s = global;
  for (const auto& kv : group.options())
    apply(s, kv.key(), kv.value(), "group '" + group.name() + "' option " + kv.key());
  if (s.interval <= std::chrono::nanoseconds(0))
    throw GroupError("group '" + group.name() + "': check_interval must be positive");
  return s;
}

}  // namespace dae::group
