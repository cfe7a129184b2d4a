#include "sema/Values.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>

namespace dae::sema {

Parsed<Duration> parseDuration(std::string_view s) {
  const std::string orig(s);
  auto bad = [&] {
    return "invalid duration '" + orig + "'; expected a number with a unit such as 30s, 500ms or 1m30s";
  };
  if (s.empty()) return bad();
  bool neg = false;
  if (s[0] == '-' || s[0] == '+') {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return Duration{0};
  if (s.empty()) return bad();
  long double total = 0;
  while (!s.empty()) {
    size_t i = 0;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    if (i == 0) return bad();
    std::string num(s.substr(0, i));
    if (std::count(num.begin(), num.end(), '.') > 1 || num == ".") return bad();
    s.remove_prefix(i);
    size_t j = 0;
    while (j < s.size() && !std::isdigit(static_cast<unsigned char>(s[j])) && s[j] != '.') ++j;
    std::string_view unit = s.substr(0, j);
    s.remove_prefix(j);
    long double scale;
    if (unit == "ns") scale = 1;
    else if (unit == "us" || unit == "\xc2\xb5s" || unit == "\xce\xbcs") scale = 1e3;
    else if (unit == "ms") scale = 1e6;
    else if (unit == "s") scale = 1e9;
    else if (unit == "m") scale = 60e9;
    else if (unit == "h") scale = 3600e9;
    else if (unit.empty()) return "invalid duration '" + orig + "': missing unit (ns, us, ms, s, m or h)";
    else return "invalid duration '" + orig + "': unknown unit '" + std::string(unit) + "' (use ns, us, ms, s, m or h)";
    total += std::strtold(num.c_str(), nullptr) * scale;
    if (total > 9.2e18L) return "duration '" + orig + "' is too large";
  }
  int64_t ns = static_cast<int64_t>(std::llround(static_cast<double>(total)));
  return Duration{neg ? -ns : ns};
}

Parsed<bool> parseBool(std::string_view s) {
  if (s == "true" || s == "True" || s == "TRUE" || s == "t" || s == "T" || s == "1") return true;
  if (s == "false" || s == "False" || s == "FALSE" || s == "f" || s == "F" || s == "0") return false;
  return "invalid boolean '" + std::string(s) + "'; expected true or false";
}

Parsed<uint64_t> parseUint(std::string_view s, uint64_t max) {
  std::string orig(s);
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) base = 16, s.remove_prefix(2);
  else if (s.size() > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) base = 8, s.remove_prefix(2);
  else if (s.size() > 2 && s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) base = 2, s.remove_prefix(2);
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (s.empty() || ec == std::errc::invalid_argument || p != s.data() + s.size())
    return "invalid number '" + orig + "'; expected a non-negative integer";
  if (ec == std::errc::result_out_of_range || v > max)
    return "number '" + orig + "' is out of range (at most " + std::to_string(max) + ")";
  return v;
}

Parsed<int64_t> parseInt(std::string_view s, int64_t min, int64_t max) {
  std::string orig(s);
  bool neg = !s.empty() && s[0] == '-';
  if (neg || (!s.empty() && s[0] == '+')) s.remove_prefix(1);
  auto u = parseUint(s, static_cast<uint64_t>(INT64_MAX));
  if (!ok(u)) return "invalid integer '" + orig + "'";
  int64_t v = static_cast<int64_t>(std::get<0>(u));
  if (neg) v = -v;
  if (v < min || v > max)
    return "integer '" + orig + "' is out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]";
  return v;
}

Parsed<uint64_t> parseBandwidth(std::string_view s) {
  std::string orig(s);
  size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  std::string num(s.substr(0, i));
  if (i == 0 || num == "." || std::count(num.begin(), num.end(), '.') > 1)
    return "invalid bandwidth '" + orig + "'; expected e.g. '200 mbps', '1 gbps' or a number of bytes/s";
  long double n = std::strtold(num.c_str(), nullptr);
  std::string unit;
  for (char c : s.substr(i))
    if (c != ' ') unit += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  long double bitsPerSecond;
  if (unit.empty()) bitsPerSecond = n * 8;  // a plain number is bytes per second
  else if (unit == "b" || unit == "bps") bitsPerSecond = n;
  else if (unit == "k" || unit == "kb" || unit == "kbps") bitsPerSecond = n * 1e3;
  else if (unit == "m" || unit == "mb" || unit == "mbps") bitsPerSecond = n * 1e6;
  else if (unit == "g" || unit == "gb" || unit == "gbps") bitsPerSecond = n * 1e9;
  else if (unit == "t" || unit == "tb" || unit == "tbps") bitsPerSecond = n * 1e12;
  else return "invalid bandwidth unit in '" + orig + "'; use b, kb, mb, gb or tb (per second)";
  // Converting a floating value past uint64's range is undefined behaviour.
  if (!(bitsPerSecond / 8 < 18446744073709551616.0L)) return "bandwidth '" + orig + "' is too large";
  return static_cast<uint64_t>(bitsPerSecond / 8);
}

Parsed<Cidr> parseCidr(std::string_view s, bool* hostBits) {
  std::string orig(s);
  std::string addr(s);
  int prefix = -1;
  if (auto slash = addr.find('/'); slash != std::string::npos) {
    auto p = parseUint(std::string_view(addr).substr(slash + 1), 128);
    if (!ok(p)) return "invalid prefix length in '" + orig + "'";
    prefix = static_cast<int>(std::get<0>(p));
    addr.resize(slash);
  }
  Cidr c;
  in_addr a4;
  in6_addr a6;
  if (inet_pton(AF_INET, addr.c_str(), &a4) == 1) {
    if (prefix > 32) return "prefix length of IPv4 network '" + orig + "' is larger than 32";
    c.v4 = true;
    c.addr[10] = c.addr[11] = 0xff;
    std::memcpy(&c.addr[12], &a4, 4);
    c.prefix = static_cast<uint8_t>(96 + (prefix < 0 ? 32 : prefix));
  } else if (inet_pton(AF_INET6, addr.c_str(), &a6) == 1) {
    std::memcpy(c.addr.data(), &a6, 16);
    c.prefix = static_cast<uint8_t>(prefix < 0 ? 128 : prefix);
  } else {
    return "invalid IP address or network '" + orig + "'";
  }
  bool host = false;
  for (int bit = c.prefix; bit < 128; ++bit) {
    uint8_t mask = static_cast<uint8_t>(0x80 >> (bit % 8));
    if (c.addr[bit / 8] & mask) {
      host = true;
      c.addr[bit / 8] &= static_cast<uint8_t>(~mask);
    }
  }
  if (hostBits) *hostBits = host;
  return c;
}

Parsed<PortRange> parsePortRange(std::string_view s) {
  std::string orig(s);
  auto dash = s.find('-');
  auto lo = parseUint(s.substr(0, dash), 65535);
  if (!ok(lo)) return "invalid port '" + orig + "'; expected a port (0-65535) or a range such as 10000-20000";
  PortRange r;
  r.lo = r.hi = static_cast<uint16_t>(std::get<0>(lo));
  if (dash != std::string_view::npos) {
    auto hi = parseUint(s.substr(dash + 1), 65535);
    if (!ok(hi)) return "invalid port range '" + orig + "'; expected a range such as 10000-20000";
    r.hi = static_cast<uint16_t>(std::get<0>(hi));
    if (r.hi < r.lo) return "port range '" + orig + "' is empty: its start is larger than its end";
  }
  return r;
}

Parsed<std::array<uint8_t, 6>> parseMac(std::string_view s) {
  std::array<uint8_t, 6> mac{};
  std::string orig(s);
  auto bad = "invalid MAC address '" + orig + "'; expected six hex bytes such as 02:42:ac:11:00:02";
  if (s.size() != 17) return bad;
  for (int i = 0; i < 6; ++i) {
    if (i > 0 && s[i * 3 - 1] != ':' && s[i * 3 - 1] != '-') return bad;
    unsigned v = 0;
    auto [p, ec] = std::from_chars(s.data() + i * 3, s.data() + i * 3 + 2, v, 16);
    if (ec != std::errc() || p != s.data() + i * 3 + 2) return bad;
    mac[i] = static_cast<uint8_t>(v);
  }
  return mac;
}

std::string checkIpPort(std::string_view s) {
  std::string orig(s);
  auto bad = "invalid address '" + orig + "'; expected ipv4:port or [ipv6]:port";
  std::string host;
  std::string_view port;
  if (!s.empty() && s[0] == '[') {
    auto close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') return bad;
    host = std::string(s.substr(1, close - 1));
    port = s.substr(close + 2);
    in6_addr a6;
    if (inet_pton(AF_INET6, host.c_str(), &a6) != 1) return bad;
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos) return bad;
    host = std::string(s.substr(0, colon));
    port = s.substr(colon + 1);
    in_addr a4;
    if (inet_pton(AF_INET, host.c_str(), &a4) != 1) return bad;
  }
  auto p = parseUint(port, 65535);
  if (!ok(p) || std::get<0>(p) == 0) return bad;
  return {};
}

