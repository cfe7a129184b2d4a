// Unit tests for the value parsers of sema/Values.h: every parser returns the value
// or a message, never throws, and rejects what upstream dae rejects.
#include "sema/Values.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>

namespace dae::sema {
namespace {

constexpr int64_t kMs = 1000000;
constexpr int64_t kS = 1000 * kMs;

// Unwraps a value, failing the test with the parser's message if there is none.
template <typename T>
T value(const Parsed<T>& p) {
  if (!ok(p)) {
    ADD_FAILURE() << "unexpected error: " << message(p);
    return T{};
  }
  return std::get<0>(p);
}

template <typename T>
std::string error(const Parsed<T>& p) {
  if (ok(p)) {
    ADD_FAILURE() << "expected an error";
    return {};
  }
  return message(p);
}

// ---- durations --------------------------------------------------------------------

TEST(ParseDuration, SimpleUnits) {
  EXPECT_EQ(value(parseDuration("30s")).ns, 30 * kS);
  EXPECT_EQ(value(parseDuration("50ms")).ns, 50 * kMs);
  EXPECT_EQ(value(parseDuration("7us")).ns, 7000);
  EXPECT_EQ(value(parseDuration("7\xc2\xb5s")).ns, 7000);  // micro sign
  EXPECT_EQ(value(parseDuration("7\xce\xbcs")).ns, 7000);  // Greek mu
  EXPECT_EQ(value(parseDuration("9ns")).ns, 9);
  EXPECT_EQ(value(parseDuration("2m")).ns, 120 * kS);
  EXPECT_EQ(value(parseDuration("3h")).ns, 3 * 3600 * kS);
}

TEST(ParseDuration, Compound) {
  EXPECT_EQ(value(parseDuration("1m30s")).ns, 90 * kS);
  EXPECT_EQ(value(parseDuration("1h2m3s4ms5us6ns")).ns, 3723 * kS + 4 * kMs + 5000 + 6);
}

TEST(ParseDuration, Fractions) {
  EXPECT_EQ(value(parseDuration("1.5h")).ns, 5400 * kS);
  EXPECT_EQ(value(parseDuration("0.1s")).ns, 100 * kMs);
  EXPECT_EQ(value(parseDuration(".5s")).ns, 500 * kMs);
  EXPECT_EQ(value(parseDuration("1.s")).ns, kS);
}

TEST(ParseDuration, Signs) {
  EXPECT_EQ(value(parseDuration("-500ms")).ns, -500 * kMs);
  EXPECT_EQ(value(parseDuration("+2s")).ns, 2 * kS);
  EXPECT_EQ(value(parseDuration("-1m30s")).ns, -90 * kS);
}

TEST(ParseDuration, ZeroNeedsNoUnit) {
  EXPECT_EQ(value(parseDuration("0")).ns, 0);
  EXPECT_EQ(value(parseDuration("-0")).ns, 0);
  EXPECT_EQ(value(parseDuration("0s")).ns, 0);
}

TEST(ParseDuration, MissingUnit) {
  std::string m = error(parseDuration("30"));
  EXPECT_NE(m.find("missing unit"), std::string::npos) << m;
  m = error(parseDuration("1m30"));
  EXPECT_NE(m.find("missing unit"), std::string::npos) << m;
}

TEST(ParseDuration, UnknownUnit) {
  std::string m = error(parseDuration("5x"));
  EXPECT_NE(m.find("unknown unit 'x'"), std::string::npos) << m;
  EXPECT_FALSE(ok(parseDuration("5 s")));  // no spaces inside a duration
  EXPECT_FALSE(ok(parseDuration("1d")));   // Go has no day unit
  EXPECT_FALSE(ok(parseDuration("1e3s")));
}

TEST(ParseDuration, Malformed) {
  for (const char* s : {"", "-", "+", "s", "ms", ".", ".s", "1.2.3s", "--1s", "1s-2s", "abc"})
    EXPECT_FALSE(ok(parseDuration(s))) << "'" << s << "'";
}

TEST(ParseDuration, TooLarge) {
  std::string m = error(parseDuration("3000000h"));
  EXPECT_NE(m.find("too large"), std::string::npos) << m;
  EXPECT_FALSE(ok(parseDuration("99999999999999999999999999999s")));
  // Just below the int64 limit (about 292 years) is still a duration.
  EXPECT_TRUE(ok(parseDuration("2000000h")));
}

TEST(ParseDuration, MessageQuotesInput) {
  std::string m = error(parseDuration("soon"));
  EXPECT_NE(m.find("'soon'"), std::string::npos) << m;
}

TEST(FormatDuration, RoundTrips) {
  EXPECT_EQ(formatDuration(Duration{0}), "0s");
  EXPECT_EQ(formatDuration(Duration{90 * kS}), "1m30s");
  EXPECT_EQ(formatDuration(Duration{3600 * kS}), "1h");
  EXPECT_EQ(formatDuration(Duration{-500 * kMs}), "-500ms");
  EXPECT_EQ(formatDuration(Duration{1500}), "1500ns");
  EXPECT_EQ(formatDuration(Duration{3000}), "3us");
  for (const char* s : {"30s", "1m30s", "50ms", "1h1m1s", "-2s", "7us", "9ns"})
    EXPECT_EQ(formatDuration(value(parseDuration(s))), s);
}

// ---- booleans and integers -----------------------------------------------------------

TEST(ParseBool, GoSpellings) {
  for (const char* s : {"true", "True", "TRUE", "t", "T", "1"}) EXPECT_TRUE(value(parseBool(s))) << s;
  for (const char* s : {"false", "False", "FALSE", "f", "F", "0"}) EXPECT_FALSE(value(parseBool(s))) << s;
}

TEST(ParseBool, Rejects) {
  for (const char* s : {"", "yes", "no", "on", "off", "tRuE", "2", " true"}) EXPECT_FALSE(ok(parseBool(s))) << s;
  EXPECT_NE(error(parseBool("yes")).find("expected true or false"), std::string::npos);
}

TEST(ParseUint, Bases) {
  EXPECT_EQ(value(parseUint("0", 10)), 0u);
  EXPECT_EQ(value(parseUint("12345", 65535)), 12345u);
  EXPECT_EQ(value(parseUint("0x800", UINT32_MAX)), 0x800u);
  EXPECT_EQ(value(parseUint("0XfF", UINT32_MAX)), 0xffu);
  EXPECT_EQ(value(parseUint("0o17", UINT32_MAX)), 017u);
  EXPECT_EQ(value(parseUint("0b101", UINT32_MAX)), 5u);
  EXPECT_EQ(value(parseUint("0xffffffff", UINT32_MAX)), 0xffffffffu);
  EXPECT_EQ(value(parseUint("18446744073709551615", UINT64_MAX)), UINT64_MAX);
}

TEST(ParseUint, InvalidDigits) {
  for (const char* s : {"", "0x", "0xZZ", "0b2", "0o8", "12a", "-1", "+1", " 1", "1 ", "1.0", "0x-1"}) {
    auto p = parseUint(s, UINT64_MAX);
    ASSERT_FALSE(ok(p)) << "'" << s << "'";
    EXPECT_NE(message(p).find("invalid number"), std::string::npos) << message(p);
  }
}

TEST(ParseUint, RangeErrors) {
  std::string m = error(parseUint("65536", 65535));
  EXPECT_NE(m.find("out of range (at most 65535)"), std::string::npos) << m;
  EXPECT_FALSE(ok(parseUint("0x100000000", UINT32_MAX)));
  m = error(parseUint("18446744073709551616", UINT64_MAX));  // 2^64 overflows uint64
  EXPECT_NE(m.find("out of range"), std::string::npos) << m;
  EXPECT_FALSE(ok(parseUint("0x10000000000000000", UINT64_MAX)));
}

TEST(ParseInt, SignsAndRange) {
  EXPECT_EQ(value(parseInt("-5", -10, 10)), -5);
  EXPECT_EQ(value(parseInt("+5", -10, 10)), 5);
  EXPECT_EQ(value(parseInt("0x10", 0, 100)), 16);
  EXPECT_FALSE(ok(parseInt("11", -10, 10)));
  EXPECT_FALSE(ok(parseInt("-11", -10, 10)));
  EXPECT_FALSE(ok(parseInt("--1", -10, 10)));
  EXPECT_FALSE(ok(parseInt("", -10, 10)));
  EXPECT_EQ(value(parseInt("9223372036854775807", INT64_MIN + 1, INT64_MAX)), INT64_MAX);
  EXPECT_EQ(value(parseInt("-9223372036854775807", INT64_MIN + 1, INT64_MAX)), INT64_MIN + 1);
  EXPECT_FALSE(ok(parseInt("9223372036854775808", INT64_MIN + 1, INT64_MAX)));
}

// ---- bandwidth ----------------------------------------------------------------------

TEST(ParseBandwidth, UnitsAreBitsPerSecond) {
  EXPECT_EQ(value(parseBandwidth("200 mbps")), 25000000u);
  EXPECT_EQ(value(parseBandwidth("1 gbps")), 125000000u);
  EXPECT_EQ(value(parseBandwidth("1gbps")), 125000000u);
  EXPECT_EQ(value(parseBandwidth("100m")), 12500000u);
  EXPECT_EQ(value(parseBandwidth("100 Mbps")), 12500000u);
  EXPECT_EQ(value(parseBandwidth("8 kbps")), 1000u);
  EXPECT_EQ(value(parseBandwidth("800 bps")), 100u);
  EXPECT_EQ(value(parseBandwidth("1 tbps")), 125000000000u);
  EXPECT_EQ(value(parseBandwidth("1.5 gbps")), 187500000u);
}

TEST(ParseBandwidth, PlainNumberIsBytesPerSecond) {
  EXPECT_EQ(value(parseBandwidth("25000000")), 25000000u);
  EXPECT_EQ(value(parseBandwidth("0")), 0u);
}

TEST(ParseBandwidth, Rejects) {
  EXPECT_NE(error(parseBandwidth("fast")).find("invalid bandwidth"), std::string::npos);
  EXPECT_NE(error(parseBandwidth("10 xbps")).find("unit"), std::string::npos);
  EXPECT_FALSE(ok(parseBandwidth("")));
  EXPECT_FALSE(ok(parseBandwidth("-1 mbps")));
  EXPECT_FALSE(ok(parseBandwidth(".")));
  EXPECT_FALSE(ok(parseBandwidth(". mbps")));
  EXPECT_FALSE(ok(parseBandwidth("1.2.3 mbps")));
}

TEST(ParseBandwidth, HugeValuesAreErrorsNotOverflow) {
  // Converting an out-of-range floating value to uint64 is undefined behaviour;
  // the parser must refuse such values (UBSan checks this in the sanitizer builds).
  EXPECT_FALSE(ok(parseBandwidth("99999999999999999999999999")));
  EXPECT_FALSE(ok(parseBandwidth("99999999999999999999999999 gbps")));
  EXPECT_FALSE(ok(parseBandwidth(std::string(400, '9'))));
  EXPECT_NE(error(parseBandwidth("1e30")).find("unit"), std::string::npos);
  // The largest plain value still fits.
  EXPECT_EQ(value(parseBandwidth("18446744073709551615")), UINT64_MAX);
  EXPECT_FALSE(ok(parseBandwidth("18446744073709551616")));
}

// ---- CIDRs --------------------------------------------------------------------------

std::array<uint8_t, 16> mapped(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d};
}

TEST(ParseCidr, Ipv4IsMappedInto128BitSpace) {
  Cidr c = value(parseCidr("10.0.0.0/8"));
  EXPECT_TRUE(c.v4);
  EXPECT_EQ(c.prefix, 96 + 8);
  EXPECT_EQ(c.addr, mapped(10, 0, 0, 0));
  EXPECT_EQ(formatCidr(c), "10.0.0.0/8");
}

TEST(ParseCidr, Ipv4HostIsSlash32) {
  Cidr c = value(parseCidr("1.2.3.4"));
  EXPECT_TRUE(c.v4);
  EXPECT_EQ(c.prefix, 128);
  EXPECT_EQ(c.addr, mapped(1, 2, 3, 4));
  EXPECT_EQ(formatCidr(c), "1.2.3.4/32");
  Cidr all = value(parseCidr("0.0.0.0/0"));
  EXPECT_EQ(all.prefix, 96);
  EXPECT_EQ(all.addr, mapped(0, 0, 0, 0));
}

TEST(ParseCidr, Ipv6) {
  Cidr c = value(parseCidr("fd00::/8"));
  EXPECT_FALSE(c.v4);
  EXPECT_EQ(c.prefix, 8);
  EXPECT_EQ(c.addr[0], 0xfd);
  for (int i = 1; i < 16; ++i) EXPECT_EQ(c.addr[i], 0) << i;
  EXPECT_EQ(formatCidr(c), "fd00::/8");

  Cidr lo = value(parseCidr("::1"));
  EXPECT_EQ(lo.prefix, 128);
  EXPECT_EQ(lo.addr[15], 1);
  EXPECT_EQ(formatCidr(lo), "::1/128");
}

TEST(ParseCidr, Ipv4MappedIpv6SharesTheSpaceWithIpv4) {
  // Written as IPv6, the same address lands on the same 128 bits as the IPv4 form.
  Cidr v6 = value(parseCidr("::ffff:1.2.3.4"));
  Cidr v4 = value(parseCidr("1.2.3.4"));
  EXPECT_FALSE(v6.v4);
  EXPECT_EQ(v6.addr, v4.addr);
  EXPECT_EQ(v6.prefix, v4.prefix);
  Cidr net6 = value(parseCidr("::ffff:192.168.0.0/112"));
  Cidr net4 = value(parseCidr("192.168.0.0/16"));
  EXPECT_EQ(net6.addr, net4.addr);
  EXPECT_EQ(net6.prefix, net4.prefix);
}

TEST(ParseCidr, HostBitsAreReportedAndCleared) {
  bool host = false;
  Cidr c = value(parseCidr("10.1.2.3/8", &host));
  EXPECT_TRUE(host);
  EXPECT_EQ(c.addr, mapped(10, 0, 0, 0));
  EXPECT_EQ(formatCidr(c), "10.0.0.0/8");

  host = true;
  value(parseCidr("10.0.0.0/8", &host));
  EXPECT_FALSE(host);

  host = false;
  Cidr c6 = value(parseCidr("fd00::1/64", &host));
  EXPECT_TRUE(host);
  EXPECT_EQ(formatCidr(c6), "fd00::/64");

  host = false;
  Cidr odd = value(parseCidr("192.168.255.255/17", &host));
  EXPECT_TRUE(host);
  EXPECT_EQ(formatCidr(odd), "192.168.128.0/17");
}

TEST(ParseCidr, Rejects) {
  EXPECT_NE(error(parseCidr("1.2.3.4/33")).find("larger than 32"), std::string::npos);
  EXPECT_NE(error(parseCidr("::/129")).find("prefix length"), std::string::npos);
  for (const char* s : {"", "/8", "1.2.3.4/", "1.2.3.4/-1", "1.2.3.4/x", "1.2.3", "256.0.0.0", "1.2.3.4.5",
                        "fd00:::1", "example.com", "1.2.3.4 /8", "10.0.0.0/8/8"})
    EXPECT_FALSE(ok(parseCidr(s))) << "'" << s << "'";
}

TEST(ParseCidr, OrderingIsByAddressThenPrefix) {
  EXPECT_LT(value(parseCidr("1.0.0.0/8")), value(parseCidr("2.0.0.0/8")));
  EXPECT_EQ(value(parseCidr("1.2.3.4/32")), value(parseCidr("1.2.3.4")));
}

// ---- ports, MACs, addresses ------------------------------------------------------------

TEST(ParsePortRange, SingleAndRange) {
  PortRange p = value(parsePortRange("80"));
  EXPECT_EQ(p.lo, 80);
  EXPECT_EQ(p.hi, 80);
  p = value(parsePortRange("10000-20000"));
  EXPECT_EQ(p.lo, 10000);
  EXPECT_EQ(p.hi, 20000);
  p = value(parsePortRange("0-65535"));
  EXPECT_EQ(p.lo, 0);
  EXPECT_EQ(p.hi, 65535);
  p = value(parsePortRange("443-443"));
  EXPECT_EQ(p.lo, 443);
  EXPECT_EQ(p.hi, 443);
}

TEST(ParsePortRange, ReversedRangeIsAnError) {
  std::string m = error(parsePortRange("20000-10000"));
  EXPECT_NE(m.find("empty"), std::string::npos) << m;
  EXPECT_NE(m.find("20000-10000"), std::string::npos) << m;
}

TEST(ParsePortRange, Rejects) {
  for (const char* s : {"", "-", "65536", "80-", "-80", "80-65536", "1-2-3", "http", "80 - 90", "80,90"})
    EXPECT_FALSE(ok(parsePortRange(s))) << "'" << s << "'";
}

TEST(ParseMac, ColonsAndDashes) {
  std::array<uint8_t, 6> want{0x02, 0x42, 0xac, 0x11, 0x00, 0x02};
  EXPECT_EQ(value(parseMac("02:42:ac:11:00:02")), want);
  EXPECT_EQ(value(parseMac("02-42-AC-11-00-02")), want);
  std::array<uint8_t, 6> ff{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  EXPECT_EQ(value(parseMac("ff:ff:ff:ff:ff:ff")), ff);
}

TEST(ParseMac, Rejects) {
  for (const char* s : {"", "02:42:ac:11:00", "02:42:ac:11:00:02:03", "02:42:ac:11:00:0g", "0242.ac11.0002",
                        "02:42:ac:11:00:+2", "02 42 ac 11 00 02", "2:42:ac:11:00:002", "02:42:ac:11:00:2"})
    EXPECT_FALSE(ok(parseMac(s))) << "'" << s << "'";
}

TEST(CheckIpPort, Valid) {
  EXPECT_EQ(checkIpPort("8.8.8.8:53"), "");
  EXPECT_EQ(checkIpPort("[2001:4860:4860::8888]:53"), "");
  EXPECT_EQ(checkIpPort("127.0.0.1:65535"), "");
}

TEST(CheckIpPort, Invalid) {
  for (const char* s : {"", "8.8.8.8", "8.8.8.8:", "8.8.8.8:0", "8.8.8.8:65536", "dns.google:53", "2001::1:53",
                        "[2001::1]", "[2001::1]53", "[1.2.3.4]:53", "[::1:53"})
    EXPECT_NE(checkIpPort(s), "") << "'" << s << "'";
}

}  // namespace
}  // namespace dae::sema
