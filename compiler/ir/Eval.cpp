// The reference semantics of the IR. It is written from the language's rules, not
// from the code generator, so that the differential tests compare two independent
// readings of a program.
#include <algorithm>

#include "ir/Ir.h"

namespace dae::ir {

bool isCidrField(Field f) { return f == Field::Dip || f == Field::Sip; }
bool isPortField(Field f) { return f == Field::Dport || f == Field::Sport; }

bool cidrContains(const Cidr& net, const std::array<uint8_t, 16>& addr) {
  for (int bit = 0; bit < net.prefix; bit += 8) {
    int n = std::min(8, net.prefix - bit);
    uint8_t mask = static_cast<uint8_t>(0xff << (8 - n));
    if ((addr[bit / 8] & mask) != (net.addr[bit / 8] & mask)) return false;
  }
  return true;
}

bool cidrCovers(const Cidr& outer, const Cidr& inner) {
  return outer.prefix <= inner.prefix && cidrContains(outer, inner.addr);
}

static bool setMatches(Field field, const Predicate& p, const Packet& pkt) {
  const ValueSet& s = p.set;
  switch (field) {
    case Field::Dip:
    case Field::Sip: {
      const auto& addr = field == Field::Dip ? pkt.dip : pkt.sip;
      return std::any_of(s.cidrs.begin(), s.cidrs.end(), [&](const Cidr& c) { return cidrContains(c, addr); });
    }
    case Field::Dport:
    case Field::Sport: {
      uint16_t port = field == Field::Dport ? pkt.dport : pkt.sport;
      return std::any_of(s.ports.begin(), s.ports.end(), [&](const PortRange& r) { return port >= r.lo && port <= r.hi; });
    }
    case Field::L4proto:
      return (pkt.l4proto == 6 && (s.l4protoMask & 1)) || (pkt.l4proto == 17 && (s.l4protoMask & 2));
    case Field::IpVersion:
      return (pkt.ipversion == 4 && (s.ipversionMask & 1)) || (pkt.ipversion == 6 && (s.ipversionMask & 2));
    case Field::Dscp: return pkt.dscp < 64 && ((s.dscpMask >> pkt.dscp) & 1);
    case Field::Mac: return std::find(s.macs.begin(), s.macs.end(), pkt.mac) != s.macs.end();
    case Field::Pname:
      // Process names are known only for the host's own traffic.
      return pkt.isWan && !pkt.pname.empty() &&
             std::find(s.pnames.begin(), s.pnames.end(), pkt.pname.substr(0, 15)) != s.pnames.end();
    case Field::Domain:
      // Only DNS answers tell the kernel a destination's domain: no answer, no match.
      return p.domainSet >= 0 && static_cast<size_t>(p.domainSet) < pkt.domainBits.size() &&
             pkt.domainBits[p.domainSet];
  }
  return false;
}

bool evalPredicate(const Predicate& p, const Packet& pkt) {
  bool in = setMatches(p.field, p, pkt);
  if (!p.negated) return in;
  // `!mac()` never matches a packet without a source MAC (all zero), as upstream.
  if (p.field == Field::Mac && pkt.mac == Mac{}) return false;
  return !in;
}

Decision evaluate(const Program& program, const Packet& pkt) {
  bool must = false;
  for (size_t i = 0; i < program.rules.size(); ++i) {
    const Rule& r = program.rules[i];
    bool all = std::all_of(r.predicates.begin(), r.predicates.end(), [&](const Predicate& p) { return evalPredicate(p, pkt); });
    if (!all) continue;
    if (r.mustRules) {
      must = true;
      continue;
    }
    return {r.outbound.id, must || r.outbound.must, r.outbound.mark, static_cast<int>(i)};
  }
  const Outbound& f = program.fallback;
  return {f.id, must || f.must, f.mark, -1};
}

}  // namespace dae::ir
