// Loading a config: the entry file, then every file its `include { }` sections
// name (globs relative to the entry file's directory and confined to it),
// recursively, each file once.
#pragma once
#include <string>

#include "frontend/Ast.h"
#include "frontend/Diagnostics.h"
#include "frontend/Parser.h"

namespace dae::frontend {

struct LoadOptions {
  ParseLimits limits;
  unsigned maxIncludeDepth = 16;
};

// Returns the parsed files; syntax and include errors are in diags.
ast::Config loadConfig(const std::string& entryPath, SourceManager& sources, DiagnosticEngine& diags,
                       const LoadOptions& options = {});

// Parses text that did not come from a file (stdin, tests, the fuzzer). Includes
// are resolved relative to `baseDir` when it is not empty, and are errors otherwise.
ast::Config loadConfigText(const std::string& name, std::string text, SourceManager& sources,
                           DiagnosticEngine& diags, const std::string& baseDir = {}, const LoadOptions& options = {});

}  // namespace dae::frontend
