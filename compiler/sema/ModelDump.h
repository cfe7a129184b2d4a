// `daec --emit=model`: what the compiler understood, one line per fact, stable for
// golden files and readable for users ("what will this config do?").
#pragma once
#include <ostream>
#include <string>

#include "sema/Model.h"

namespace dae::sema {

void dumpModel(const Config& config, std::ostream& out);

// A rule and an outbound as they would be written, normalised (used in messages).
std::string formatRule(const Rule& rule);
std::string formatOutbound(const OutboundRef& outbound);
std::string formatMatcher(const Matcher& m);

}  // namespace dae::sema