std::string formatDuration(Duration d) {
  if (d.ns == 0) return "0s";
  std::string out = d.ns < 0 ? "-" : "";
  uint64_t ns = static_cast<uint64_t>(d.ns < 0 ? -d.ns : d.ns);
  if (ns % 1000000000ULL == 0) {
    uint64_t s = ns / 1000000000ULL;
    if (s >= 3600) out += std::to_string(s / 3600) + "h", s %= 3600;
    if (s >= 60) out += std::to_string(s / 60) + "m", s %= 60;
    if (s) out += std::to_string(s) + "s";
    return out;
  }
  if (ns % 1000000ULL == 0) return out + std::to_string(ns / 1000000ULL) + "ms";
  if (ns % 1000ULL == 0) return out + std::to_string(ns / 1000ULL) + "us";
  return out + std::to_string(ns) + "ns";
}

std::string formatCidr(const Cidr& c) {
  char buf[INET6_ADDRSTRLEN];
  if (c.v4) {
    inet_ntop(AF_INET, &c.addr[12], buf, sizeof buf);
    return std::string(buf) + "/" + std::to_string(c.prefix - 96);
  }
  inet_ntop(AF_INET6, c.addr.data(), buf, sizeof buf);
  return std::string(buf) + "/" + std::to_string(c.prefix);
}

}  // namespace dae::sema
