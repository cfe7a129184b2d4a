// Random rule programs and packets for the property tests of the optimiser.
//
// Programs draw their sets from small pools of values that overlap on purpose
// (nested and sibling CIDRs in both families, adjacent and overlapping port
// ranges, the zero MAC, names longer than a comm), and derive rules from earlier
// ones so that every pass has something to do: neighbours that differ in one set
// (merging), copies and narrowings of earlier rules (shadowing), and rules with
// conflicting conditions (contradictions).
//
// Packets are biased to the edges of the program's sets (first and last address of
// every CIDR and the addresses just outside, lo/hi of every port range and their
// neighbours, ...) and can be aimed at one rule: its conditions are satisfied one
// by one, so that a rule that can match is very likely to be hit.
//
// Packet model (as the datapath builds struct dae_route_ctx): l4proto is TCP or
// UDP, an IPv4 packet carries both addresses as ::ffff:a.b.c.d and an IPv6 packet
// carries no IPv4-mapped address (RFC 4291 2.5.5.2: such addresses never appear
// on the wire), domain() bits come from the DNS answer's matching patterns.
#pragma once
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "ir/Ir.h"

namespace dae::test {

using ir::Cidr;
using ir::PortRange;

// Index into domainPool().
const std::vector<ir::DomainPattern>& domainPool();

// A packet plus the domain patterns its destination's DNS answer matched. The
// bits of Packet::domainBits depend on a program's domain sets, so they are
// computed per program by bitsFor().
struct TestPacket {
  ir::Packet pkt;
  std::set<ir::DomainPattern> domains;
};

// The packet as `program` sees it (domainBits filled for its domain sets).
ir::Packet bitsFor(const ir::Program& program, const TestPacket& t);

// Decision of the reference evaluator on a test packet.
ir::Decision eval(const ir::Program& program, const TestPacket& t);

// Indices of the rules that are reached and match, in order: every matching
// must_rules rule before the deciding one, then the deciding rule (if any).
std::vector<int> reachedMatches(const ir::Program& program, const TestPacket& t);

bool isV4Mapped(const std::array<uint8_t, 16>& a);

struct ProgramOptions {
  int minRules = 1;
  int maxRules = 12;
  int maxPredicates = 3;
  double negatedChance = 0.25;
  double mustRulesChance = 0.08;
};

class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_(seed) {}

  ir::Program program(const ProgramOptions& options = {});
  // A packet near the edges of the program's sets.
  TestPacket packet(const ir::Program& program);
  // A packet that tries to satisfy every condition of rule `index`.
  TestPacket aimedPacket(const ir::Program& program, size_t index);
  // Packets: mostly edge packets, some aimed at each rule in turn.
  std::vector<TestPacket> packets(const ir::Program& program, size_t n);

  ir::Predicate predicate(ir::Field f, bool negated);
  ir::ValueSet valueSet(ir::Field f);

  std::mt19937_64& rng() { return rng_; }
  int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }

 private:
  Cidr randomCidr();
  PortRange randomPorts();
  ir::Outbound outbound();
  std::array<uint8_t, 16> addressIn(const Cidr& c);
  std::array<uint8_t, 16> randomAddress(bool v4);
  std::array<uint8_t, 16> edgeAddress(const ir::Program& program, bool v4);
  void fixFamilies(ir::Packet& p, int forcedVersion);

  std::mt19937_64 rng_;
};

// Parses "10.0.0.0/8", "fd00::/8" (throws on error).
Cidr cidr(const char* text);

// Gives every rule (and its predicates) a one-line SourceRange in file 1 (line =
// index+1), so that diagnostics can be mapped back to rules.
void numberRules(ir::Program& program);

}  // namespace dae::test
