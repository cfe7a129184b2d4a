#include "ir/Passes.h"

#include <algorithm>

namespace dae::ir {

// ---- set aggregation -------------------------------------------------------------

static bool isV4Mapped(const Cidr& c) {
  static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return c.prefix >= 96 && std::equal(prefix, prefix + 12, c.addr.begin());
}

std::vector<Cidr> aggregateCidrs(std::vector<Cidr> cidrs) {
  for (auto& c : cidrs) c.v4 = false;  // compare on the 128-bit space only
  std::sort(cidrs.begin(), cidrs.end(), [](const Cidr& a, const Cidr& b) {
    return a.addr != b.addr ? a.addr < b.addr : a.prefix < b.prefix;
  });
  std::vector<Cidr> out;
  for (const Cidr& c : cidrs) {
    if (!out.empty() && cidrCovers(out.back(), c)) continue;
    out.push_back(c);
    // Join siblings: a/p and a+2^(128-p)/p with a aligned at p-1 make a/(p-1).
    while (out.size() >= 2) {
      Cidr& a = out[out.size() - 2];
      const Cidr& b = out.back();
      if (a.prefix != b.prefix || a.prefix == 0) break;
      Cidr parent = a;
      parent.prefix = static_cast<uint8_t>(a.prefix - 1);
      int bit = parent.prefix;
      uint8_t mask = static_cast<uint8_t>(0x80 >> (bit % 8));
      if (a.addr[bit / 8] & mask) break;  // a is the upper half: not a left sibling
      Cidr upper = a;
      upper.addr[bit / 8] |= mask;
      if (upper.addr != b.addr) break;
      out.pop_back();
      out.back() = parent;
    }
  }
  for (auto& c : out) c.v4 = isV4Mapped(c);
  return out;
}

std::vector<PortRange> aggregatePorts(std::vector<PortRange> ports) {
  std::sort(ports.begin(), ports.end());
  std::vector<PortRange> out;
  for (const auto& r : ports) {
    if (!out.empty() && static_cast<uint32_t>(r.lo) <= static_cast<uint32_t>(out.back().hi) + 1) {
      out.back().hi = std::max(out.back().hi, r.hi);
    } else {
      out.push_back(r);
    }
  }
  return out;
}

template <typename T>
static void sortUnique(std::vector<T>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

void aggregateSets(Program& program) {
  for (auto& r : program.rules) {
    for (auto& p : r.predicates) {
      p.set.cidrs = aggregateCidrs(std::move(p.set.cidrs));
      p.set.ports = aggregatePorts(std::move(p.set.ports));
      sortUnique(p.set.geoTags);
      sortUnique(p.set.macs);
      sortUnique(p.set.pnames);
      sortUnique(p.set.domains);
    }
  }
}

// ---- merging neighbours ------------------------------------------------------------

static void unionInto(ValueSet& a, const ValueSet& b) {
  a.cidrs.insert(a.cidrs.end(), b.cidrs.begin(), b.cidrs.end());
  a.cidrs = aggregateCidrs(std::move(a.cidrs));
  a.geoTags.insert(a.geoTags.end(), b.geoTags.begin(), b.geoTags.end());
  sortUnique(a.geoTags);
  a.ports.insert(a.ports.end(), b.ports.begin(), b.ports.end());
  a.ports = aggregatePorts(std::move(a.ports));
  a.l4protoMask |= b.l4protoMask;
  a.ipversionMask |= b.ipversionMask;
  a.dscpMask |= b.dscpMask;
  a.macs.insert(a.macs.end(), b.macs.begin(), b.macs.end());
  sortUnique(a.macs);
  a.pnames.insert(a.pnames.end(), b.pnames.begin(), b.pnames.end());
  sortUnique(a.pnames);
  a.domains.insert(a.domains.end(), b.domains.begin(), b.domains.end());
  sortUnique(a.domains);
}

static bool samePredicate(const Predicate& a, const Predicate& b) {
  return a.field == b.field && a.negated == b.negated && a.set == b.set;
}

// The index of the one predicate in which two rules differ, or -1 when they are not
// mergeable (different outbound, shape, or more than one difference).
static int mergeIndex(const Rule& a, const Rule& b) {
  if (a.mustRules != b.mustRules || (!a.mustRules && !(a.outbound == b.outbound))) return -1;
  if (a.predicates.size() != b.predicates.size()) return -1;
  int diff = -1;
  for (size_t i = 0; i < a.predicates.size(); ++i) {
    const Predicate& p = a.predicates[i];
    const Predicate& q = b.predicates[i];
    if (samePredicate(p, q)) continue;
    if (diff >= 0 || p.field != q.field || p.negated || q.negated) return -1;
    diff = static_cast<int>(i);
  }
  return diff < 0 ? 0 : diff;  // identical rules merge trivially
}

void mergeNeighbours(Program& program) {
  std::vector<Rule> out;
  for (auto& r : program.rules) {
    if (!out.empty() && !r.predicates.empty()) {
      int k = mergeIndex(out.back(), r);
      if (k >= 0) {
        Rule& m = out.back();
        unionInto(m.predicates[k].set, r.predicates[k].set);
        m.mergedFrom.insert(m.mergedFrom.end(), r.mergedFrom.begin(), r.mergedFrom.end());
        m.text += "; " + r.text;
        continue;
      }
    }
    out.push_back(std::move(r));
  }
  program.rules = std::move(out);
  renumberDomainSets(program);
}

void renumberDomainSets(Program& program) {
  program.domainSets.clear();
  for (auto& r : program.rules) {
    for (auto& p : r.predicates) {
      if (p.field != Field::Domain) continue;
      auto it = std::find(program.domainSets.begin(), program.domainSets.end(), p.set.domains);
      if (it == program.domainSets.end()) {
        program.domainSets.push_back(p.set.domains);
        it = program.domainSets.end() - 1;
      }
      p.domainSet = static_cast<int>(it - program.domainSets.begin());
    }
  }
}

// ---- reachability ------------------------------------------------------------------

namespace {

bool isUniverse(const Predicate& p) {
  const ValueSet& s = p.set;
  switch (p.field) {
    case Field::L4proto: return s.l4protoMask == 3;
    case Field::IpVersion: return s.ipversionMask == 3;
    case Field::Dscp: return s.dscpMask == ~0ULL;
    case Field::Dport:
    case Field::Sport: return s.ports.size() == 1 && s.ports[0].lo == 0 && s.ports[0].hi == 65535;
    case Field::Dip:
    case Field::Sip: return std::any_of(s.cidrs.begin(), s.cidrs.end(), [](const Cidr& c) { return c.prefix == 0; });
    default: return false;
  }
}

bool isEmptySet(const Predicate& p) {
  const ValueSet& s = p.set;
  switch (p.field) {
    case Field::L4proto: return s.l4protoMask == 0;
    case Field::IpVersion: return s.ipversionMask == 0;
    case Field::Dscp: return s.dscpMask == 0;
    case Field::Dport:
    case Field::Sport: return s.ports.empty();
    case Field::Dip:
    case Field::Sip: return s.cidrs.empty() && s.geoTags.empty();
    case Field::Mac: return s.macs.empty();
    case Field::Pname: return s.pnames.empty();
    case Field::Domain: return s.domains.empty();
  }
  return false;
}

bool cidrsSubset(const std::vector<Cidr>& inner, const std::vector<Cidr>& outer) {
  return std::all_of(inner.begin(), inner.end(), [&](const Cidr& c) {
    return std::any_of(outer.begin(), outer.end(), [&](const Cidr& o) { return cidrCovers(o, c); });
  });
}

template <typename T>
bool sortedSubset(const std::vector<T>& inner, const std::vector<T>& outer) {
  return std::includes(outer.begin(), outer.end(), inner.begin(), inner.end());
}

// a ⊆ b for the field's sets (both aggregated).
bool subset(Field f, const ValueSet& a, const ValueSet& b) {
  switch (f) {
    case Field::Dip:
    case Field::Sip: return sortedSubset(a.geoTags, b.geoTags) && cidrsSubset(a.cidrs, b.cidrs);
    case Field::Dport:
    case Field::Sport:
      return std::all_of(a.ports.begin(), a.ports.end(), [&](const PortRange& r) {
        return std::any_of(b.ports.begin(), b.ports.end(), [&](const PortRange& o) { return o.lo <= r.lo && r.hi <= o.hi; });
      });
    case Field::L4proto: return (a.l4protoMask & ~b.l4protoMask) == 0;
    case Field::IpVersion: return (a.ipversionMask & ~b.ipversionMask) == 0;
    case Field::Dscp: return (a.dscpMask & ~b.dscpMask) == 0;
    case Field::Mac: return sortedSubset(a.macs, b.macs);
    case Field::Pname: return sortedSubset(a.pnames, b.pnames);
    case Field::Domain: return sortedSubset(a.domains, b.domains);
  }
  return false;
}

// Provably disjoint sets (false when unknown, e.g. with geo tags or domains).
bool disjoint(Field f, const ValueSet& a, const ValueSet& b) {
  switch (f) {
    case Field::Dip:
    case Field::Sip:
      if (!a.geoTags.empty() || !b.geoTags.empty()) return false;
      for (const auto& x : a.cidrs)
        for (const auto& y : b.cidrs)
          if (cidrCovers(x, y) || cidrCovers(y, x)) return false;
      return true;
    case Field::Dport:
    case Field::Sport:
      for (const auto& x : a.ports)
        for (const auto& y : b.ports)
          if (x.lo <= y.hi && y.lo <= x.hi) return false;
      return true;
    case Field::L4proto: return (a.l4protoMask & b.l4protoMask) == 0;
    case Field::IpVersion: return (a.ipversionMask & b.ipversionMask) == 0;
    case Field::Dscp: return (a.dscpMask & b.dscpMask) == 0;
    case Field::Pname: {
      std::vector<std::string> both;
      std::set_intersection(a.pnames.begin(), a.pnames.end(), b.pnames.begin(), b.pnames.end(), std::back_inserter(both));
      return both.empty();
    }
    case Field::Mac: {
      std::vector<Mac> both;
      std::set_intersection(a.macs.begin(), a.macs.end(), b.macs.begin(), b.macs.end(), std::back_inserter(both));
      return both.empty();
    }
    case Field::Domain: return false;
  }
  return false;
}

// Every packet that satisfies q satisfies p.
bool implies(const Predicate& q, const Predicate& p) {
  if (q.field != p.field) return false;
  Field f = p.field;
  if (!q.negated && !p.negated) return subset(f, q.set, p.set);
  if (q.negated && p.negated) return subset(f, p.set, q.set);
  if (!q.negated && p.negated) {
    // q ⇒ ¬p when the sets are disjoint; `!mac()` is false on a zero MAC, which q may allow.
    if (f == Field::Mac && std::find(q.set.macs.begin(), q.set.macs.end(), Mac{}) != q.set.macs.end()) return false;
    return disjoint(f, q.set, p.set);
  }
  return false;
}

// A reason why a rule can never match, or "".
std::string contradiction(const Rule& r) {
  for (size_t i = 0; i < r.predicates.size(); ++i) {
    const Predicate& p = r.predicates[i];
    if (!p.negated && isEmptySet(p)) return std::string(sema::fieldName(p.field)) + "() matches nothing";
    if (p.negated && isUniverse(p)) return std::string("!") + sema::fieldName(p.field) + "() excludes every packet";
    for (size_t j = i + 1; j < r.predicates.size(); ++j) {
      const Predicate& q = r.predicates[j];
      if (p.field == q.field && !p.negated && !q.negated && disjoint(p.field, p.set, q.set))
        return std::string("two ") + sema::fieldName(p.field) + "() conditions have nothing in common";
      if (p.field == q.field && p.negated != q.negated && subset(p.field, p.negated ? q.set : p.set, p.negated ? p.set : q.set))
        return std::string(sema::fieldName(p.field)) + "() and its negation exclude each other";
    }
  }
  // ipversion(4) && dip(only IPv6 networks) and the reverse.
  for (const Predicate& v : r.predicates) {
    if (v.field != Field::IpVersion || v.negated || (v.set.ipversionMask != 1 && v.set.ipversionMask != 2)) continue;
    bool want4 = v.set.ipversionMask == 1;
    for (const Predicate& p : r.predicates) {
      if (!isCidrField(p.field) || p.negated || !p.set.geoTags.empty() || p.set.cidrs.empty()) continue;
      bool any = std::any_of(p.set.cidrs.begin(), p.set.cidrs.end(), [&](const Cidr& c) {
        Cidr mapped{};
        mapped.addr[10] = mapped.addr[11] = 0xff;
        mapped.prefix = 96;
        bool overlapsV4 = cidrCovers(c, mapped) || cidrCovers(mapped, c);
        bool onlyV4 = cidrCovers(mapped, c);
        return want4 ? overlapsV4 : !onlyV4;
      });
      if (!any)
        return std::string("ipversion(") + (want4 ? "4" : "6") + ") and " + sema::fieldName(p.field) +
               "() of the other IP version exclude each other";
    }
  }
  return {};
}

uint32_t fieldMask(const Rule& r) {
  uint32_t m = 0;
  for (const auto& p : r.predicates) m |= 1u << static_cast<int>(p.field);
  return m;
}

}  // namespace

void removeUnreachable(Program& program, frontend::DiagnosticEngine& diags, bool remove) {
  // The proofs below (std::includes, set_intersection, pairwise CIDR covering) need
  // normalised sets: decide on an aggregated copy, so the pass is sound on its own.
  Program norm = program;
  aggregateSets(norm);
  std::vector<bool> dead(norm.rules.size(), false);
  std::vector<uint32_t> masks;
  for (const auto& r : norm.rules) masks.push_back(fieldMask(r));
  for (size_t j = 0; j < norm.rules.size(); ++j) {
    const Rule& rj = norm.rules[j];
    std::string why = contradiction(rj);
    if (!why.empty()) {
      diags.warning(rj.range, "this rule can never match: " + why);
      dead[j] = true;
      continue;
    }
    for (size_t i = 0; i < j; ++i) {
      const Rule& ri = norm.rules[i];
      if (dead[i] || ri.mustRules || (masks[i] & ~masks[j])) continue;
      bool covered = std::all_of(ri.predicates.begin(), ri.predicates.end(), [&](const Predicate& p) {
        return std::any_of(rj.predicates.begin(), rj.predicates.end(), [&](const Predicate& q) { return implies(q, p); });
      });
      if (covered) {
        diags.warning(rj.range, "this rule is shadowed by an earlier rule and can never match");
        diags.note(ri.range, "every packet it would match is already decided by this rule");
        dead[j] = true;
        break;
      }
    }
  }
  if (!remove) return;
  std::vector<Rule> kept;
  for (size_t i = 0; i < program.rules.size(); ++i)
    if (!dead[i]) kept.push_back(std::move(program.rules[i]));
  program.rules = std::move(kept);
  renumberDomainSets(program);
}

void optimize(Program& program, frontend::DiagnosticEngine& diags, int optLevel) {
  if (optLevel <= 0) {
    // Analysis only, on a normalised copy, so that -O0 still warns.
    Program copy = program;
    aggregateSets(copy);
    removeUnreachable(copy, diags, false);
    return;
  }
  aggregateSets(program);
  removeUnreachable(program, diags, true);
  mergeNeighbours(program);
}

}  // namespace dae::ir
