// Every optimiser pass preserves the meaning of a program: on random programs and
// packets (fixed seeds), the reference evaluator gives the same decision (outbound,
// must, mark) before and after each pass, alone and in the pipeline. And every rule
// removeUnreachable() calls unreachable really is: packets aimed at it never reach
// it while it matches.
#include <gtest/gtest.h>

#include <functional>
#include <iomanip>
#include <sstream>

#include "RandomPrograms.h"
#include "frontend/Diagnostics.h"
#include "ir/IrDump.h"
#include "ir/Passes.h"

namespace {

using namespace dae;
using dae::test::Generator;
using dae::test::TestPacket;

constexpr uint64_t kSeeds = 600;          // programs per property
constexpr size_t kPacketsPerProgram = 300;  // plus 8 aimed at each rule

// A source manager with one file of enough lines for rule i at line i+1.
struct Sources {
  frontend::SourceManager sm;
  Sources() { sm.add("random.dae", std::string(400, '\n')); }
};

std::string dump(const ir::Program& p) {
  Sources s;
  std::ostringstream out;
  ir::dumpIr(p, s.sm, out);
  return out.str();
}

std::string addr(const std::array<uint8_t, 16>& a) {
  std::ostringstream o;
  for (int i = 0; i < 16; i += 2) o << (i ? ":" : "") << std::hex << (a[i] << 8 | a[i + 1]);
  return o.str();
}

std::string describe(const TestPacket& t) {
  const auto& p = t.pkt;
  std::ostringstream o;
  o << "v" << int(p.ipversion) << " l4=" << int(p.l4proto) << " " << addr(p.sip) << " port " << p.sport << " -> "
    << addr(p.dip) << " port " << p.dport << " dscp=" << int(p.dscp) << " wan=" << p.isWan << " pname='" << p.pname
    << "' mac=";
  for (int i = 0; i < 6; ++i) o << (i ? ":" : "") << std::hex << std::setw(2) << std::setfill('0') << int(p.mac[i]);
  o << std::dec << " domains=";
  for (const auto& d : t.domains) o << d.value << ",";
  return o.str();
}

std::string decision(const ir::Decision& d) {
  std::ostringstream o;
  o << "outbound=" << int(d.outbound) << " must=" << d.must << " mark=0x" << std::hex << d.mark << std::dec
    << " rule=" << d.rule;
  return o.str();
}

bool sameDecision(const ir::Decision& a, const ir::Decision& b) {
  return a.outbound == b.outbound && a.must == b.must && a.mark == b.mark;
}

std::string diagText(const std::vector<frontend::Diagnostic>& all) {
  std::string out;
  for (const auto& d : all) out += "  line " + std::to_string(d.range.line) + ": " + d.message + "\n";
  return out;
}

struct Transform {
  const char* name;
  std::function<void(ir::Program&, frontend::DiagnosticEngine&)> apply;
};

const std::vector<Transform>& transforms() {
  static const std::vector<Transform> all = {
      {"aggregateSets", [](ir::Program& p, frontend::DiagnosticEngine&) { ir::aggregateSets(p); }},
      {"mergeNeighbours", [](ir::Program& p, frontend::DiagnosticEngine&) { ir::mergeNeighbours(p); }},
      {"aggregateSets+mergeNeighbours",
       [](ir::Program& p, frontend::DiagnosticEngine&) {
         ir::aggregateSets(p);
         ir::mergeNeighbours(p);
       }},
      {"removeUnreachable", [](ir::Program& p, frontend::DiagnosticEngine& d) { ir::removeUnreachable(p, d, true); }},
      {"aggregateSets+removeUnreachable",
       [](ir::Program& p, frontend::DiagnosticEngine& d) {
         ir::aggregateSets(p);
         ir::removeUnreachable(p, d, true);
       }},
      {"mergeNeighbours+aggregateSets+removeUnreachable",
       [](ir::Program& p, frontend::DiagnosticEngine& d) {
         ir::mergeNeighbours(p);
         ir::aggregateSets(p);
         ir::removeUnreachable(p, d, true);
       }},
      {"optimize(-O0)", [](ir::Program& p, frontend::DiagnosticEngine& d) { ir::optimize(p, d, 0); }},
      {"optimize(-O1)", [](ir::Program& p, frontend::DiagnosticEngine& d) { ir::optimize(p, d, 1); }},
      {"optimize(-O1) twice",
       [](ir::Program& p, frontend::DiagnosticEngine& d) {
         ir::optimize(p, d, 1);
         ir::optimize(p, d, 1);
       }},
  };
  return all;
}

class PassPreservesMeaning : public ::testing::TestWithParam<size_t> {};

TEST_P(PassPreservesMeaning, OnRandomProgramsAndPackets) {
  const Transform& t = transforms()[GetParam()];
  size_t changed = 0, compared = 0;
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    Generator gen(seed * 7919 + GetParam());
    ir::Program before = gen.program();
    ir::Program after = before;
    Sources s;
    frontend::DiagnosticEngine diags(s.sm);
    t.apply(after, diags);
    ASSERT_FALSE(diags.hasErrors()) << t.name << " reported an error";
    if (after.rules.size() != before.rules.size() || dump(after) != dump(before)) ++changed;
    // Domain sets must be consistent after renumbering.
    for (const auto& r : after.rules) {
      for (const auto& p : r.predicates) {
        if (p.field != ir::Field::Domain) continue;
        ASSERT_GE(p.domainSet, 0);
        ASSERT_LT(static_cast<size_t>(p.domainSet), after.domainSets.size());
        ASSERT_EQ(after.domainSets[p.domainSet], p.set.domains);
      }
    }
    for (const TestPacket& pkt : gen.packets(before, kPacketsPerProgram)) {
      ir::Decision a = test::eval(before, pkt), b = test::eval(after, pkt);
      ++compared;
      ASSERT_TRUE(sameDecision(a, b)) << t.name << " changed a decision (seed " << seed << ")\npacket: " << describe(pkt)
                                      << "\nbefore: " << decision(a) << "\n" << dump(before) << "after:  " << decision(b)
                                      << "\n" << dump(after);
    }
  }
  // The property is only worth something if the pass had work to do.
  if (std::string(t.name) != "optimize(-O0)") {
    EXPECT_GT(changed, kSeeds / 5) << t.name << " changed too few programs";
  }
  RecordProperty("programs_changed", static_cast<int>(changed));
  RecordProperty("packets_compared", static_cast<int>(compared));
}

