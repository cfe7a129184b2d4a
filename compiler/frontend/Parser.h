// Parsing: text -> ast::File, with syntax errors reported as diagnostics.
#pragma once
#include <string_view>

#include "frontend/Ast.h"
#include "frontend/Diagnostics.h"

namespace dae::frontend {

struct ParseLimits {
  // Deeper nesting than this is an error, not a stack overflow.
  unsigned maxDepth = 64;
  // Larger inputs are refused up front.
  size_t maxBytes = 64u << 20;
};

// Parses the file `fileId` of `sources`. On syntax errors the diagnostics hold every
// error and the returned tree holds what could be recovered (sema is not run on it).
ast::File parseFile(const SourceManager& sources, uint32_t fileId, DiagnosticEngine& diags,
                    const ParseLimits& limits = {});

}  // namespace dae::frontend
