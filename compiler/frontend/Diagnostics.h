// Compiler diagnostics in clang's form:
//   file:line:col: error: message
//     source line
//        ^~~~
// The engine collects every diagnostic of a run (so that all errors of a file are
// reported at once) and prints them in the order they were reported.
#pragma once
#include <iosfwd>
#include <string>
#include <vector>

#include "frontend/Source.h"

namespace dae::frontend {

enum class Severity { Note, Warning, Error };

struct Diagnostic {
  Severity severity;
  SourceRange range;
  std::string message;
};

class DiagnosticEngine {
 public:
  explicit DiagnosticEngine(const SourceManager& sources) : sources_(sources) {}

  void error(SourceRange at, std::string message) { report(Severity::Error, at, std::move(message)); }
  void warning(SourceRange at, std::string message) { report(Severity::Warning, at, std::move(message)); }
  void note(SourceRange at, std::string message) { report(Severity::Note, at, std::move(message)); }
  void report(Severity severity, SourceRange at, std::string message);

  size_t errorCount() const { return errors_; }
  size_t warningCount() const { return warnings_; }
  bool hasErrors() const { return errors_ > 0; }
  const std::vector<Diagnostic>& all() const { return diags_; }

  // Stops recording after this many errors (a runaway file would otherwise flood).
  void setErrorLimit(size_t limit) { errorLimit_ = limit; }
  bool limitReached() const { return errorLimit_ && errors_ >= errorLimit_; }

  void print(std::ostream& out, bool color = false) const;
  std::string format(const Diagnostic& d, bool color = false) const;

 private:
  const SourceManager& sources_;
  std::vector<Diagnostic> diags_;
  size_t errors_ = 0;
  size_t warnings_ = 0;
  size_t errorLimit_ = 200;
  bool limitNoted_ = false;
};

// "did you mean" helper: the closest candidate within a small edit distance, or "".
std::string closestMatch(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace dae::frontend
