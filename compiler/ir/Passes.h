// Optimiser passes over the rule IR. Each pass is a function that can be run and
// tested on its own; optimize() runs the pipeline that `-O1` (the default) means.
// None of them changes which outbound any packet gets (tests/unit/ir proves each
// against the reference evaluator on random packets).
#pragma once
#include "frontend/Diagnostics.h"
#include "ir/Ir.h"

namespace dae::ir {

// Sorts and de-duplicates every set; merges overlapping and adjacent port ranges;
// drops CIDRs covered by others and joins sibling networks into their parent.
void aggregateSets(Program& program);

// Folds neighbouring rules with the same outbound that differ only in the set of one
// non-negated predicate into one rule with the union of the sets. (Negated sets are
// never merged: `!dport(80) -> x; !dport(443) -> x` is not `!dport(80, 443) -> x`.)
void mergeNeighbours(Program& program);

// Finds rules that can never match (contradictions inside a rule) and rules shadowed
// by an earlier rule; warns about each with its location, and removes them when
// `remove` is set.
void removeUnreachable(Program& program, frontend::DiagnosticEngine& diags, bool remove);

// Renumbers domain sets after rules were merged or removed.
void renumberDomainSets(Program& program);

// The pipeline: optLevel 0 runs only the analysis (warnings), 1 and up every pass.
void optimize(Program& program, frontend::DiagnosticEngine& diags, int optLevel);

// Helpers shared with the code generator.
std::vector<Cidr> aggregateCidrs(std::vector<Cidr> cidrs);
std::vector<PortRange> aggregatePorts(std::vector<PortRange> ports);

}  // namespace dae::ir
