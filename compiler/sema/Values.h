// Parsers for the value types of the dae language. Each returns the value or an
// error message that says what was expected (the caller adds the location).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "sema/Model.h"

namespace dae::sema {

template <typename T>
using Parsed = std::variant<T, std::string>;  // value or error message

template <typename T>
bool ok(const Parsed<T>& p) { return p.index() == 0; }
template <typename T>
const std::string& message(const Parsed<T>& p) { return std::get<1>(p); }

// Go-style durations as upstream writes them: 30s, 50ms, 1m30s, 1.5h, -500ms, 0.
Parsed<Duration> parseDuration(std::string_view s);
// true/false and the other spellings Go's strconv.ParseBool accepts.
Parsed<bool> parseBool(std::string_view s);
// Decimal, 0x hex, 0o octal or 0b binary, at most `max`.
Parsed<uint64_t> parseUint(std::string_view s, uint64_t max);
Parsed<int64_t> parseInt(std::string_view s, int64_t min, int64_t max);
// '200 mbps', '1 gbps', '100m', 25000000 (bytes per second). Result in bytes/s.
Parsed<uint64_t> parseBandwidth(std::string_view s);
// 10.0.0.0/8, 1.2.3.4, 'fd00::/8', ::1. hostBits is set when bits past the prefix are set.
Parsed<Cidr> parseCidr(std::string_view s, bool* hostBits = nullptr);
// 80 or 10000-20000.
Parsed<PortRange> parsePortRange(std::string_view s);
// 02:42:ac:11:00:02 (also with '-').
Parsed<std::array<uint8_t, 6>> parseMac(std::string_view s);
// ip:port or [ipv6]:port, for resolvers. Returns an error message, empty if valid.
std::string checkIpPort(std::string_view s);

std::string formatDuration(Duration d);
std::string formatCidr(const Cidr& c);

}  // namespace dae::sema
