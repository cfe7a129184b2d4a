// `daec --emit=ast`: a stable, readable dump of the syntax tree with line:col of
// every node, fit for golden files.
#pragma once
#include <ostream>

#include "frontend/Ast.h"
#include "frontend/Source.h"

namespace dae::frontend {

void dumpAst(const ast::Config& config, const SourceManager& sources, std::ostream& out);

}  // namespace dae::frontend