INSTANTIATE_TEST_SUITE_P(Passes, PassPreservesMeaning, ::testing::Range<size_t>(0, 9),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                           std::string n = transforms()[info.param].name;
                           for (auto& c : n)
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

// -O0 never changes the program (only warns).
TEST(OptimizeO0, LeavesProgramUnchanged) {
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    Generator gen(seed);
    ir::Program p = gen.program();
    std::string before = dump(p);
    Sources s;
    frontend::DiagnosticEngine diags(s.sm);
    ir::optimize(p, diags, 0);
    ASSERT_EQ(before, dump(p)) << "seed " << seed;
  }
}

// Rules that removeUnreachable() reports never match while reached: not on packets
// near the edges of the program's sets, and not on packets aimed at the rule.
// Checked on aggregated programs (as optimize() runs it) and on raw ones.
void checkUnreachableClaims(bool aggregateFirst) {
  size_t flaggedTotal = 0, contradictions = 0, shadows = 0;
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    Generator gen(seed * 104729 + (aggregateFirst ? 1 : 0));
    ir::Program p = gen.program();
    if (aggregateFirst) ir::aggregateSets(p);
    Sources s;
    frontend::DiagnosticEngine diags(s.sm);
    ir::removeUnreachable(p, diags, false);
    std::vector<int> flagged;
    const auto& all = diags.all();
    for (size_t i = 0; i < all.size(); ++i) {
      const auto& d = all[i];
      if (d.severity != frontend::Severity::Warning) continue;
      ASSERT_TRUE(d.range.valid());
      int rule = static_cast<int>(d.range.line) - 1;
      flagged.push_back(rule);
      if (d.message.find("shadowed") != std::string::npos) {
        ++shadows;
        // Both locations: the shadowed rule, then a note at an earlier rule.
        ASSERT_LT(i + 1, all.size());
        ASSERT_EQ(all[i + 1].severity, frontend::Severity::Note);
        ASSERT_TRUE(all[i + 1].range.valid());
        ASSERT_LT(all[i + 1].range.line, d.range.line);
      } else {
        ASSERT_NE(d.message.find("can never match"), std::string::npos) << d.message;
        ++contradictions;
      }
    }
    flaggedTotal += flagged.size();
    std::vector<TestPacket> pkts = gen.packets(p, kPacketsPerProgram);
    for (int r : flagged)
      for (int k = 0; k < 200; ++k) pkts.push_back(gen.aimedPacket(p, r));
    for (const auto& pkt : pkts) {
      std::vector<int> reached = test::reachedMatches(p, pkt);
      for (int r : flagged)
        ASSERT_EQ(std::count(reached.begin(), reached.end(), r), 0)
            << "rule " << r << " was reported unreachable but matches (seed " << seed << ")\npacket: " << describe(pkt)
            << "\n" << dump(p) << "diagnostics:\n" << diagText(all);
    }
    // remove=true removes exactly the reported rules.
    ir::Program removed = p;
    frontend::DiagnosticEngine diags2(s.sm);
    ir::removeUnreachable(removed, diags2, true);
    ASSERT_EQ(removed.rules.size() + flagged.size(), p.rules.size()) << "seed " << seed;
  }
  EXPECT_GT(contradictions, kSeeds / 10);
  EXPECT_GT(shadows, kSeeds / 10);
  ::testing::Test::RecordProperty("flagged", static_cast<int>(flaggedTotal));
}

TEST(RemoveUnreachable, ReportedRulesNeverMatchAggregated) { checkUnreachableClaims(true); }
TEST(RemoveUnreachable, ReportedRulesNeverMatchRaw) { checkUnreachableClaims(false); }

// The generator itself: aimed packets do hit the rule they aim at (otherwise the
// test above would prove little).
TEST(Generator, AimedPacketsHitTheirRule) {
  size_t aimed = 0, hit = 0;
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    Generator gen(seed);
    ir::Program p = gen.program();
    ir::aggregateSets(p);
    for (size_t r = 0; r < p.rules.size(); ++r) {
      // Only rules without two conditions on one field (those may be contradictions).
      std::set<ir::Field> fields;
      bool dup = false;
      for (const auto& q : p.rules[r].predicates) dup |= !fields.insert(q.field).second;
      if (dup || fields.count(ir::Field::IpVersion)) continue;
      for (int k = 0; k < 20; ++k) {
        ++aimed;
        auto t = gen.aimedPacket(p, r);
        ir::Packet pk = test::bitsFor(p, t);
        bool all = std::all_of(p.rules[r].predicates.begin(), p.rules[r].predicates.end(),
                               [&](const ir::Predicate& q) { return ir::evalPredicate(q, pk); });
        hit += all;
      }
    }
  }
  EXPECT_GT(hit * 10, aimed * 6) << hit << " of " << aimed;
}

}  // namespace
