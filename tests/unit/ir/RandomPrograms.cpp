#include "RandomPrograms.h"

#include <algorithm>
#include <stdexcept>

#include "ir/Passes.h"
#include "sema/Values.h"

namespace dae::test {

using ir::Field;
using ir::Mac;
using K = sema::Matcher::Kind;

namespace {

const char* const kCidrPool[] = {
    // IPv4: nested, siblings (10.0/9 + 10.128/9, 10.1.2/24 + 10.1.3/24, 192.168.0/24 + .1/24),
    // a host and its neighbour, everything.
    "10.0.0.0/8", "10.0.0.0/9", "10.128.0.0/9", "10.1.0.0/16", "10.1.2.0/24", "10.1.3.0/24", "10.1.2.128/25",
    "192.168.0.0/24", "192.168.1.0/24", "192.168.0.0/23", "0.0.0.0/0", "1.2.3.4/32", "1.2.3.5/32", "172.16.0.0/12",
    "11.0.0.0/8",
    // IPv6, including networks written in IPv6 that hold IPv4 (::ffff:...), and the
    // neighbour of the IPv4 space.
    "::/0", "fd00::/8", "fc00::/7", "fc00::/8", "2001:db8::/32", "2001:db8:1::/48", "2001:db8::/33",
    "2001:db8:8000::/33", "::ffff:10.0.0.0/104", "::ffff:0:0/96", "::1/128", "::/1", "8000::/1", "::fffe:0:0/96",
    "2001:db8::1/128"};

const PortRange kPortPool[] = {{80, 80},     {443, 443},   {53, 53},     {0, 0},       {65535, 65535},
                               {1, 1023},    {80, 90},     {91, 100},    {1000, 2000}, {0, 65535},
                               {8080, 8090}, {65000, 65535}, {0, 10},    {81, 81},     {79, 79}};

const Mac kMacPool[] = {{0, 0, 0, 0, 0, 0},
                        {0x02, 0, 0, 0, 0, 0x01},
                        {0x02, 0, 0, 0, 0, 0x02},
                        {0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff},
                        {0x02, 0x42, 0xac, 0x11, 0x00, 0x02}};

// Names as sema keeps them (at most 15 characters).
const char* const kPnamePool[] = {"curl", "wget", "NetworkManager", "a", "dnsmasq", "systemd-resolve"};
// Names a packet may carry: unknown (""), others, and one longer than a comm
// whose first 15 characters are a pool name.
const char* const kPacketPnames[] = {"", "curl", "wget", "NetworkManager", "a", "dnsmasq", "systemd-resolve",
                                     "systemd-resolved", "other", "curl2"};

const int kDscpPool[] = {0, 1, 4, 10, 46, 62, 63};

template <typename T, size_t N>
const T& pick(std::mt19937_64& rng, const T (&pool)[N]) {
  return pool[std::uniform_int_distribution<size_t>(0, N - 1)(rng)];
}

// 128-bit arithmetic on addresses.
std::array<uint8_t, 16> addOne(std::array<uint8_t, 16> a, int delta) {
  for (int i = 15; i >= 0; --i) {
    int v = a[i] + delta;
    a[i] = static_cast<uint8_t>(v & 0xff);
    if (v >= 0 && v <= 0xff) break;
  }
  return a;
}

std::array<uint8_t, 16> lastOf(const Cidr& c) {
  auto a = c.addr;
  for (int bit = c.prefix; bit < 128; ++bit) a[bit / 8] |= static_cast<uint8_t>(0x80 >> (bit % 8));
  return a;
}

std::array<uint8_t, 16> firstOf(const Cidr& c) {
  auto a = c.addr;
  for (int bit = c.prefix; bit < 128; ++bit) a[bit / 8] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
  return a;
}

}  // namespace

const std::vector<ir::DomainPattern>& domainPool() {
  static const std::vector<ir::DomainPattern> pool = {
      {K::DomainSuffix, "a.com"}, {K::DomainSuffix, "b.com"}, {K::DomainFull, "x.a.com"},
      {K::DomainKeyword, "foo"},  {K::Geosite, "cn"},         {K::DomainRegex, "^x"}};
  return pool;
}

Cidr cidr(const char* text) {
  auto r = sema::parseCidr(text);
  if (!sema::ok(r)) throw std::invalid_argument(sema::message(r));
  return std::get<Cidr>(r);
}

bool isV4Mapped(const std::array<uint8_t, 16>& a) {
  for (int i = 0; i < 10; ++i)
    if (a[i]) return false;
  return a[10] == 0xff && a[11] == 0xff;
}

ir::Packet bitsFor(const ir::Program& program, const TestPacket& t) {
  ir::Packet p = t.pkt;
  p.domainBits.assign(program.domainSets.size(), false);
  for (size_t i = 0; i < program.domainSets.size(); ++i)
    for (const auto& d : program.domainSets[i])
      if (t.domains.count(d)) p.domainBits[i] = true;
  return p;
}

ir::Decision eval(const ir::Program& program, const TestPacket& t) { return ir::evaluate(program, bitsFor(program, t)); }

std::vector<int> reachedMatches(const ir::Program& program, const TestPacket& t) {
  ir::Packet p = bitsFor(program, t);
  std::vector<int> out;
  for (size_t i = 0; i < program.rules.size(); ++i) {
    const auto& r = program.rules[i];
    if (!std::all_of(r.predicates.begin(), r.predicates.end(), [&](const ir::Predicate& q) { return ir::evalPredicate(q, p); }))
      continue;
    out.push_back(static_cast<int>(i));
    if (!r.mustRules) break;
  }
  return out;
}

void numberRules(ir::Program& program) {
  for (size_t i = 0; i < program.rules.size(); ++i) {
    auto& r = program.rules[i];
    r.range = {1, static_cast<uint32_t>(i + 1), 1, 1};
    r.mergedFrom = {r.range};
    r.text = "rule " + std::to_string(i);
    for (auto& p : r.predicates) p.range = r.range;
  }
}

// ---- programs --------------------------------------------------------------------

Cidr Generator::randomCidr() {
  if (chance(0.6)) return cidr(pick(rng_, kCidrPool));
  Cidr c;
  if (chance(0.5)) {
    // Inside 10.0.0.0/8 so that it overlaps the pool.
    c = cidr("10.0.0.0/8");
    for (int i = 13; i < 16; ++i) c.addr[i] = static_cast<uint8_t>(uniform(0, 255));
    c.addr[13] = static_cast<uint8_t>(uniform(0, 3));
    c.prefix = static_cast<uint8_t>(96 + uniform(8, 32));
    c.v4 = true;
  } else {
    c = cidr("2001:db8::/32");
    for (int i = 4; i < 16; ++i) c.addr[i] = static_cast<uint8_t>(uniform(0, 255));
    c.addr[4] = static_cast<uint8_t>(uniform(0, 1) * 0x80);
    c.prefix = static_cast<uint8_t>(uniform(32, 128));
  }
  c.addr = firstOf(c);
  return c;
}

PortRange Generator::randomPorts() {
  if (chance(0.6)) return pick(rng_, kPortPool);
  int lo = chance(0.5) ? uniform(0, 200) : uniform(0, 65535);
  int hi = chance(0.5) ? lo : std::min(65535, lo + uniform(0, 300));
  return {static_cast<uint16_t>(lo), static_cast<uint16_t>(hi)};
}

ir::ValueSet Generator::valueSet(Field f) {
  ir::ValueSet s;
  // Mostly small sets, sometimes large ones (which the back end turns into maps).
  int n = chance(0.1) ? uniform(9, 14) : uniform(1, 4);
  for (int i = 0; i < n; ++i) {
    switch (f) {
      case Field::Dip:
      case Field::Sip: s.cidrs.push_back(randomCidr()); break;
      case Field::Dport:
      case Field::Sport: s.ports.push_back(randomPorts()); break;
      case Field::L4proto: s.l4protoMask |= static_cast<uint8_t>(uniform(1, 2)); break;
      case Field::IpVersion: s.ipversionMask |= static_cast<uint8_t>(uniform(1, 2)); break;
      case Field::Dscp: s.dscpMask |= 1ULL << (chance(0.7) ? pick(rng_, kDscpPool) : uniform(0, 63)); break;
      case Field::Mac: {
        Mac m = pick(rng_, kMacPool);
        if (chance(0.2)) m[5] = static_cast<uint8_t>(uniform(0, 255));
        s.macs.push_back(m);
        break;
      }
      case Field::Pname: s.pnames.push_back(pick(rng_, kPnamePool)); break;
      case Field::Domain: s.domains.push_back(domainPool()[uniform(0, static_cast<int>(domainPool().size()) - 1)]); break;
    }
  }
  // Lowering leaves the domain list sorted and unique (it is the key of a domain set).
  std::sort(s.domains.begin(), s.domains.end());
  s.domains.erase(std::unique(s.domains.begin(), s.domains.end()), s.domains.end());
  return s;
}

ir::Predicate Generator::predicate(Field f, bool negated) {
  ir::Predicate p;
  p.field = f;
  p.negated = negated;
  p.set = valueSet(f);
  return p;
}

ir::Outbound Generator::outbound() {
  ir::Outbound o;
  o.id = static_cast<uint8_t>(uniform(0, 3));
  o.must = chance(0.2);
  static const uint32_t marks[] = {0, 0, 0, 0x800, 1};
  o.mark = pick(rng_, marks);
  return o;
}

ir::Program Generator::program(const ProgramOptions& options) {
  ir::Program prog;
  prog.outbounds = {"direct", "block", "g1", "g2"};
  int n = uniform(options.minRules, options.maxRules);
  for (int i = 0; i < n; ++i) {
    ir::Rule r;
    double kind = std::uniform_real_distribution<double>(0, 1)(rng_);
    if (!prog.rules.empty() && kind < 0.30) {
      // A neighbour of the previous rule that differs in one set: merge candidate.
      r = prog.rules.back();
      auto& p = r.predicates[uniform(0, static_cast<int>(r.predicates.size()) - 1)];
      p.set = valueSet(p.field);
      if (chance(0.1)) r.outbound = outbound();
    } else if (!prog.rules.empty() && kind < 0.42) {
      // A copy or a narrowing of an earlier rule: shadow candidate.
      r = prog.rules[uniform(0, static_cast<int>(prog.rules.size()) - 1)];
      if (chance(0.5)) r.predicates.push_back(predicate(static_cast<Field>(uniform(0, 9)), chance(options.negatedChance)));
      if (chance(0.5)) {
        // Narrow one positive CIDR / port set to one of its members.
        for (auto& p : r.predicates) {
          if (p.negated) continue;
          if (!p.set.cidrs.empty()) p.set.cidrs.resize(1);
          if (!p.set.ports.empty()) p.set.ports.resize(1);
        }
      }
      r.outbound = outbound();
      r.mustRules = chance(options.mustRulesChance);
    } else if (kind < 0.50) {
      // Conflicting conditions on one field: contradiction candidate.
      Field f = static_cast<Field>(uniform(0, 9));
      ir::Predicate a = predicate(f, false);
      ir::Predicate b = chance(0.5) ? a : predicate(f, chance(0.5));
      b.negated = !b.negated || chance(0.3);
      r.predicates = {a, b};
      if (chance(0.5)) {
        // ipversion against addresses of one family.
        ir::Predicate v;
        v.field = Field::IpVersion;
        v.set.ipversionMask = static_cast<uint8_t>(uniform(1, 2));
        ir::Predicate d = predicate(chance(0.5) ? Field::Dip : Field::Sip, false);
        r.predicates = {v, d};
      }
      r.outbound = outbound();
    } else {
      int np = uniform(1, options.maxPredicates);
      for (int k = 0; k < np; ++k) r.predicates.push_back(predicate(static_cast<Field>(uniform(0, 9)), chance(options.negatedChance)));
      r.outbound = outbound();
      r.mustRules = chance(options.mustRulesChance);
    }
    if (r.mustRules) r.outbound = {};
    prog.rules.push_back(std::move(r));
  }
  prog.fallback = outbound();
  numberRules(prog);
  ir::renumberDomainSets(prog);
  return prog;
}

// ---- packets ---------------------------------------------------------------------

std::array<uint8_t, 16> Generator::addressIn(const Cidr& c) {
  auto a = firstOf(c);
  switch (uniform(0, 2)) {
    case 0: return a;
    case 1: return lastOf(c);
    default:
      for (int bit = c.prefix; bit < 128; ++bit)
        if (chance(0.5)) a[bit / 8] |= static_cast<uint8_t>(0x80 >> (bit % 8));
      return a;
  }
}

std::array<uint8_t, 16> Generator::randomAddress(bool v4) {
  std::array<uint8_t, 16> a{};
  if (v4) {
    a[10] = a[11] = 0xff;
    // Often near the pool's networks.
    static const uint8_t firsts[] = {10, 11, 192, 172, 1, 0, 255, 9};
    a[12] = chance(0.7) ? pick(rng_, firsts) : static_cast<uint8_t>(uniform(0, 255));
    for (int i = 13; i < 16; ++i) a[i] = static_cast<uint8_t>(chance(0.3) ? uniform(0, 3) : uniform(0, 255));
    return a;
  }
  do {
    static const uint16_t firsts[] = {0x2001, 0xfd00, 0xfc00, 0xfe80, 0x0000, 0x8000, 0xffff};
    uint16_t w = chance(0.7) ? pick(rng_, firsts) : static_cast<uint16_t>(uniform(0, 65535));
    a[0] = static_cast<uint8_t>(w >> 8);
    a[1] = static_cast<uint8_t>(w);
    for (int i = 2; i < 16; ++i) a[i] = chance(0.5) ? 0 : static_cast<uint8_t>(uniform(0, 255));
    if (a[0] == 0x20 && a[1] == 0x01 && chance(0.7)) {
      a[2] = 0x0d;
      a[3] = 0xb8;
    }
  } while (isV4Mapped(a));
  return a;
}

// An address at the edge of a CIDR of the program (first, last, one before, one
// after), of the wanted family.
std::array<uint8_t, 16> Generator::edgeAddress(const ir::Program& program, bool v4) {
  std::vector<Cidr> all;
  for (const auto& r : program.rules)
    for (const auto& p : r.predicates) all.insert(all.end(), p.set.cidrs.begin(), p.set.cidrs.end());
  for (int attempt = 0; attempt < 8 && !all.empty(); ++attempt) {
    const Cidr& c = all[uniform(0, static_cast<int>(all.size()) - 1)];
    std::array<uint8_t, 16> a;
    switch (uniform(0, 4)) {
      case 0: a = firstOf(c); break;
      case 1: a = lastOf(c); break;
      case 2: a = addOne(firstOf(c), -1); break;
      case 3: a = addOne(lastOf(c), +1); break;
      default: a = addressIn(c); break;
    }
    if (isV4Mapped(a) == v4) return a;
  }
  return randomAddress(v4);
}

void Generator::fixFamilies(ir::Packet& p, int forcedVersion) {
  int version = forcedVersion ? forcedVersion : (isV4Mapped(p.dip) ? 4 : 6);
  p.ipversion = static_cast<uint8_t>(version);
  if (isV4Mapped(p.dip) != (version == 4)) p.dip = randomAddress(version == 4);
  if (isV4Mapped(p.sip) != (version == 4)) p.sip = randomAddress(version == 4);
}

TestPacket Generator::packet(const ir::Program& program) {
  TestPacket t;
  ir::Packet& p = t.pkt;
  bool v4 = chance(0.5);
  p.ipversion = v4 ? 4 : 6;
  p.dip = chance(0.8) ? edgeAddress(program, v4) : randomAddress(v4);
  p.sip = chance(0.8) ? edgeAddress(program, v4) : randomAddress(v4);
  std::vector<PortRange> ports;
  for (const auto& r : program.rules)
    for (const auto& q : r.predicates) ports.insert(ports.end(), q.set.ports.begin(), q.set.ports.end());
  auto port = [&]() -> uint16_t {
    if (ports.empty() || chance(0.15)) return static_cast<uint16_t>(chance(0.5) ? uniform(0, 1100) : uniform(0, 65535));
    const auto& r = ports[uniform(0, static_cast<int>(ports.size()) - 1)];
    switch (uniform(0, 4)) {
      case 0: return r.lo;
      case 1: return r.hi;
      case 2: return static_cast<uint16_t>(r.lo - 1);
      case 3: return static_cast<uint16_t>(r.hi + 1);
      default: return static_cast<uint16_t>(uniform(r.lo, r.hi));
    }
  };
  p.dport = port();
  p.sport = port();
  p.l4proto = chance(0.5) ? 6 : 17;
  int d = pick(rng_, kDscpPool) + uniform(-1, 1);
  p.dscp = static_cast<uint8_t>(std::clamp(d, 0, 63));
  p.isWan = chance(0.5);
  p.mac = pick(rng_, kMacPool);
  if (chance(0.15)) p.mac[5] = static_cast<uint8_t>(uniform(0, 255));
  p.pname = pick(rng_, kPacketPnames);
  for (const auto& dp : domainPool())
    if (chance(0.25)) t.domains.insert(dp);
  return t;
}

TestPacket Generator::aimedPacket(const ir::Program& program, size_t index) {
  TestPacket t = packet(program);
  ir::Packet& p = t.pkt;
  const ir::Rule& r = program.rules.at(index);
  int forcedVersion = 0;
  bool addressSet = false;
  std::vector<size_t> order(r.predicates.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng_);
  for (size_t i : order) {
    const ir::Predicate& q = r.predicates[i];
    const ir::ValueSet& s = q.set;
    bool want = !q.negated;  // want a member of the set
    switch (q.field) {
      case Field::Dip:
      case Field::Sip: {
        auto& a = q.field == Field::Dip ? p.dip : p.sip;
        if (want && !s.cidrs.empty()) a = addressIn(s.cidrs[uniform(0, static_cast<int>(s.cidrs.size()) - 1)]);
        else a = edgeAddress(program, chance(0.5));
        if (!forcedVersion && !addressSet) {
          addressSet = true;
          forcedVersion = isV4Mapped(a) ? 4 : 6;
          // The other address follows the family of this one.
          auto& other = q.field == Field::Dip ? p.sip : p.dip;
          if (isV4Mapped(other) != (forcedVersion == 4)) other = edgeAddress(program, forcedVersion == 4);
        }
        break;
      }
      case Field::Dport:
      case Field::Sport: {
        uint16_t& port = q.field == Field::Dport ? p.dport : p.sport;
        if (s.ports.empty()) break;
        const auto& pr = s.ports[uniform(0, static_cast<int>(s.ports.size()) - 1)];
        if (want) port = static_cast<uint16_t>(uniform(pr.lo, pr.hi));
        else port = chance(0.5) ? static_cast<uint16_t>(pr.lo - 1) : static_cast<uint16_t>(pr.hi + 1);
        break;
      }
      case Field::L4proto: {
        bool tcp = (s.l4protoMask & 1) != 0, udp = (s.l4protoMask & 2) != 0;
        if (want) p.l4proto = tcp && (!udp || chance(0.5)) ? 6 : 17;
        else p.l4proto = !tcp ? 6 : 17;
        break;
      }
      case Field::IpVersion: {
        bool v4 = (s.ipversionMask & 1) != 0, v6 = (s.ipversionMask & 2) != 0;
        int v = want ? (v4 && (!v6 || chance(0.5)) ? 4 : 6) : (!v4 ? 4 : 6);
        if (!forcedVersion) forcedVersion = v;
        break;
      }
      case Field::Dscp: {
        std::vector<int> in, out;
        for (int k = 0; k < 64; ++k) ((s.dscpMask >> k) & 1 ? in : out).push_back(k);
        auto& from = want ? in : out;
        if (!from.empty()) p.dscp = static_cast<uint8_t>(from[uniform(0, static_cast<int>(from.size()) - 1)]);
        break;
      }
      case Field::Mac:
        if (want && !s.macs.empty()) p.mac = s.macs[uniform(0, static_cast<int>(s.macs.size()) - 1)];
        else if (!want) {
          p.mac = {0x02, 0x99, 0x99, 0x99, 0x99, static_cast<uint8_t>(uniform(0, 255))};
        }
        break;
      case Field::Pname:
        if (want && !s.pnames.empty()) {
          p.isWan = true;
          p.pname = s.pnames[uniform(0, static_cast<int>(s.pnames.size()) - 1)];
        } else if (!want) {
          if (chance(0.5)) p.isWan = false;
          else p.pname = "not-in-any-set";
        }
        break;
      case Field::Domain:
        if (want && !s.domains.empty()) t.domains.insert(s.domains[uniform(0, static_cast<int>(s.domains.size()) - 1)]);
        else if (!want)
          for (const auto& d : s.domains) t.domains.erase(d);
        break;
    }
  }
  fixFamilies(p, forcedVersion);
  return t;
}

std::vector<TestPacket> Generator::packets(const ir::Program& program, size_t n) {
  std::vector<TestPacket> out;
  out.reserve(n + 8 * program.rules.size());
  for (size_t i = 0; i < n; ++i) out.push_back(packet(program));
  for (size_t r = 0; r < program.rules.size(); ++r)
    for (int k = 0; k < 8; ++k) out.push_back(aimedPacket(program, r));
  return out;
}

}  // namespace dae::test
