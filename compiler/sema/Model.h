// The typed config model that sema builds from the AST: every value parsed to its
// type, every name resolved. Later stages (IR, codegen, the runtime) read only this.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "frontend/Source.h"

namespace dae::sema {

using frontend::SourceRange;

struct Duration {
  int64_t ns = 0;
  bool operator==(const Duration&) const = default;
};

// One 128-bit address space: IPv4 is stored as ::ffff:a.b.c.d.
struct Cidr {
  std::array<uint8_t, 16> addr{};
  uint8_t prefix = 0;  // in the 128-bit space (an IPv4 /24 is 96+24)
  bool v4 = false;     // written as IPv4
  auto operator<=>(const Cidr&) const = default;
};

struct PortRange {
  uint16_t lo = 0, hi = 0;
  auto operator<=>(const PortRange&) const = default;
};

// A global option's value after type checking.
using OptionValue = std::variant<bool, int64_t, uint64_t, Duration, std::string, std::vector<std::string>>;

struct Option {
  OptionValue value;
  bool explicitlySet = false;
  SourceRange range;
};

// ---- routing -----------------------------------------------------------------

enum class Field : uint8_t { Domain, Dip, Sip, Dport, Sport, L4proto, IpVersion, Mac, Pname, Dscp };
const char* fieldName(Field f);

// One argument of a routing function.
struct Matcher {
  enum class Kind : uint8_t {
    Cidr,          // dip/sip
    GeoIp,         // dip/sip geoip:TAG
    ExtIp,         // dip/sip ext:"file.dat:TAG"
    Port,          // dport/sport, a range (a single port is lo == hi)
    L4proto,       // num = IPPROTO_TCP / IPPROTO_UDP
    IpVersion,     // num = 4 / 6
    Mac,
    Pname,
    Dscp,          // num = 0..63
    DomainSuffix,
    DomainFull,
    DomainKeyword,
    DomainRegex,
    Geosite,       // text = TAG[@attr]
    ExtSite,       // text = file.dat:TAG
  };
  Kind kind;
  std::string text;       // names, domains, tags
  Cidr cidr;
  PortRange port;
  uint8_t num = 0;
  std::array<uint8_t, 6> mac{};
  SourceRange range;
};

// `f(a, b, c)`: true when any argument matches; `!f(...)` negates the whole OR.
struct Condition {
  Field field;
  bool negated = false;
  std::vector<Matcher> args;
  SourceRange range;
};

// Built-in outbounds come first in every program's outbound table.
enum BuiltinOutbound : uint8_t { kOutboundDirect = 0, kOutboundBlock = 1, kFirstGroupOutbound = 2 };

struct OutboundRef {
  std::string name;              // "direct", "block", "must_rules" or a group name
  bool must = false;
  std::optional<uint32_t> mark;
  bool isMustRules = false;      // `-> must_rules`: set must for the following rules, keep matching
  SourceRange range;
};

struct Rule {
  std::vector<Condition> conditions;  // AND-ed; never empty
  OutboundRef outbound;
  SourceRange range;
};

struct Routing {
  std::vector<Rule> rules;
  OutboundRef fallback;  // `direct` when the config has none
  bool fallbackExplicit = false;
};

// ---- nodes, subscriptions, groups ----------------------------------------------

struct Node {
  std::string name;  // the tag, or the name derived from the link
  bool tagged = false;
  std::string link;  // possibly a chain "a -> b"
  SourceRange range;
};

struct Subscription {
  std::string tag;  // may be empty
  std::string link;
  SourceRange range;
};

// A call in a group filter: name(...), subtag(...).
struct FilterArg {
  std::string key;  // "" (exact), "keyword", "regex"
  std::string value;
  SourceRange range;
};
struct FilterCall {
  std::string function;  // "name" or "subtag"
  bool negated = false;
  std::vector<FilterArg> args;
  SourceRange range;
};
struct GroupFilter {
  std::vector<FilterCall> calls;  // AND-ed; several filters of a group are OR-ed
  Duration addLatency;
  SourceRange range;
};

enum class PolicyKind { Random, Fixed, Min, MinAvg10, MinMovingAvg };
const char* policyName(PolicyKind p);

struct Group {
  std::string name;
  std::vector<GroupFilter> filters;  // empty: every node
  PolicyKind policy = PolicyKind::Random;
  uint32_t fixedIndex = 0;
  // Per-group overrides of the global health-check options.
  std::optional<std::vector<std::string>> tcpCheckUrl;
  std::optional<std::string> tcpCheckHttpMethod;
  std::optional<std::vector<std::string>> udpCheckDns;
  std::optional<Duration> checkInterval;
  std::optional<Duration> checkTolerance;
  SourceRange range;
};

// ---- dns ----------------------------------------------------------------------

struct DnsUpstream {
  std::string name;
  std::string scheme;  // udp, tcp, tcp+udp, tls, https, h3, http3, quic
  std::string host;
  uint16_t port = 0;
  std::string path;
  std::string raw;
  SourceRange range;
};

// DNS routing keeps calls generic: the runtime's DNS module interprets them.
struct DnsCall {
  std::string function;  // qname, qtype, upstream, ip, sub, node, subnode
  bool negated = false;
  std::vector<std::pair<std::string, std::string>> args;  // key ("" if none), value
  SourceRange range;
};
struct DnsRule {
  std::vector<DnsCall> conditions;
  std::string outbound;  // an upstream name, or asis / reject / accept
  SourceRange range;
};
struct DnsRouting {
  std::vector<DnsRule> rules;
  std::string fallback;
  bool present = false;
};

struct Dns {
  std::vector<DnsUpstream> upstreams;
  DnsRouting request, response;
  int ipversionPrefer = 0;
  std::vector<std::pair<std::string, uint32_t>> fixedDomainTtl;
  std::string bind;
  bool optimisticCache = true;
  int64_t optimisticCacheTtl = 60;
  int64_t maxCacheSize = 65536;
};

// ---- the whole config -------------------------------------------------------

struct Config {
  std::map<std::string, Option> global;  // every known option, defaults filled in
  std::vector<Subscription> subscriptions;
  std::vector<Node> nodes;
  std::vector<Group> groups;
  Dns dns;
  Routing routing;

  const Option& option(const std::string& name) const { return global.at(name); }
  bool boolOption(const std::string& name) const { return std::get<bool>(option(name).value); }
  uint64_t uintOption(const std::string& name) const { return std::get<uint64_t>(option(name).value); }
  Duration durationOption(const std::string& name) const { return std::get<Duration>(option(name).value); }
  const std::string& stringOption(const std::string& name) const { return std::get<std::string>(option(name).value); }
  const std::vector<std::string>& listOption(const std::string& name) const {
    return std::get<std::vector<std::string>>(option(name).value);
  }
  // Index in the outbound table (0 direct, 1 block, then groups in order), or -1.
  int outboundIndex(const std::string& name) const;
};

}  // namespace dae::sema
