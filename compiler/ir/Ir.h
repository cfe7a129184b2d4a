// The rule IR: what the kernel must decide, independent of syntax.
//
// A program is an ordered list of rules and a fallback. A rule is a conjunction of
// predicates; a predicate tests one packet field against a set (the OR of a
// function's arguments) and may be negated. The first rule that matches decides,
// except `must_rules` rules, which only set the must flag and let matching go on.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "frontend/Source.h"
#include "sema/Model.h"

namespace dae::ir {

using sema::Cidr;
using sema::Field;
using sema::PortRange;
using frontend::SourceRange;

using Mac = std::array<uint8_t, 6>;

// A domain() argument. The kernel never sees domains: the runtime resolves them to
// addresses through DNS answers and sets bit `domainSet` of the answer's bitmap.
struct DomainPattern {
  sema::Matcher::Kind kind;  // DomainSuffix, DomainFull, DomainKeyword, DomainRegex, Geosite, ExtSite
  std::string value;
  auto operator<=>(const DomainPattern&) const = default;
};

// The set a predicate tests. Only the member for its field is used.
struct ValueSet {
  std::vector<Cidr> cidrs;              // dip, sip: normalised (sorted, no overlaps)
  std::vector<std::string> geoTags;     // dip/sip geoip:/ext: tags not yet expanded
  std::vector<PortRange> ports;         // dport, sport: sorted, disjoint, non-adjacent
  uint8_t l4protoMask = 0;              // bit 0 tcp, bit 1 udp
  uint8_t ipversionMask = 0;            // bit 0 IPv4, bit 1 IPv6
  uint64_t dscpMask = 0;                // bit n: DSCP n
  std::vector<Mac> macs;                // sorted, unique
  std::vector<std::string> pnames;      // sorted, unique, at most 15 characters
  std::vector<DomainPattern> domains;   // sorted, unique
  bool operator==(const ValueSet&) const = default;
};

struct Predicate {
  Field field;
  bool negated = false;
  ValueSet set;
  int domainSet = -1;  // for Field::Domain: index into Program::domainSets
  SourceRange range;
};

struct Outbound {
  uint8_t id = 0;  // index in Program::outbounds
  bool must = false;
  uint32_t mark = 0;
  bool operator==(const Outbound&) const = default;
};

struct Rule {
  std::vector<Predicate> predicates;  // AND; empty means "always"
  Outbound outbound;
  bool mustRules = false;  // `-> must_rules`
  SourceRange range;       // of the (first) source rule
  std::vector<SourceRange> mergedFrom;  // every source rule folded into this one
  std::string text;        // the rule as written, for messages and --route --verbose
};

struct Program {
  std::vector<std::string> outbounds;  // 0 direct, 1 block, then groups
  std::vector<Rule> rules;
  Outbound fallback;
  std::vector<std::vector<DomainPattern>> domainSets;
};

// Field helpers.
bool isCidrField(Field f);
bool isPortField(Field f);

// The test of one predicate on concrete values, used by the reference evaluator and
// the optimiser's proofs. `Packet` mirrors the kernel's route context.
struct Packet {
  std::array<uint8_t, 16> dip{}, sip{};  // IPv4 as ::ffff:a.b.c.d
  uint16_t dport = 0, sport = 0;
  uint8_t l4proto = 6;
  uint8_t ipversion = 4;
  uint8_t dscp = 0;
  bool isWan = false;
  Mac mac{};
  std::string pname;                      // empty: unknown
  std::vector<bool> domainBits;           // by domain set
};

bool cidrContains(const Cidr& net, const std::array<uint8_t, 16>& addr);
bool cidrCovers(const Cidr& outer, const Cidr& inner);
bool evalPredicate(const Predicate& p, const Packet& pkt);

struct Decision {
  uint8_t outbound = 0;
  bool must = false;
  uint32_t mark = 0;
  int rule = -1;  // index into Program::rules; -1 for the fallback
};
// The reference semantics of a program: first match wins, must_rules accumulates.
Decision evaluate(const Program& program, const Packet& pkt);

}  // namespace dae::ir
