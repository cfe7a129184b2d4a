// `daec --emit=ir`: the rule IR in a stable, readable form.
#pragma once
#include <ostream>

#include "frontend/Source.h"
#include "ir/Ir.h"

namespace dae::ir {

void dumpIr(const Program& program, const frontend::SourceManager& sources, std::ostream& out);
std::string formatPredicate(const Predicate& p, const Program& program);
std::string formatOutbound(const Outbound& o, const Program& program);

}  // namespace dae::ir
