// libFuzzer target for the front end: text -> loadConfigText -> check, the way
// `daec --check` and `daec --emit=ast|model` run it, with no includes (no base
// directory, so `include` is only ever a diagnostic and no file is read).
//
// Beyond "no crash, no leak, no UB, no hang" it asserts a few invariants that a
// bug would break: diagnostics point into the text they quote, and the printers
// run on every tree and model the checker accepts.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "frontend/AstDump.h"
#include "frontend/Loader.h"
#include "sema/Checker.h"
#include "sema/ModelDump.h"

namespace {

using dae::frontend::Diagnostic;
using dae::frontend::DiagnosticEngine;
using dae::frontend::SourceManager;

[[noreturn]] void fail(const char* what, const Diagnostic& d) {
  std::fprintf(stderr, "invariant broken: %s: file %u %u:%u (len %u): %s\n", what, d.range.file, d.range.line, d.range.col,
               d.range.length, d.message.c_str());
  std::abort();
}

// Every located diagnostic names a known file and a line of it; its column is at most
// one past the end of that line (an end-of-line or end-of-file position).
void checkDiagnostics(const SourceManager& sources, const DiagnosticEngine& diags) {
  std::vector<size_t> lines(sources.fileCount() + 1, 0);  // lines per file, counted once
  for (const Diagnostic& d : diags.all()) {
    if (d.message.empty()) fail("empty message", d);
    if (!d.range.valid()) continue;
    if (d.range.file > sources.fileCount()) fail("unknown file", d);
    size_t& n = lines[d.range.file];
    if (n == 0) {
      const std::string& text = sources.text(d.range.file);
      n = 1 + static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
    }
    if (d.range.line > n) fail("line past the end of the file", d);
    if (d.range.col == 0) fail("column 0", d);
    // Columns count bytes (SourceRange's contract). line() drops a final '\r', which an
    // end-of-file position may follow.
    std::string_view line = sources.line(d.range.file, d.range.line);
    if (d.range.col > line.size() + 2) fail("column past the end of the line", d);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  SourceManager sources;
  DiagnosticEngine diags(sources);
  dae::ast::Config ast = dae::frontend::loadConfigText("fuzz.dae", std::move(text), sources, diags);

  std::ostringstream sink;
  if (!diags.hasErrors()) dae::frontend::dumpAst(ast, sources, sink);  // --emit=ast

  // As an entry config (daec) and as an included part (daec --fragment). The checker
  // runs even after syntax errors: it must cope with whatever tree the parser returned.
  for (bool fragment : {false, true}) {
    DiagnosticEngine checkDiags(sources);
    dae::sema::CheckOptions options;
    options.fragment = fragment;
    dae::sema::Config model = dae::sema::check(ast, checkDiags, options);
    if (!diags.hasErrors() && !checkDiags.hasErrors()) dae::sema::dumpModel(model, sink);  // --emit=model
    checkDiagnostics(sources, checkDiags);
    checkDiags.print(sink, /*color=*/fragment);
  }
  checkDiagnostics(sources, diags);
  diags.print(sink);
  return 0;
}
