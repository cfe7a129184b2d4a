// Semantic checking: AST -> typed config model, with every problem reported as a
// diagnostic. Owns the rules of the language that the grammar does not express:
// known sections and keys, value types, function parameters, name resolution.
#pragma once
#include "frontend/Ast.h"
#include "frontend/Diagnostics.h"
#include "sema/Model.h"

namespace dae::sema {

struct CheckOptions {
  // Check the config as part of a larger one (an included file): `global` and
  // `routing` are not required and unknown names are warnings, not errors.
  bool fragment = false;
};

// Always returns a model; it is usable only when diags has no errors.
Config check(const ast::Config& config, frontend::DiagnosticEngine& diags, const CheckOptions& options = {});

}  // namespace dae::sema
