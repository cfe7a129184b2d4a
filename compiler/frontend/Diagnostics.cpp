#include "frontend/Diagnostics.h"

#include <algorithm>
#include <ostream>
#include <sstream>

namespace dae::frontend {

void DiagnosticEngine::report(Severity severity, SourceRange at, std::string message) {
  if (severity == Severity::Error) {
    if (limitReached()) {
      if (!limitNoted_) {
        limitNoted_ = true;
        diags_.push_back({Severity::Note, {}, "too many errors; stopping here"});
      }
      return;
    }
    ++errors_;
  } else if (severity == Severity::Warning) {
    ++warnings_;
  }
  diags_.push_back({severity, at, std::move(message)});
}

std::string DiagnosticEngine::format(const Diagnostic& d, bool color) const {
  std::ostringstream out;
  const char* bold = color ? "\033[1m" : "";
  const char* reset = color ? "\033[0m" : "";
  const char* kindColor = "";
  const char* kind = "note";
  switch (d.severity) {
    case Severity::Error: kind = "error"; kindColor = color ? "\033[1;31m" : ""; break;
    case Severity::Warning: kind = "warning"; kindColor = color ? "\033[1;35m" : ""; break;
    case Severity::Note: kind = "note"; kindColor = color ? "\033[1;36m" : ""; break;
  }
  out << bold;
  if (d.range.valid()) {
    out << sources_.path(d.range.file) << ':' << d.range.line << ':' << d.range.col << ": ";
  } else {
    out << "daec: ";
  }
  out << reset << kindColor << kind << ": " << reset << bold << d.message << reset << '\n';
  if (d.range.valid()) {
    std::string_view line = sources_.line(d.range.file, d.range.line);
    out << line << '\n';
    // Keep tabs in the caret line so the caret lines up under tab-indented source.
    std::string caret;
    for (uint32_t i = 1; i < d.range.col && i - 1 < line.size(); ++i)
      caret += line[i - 1] == '\t' ? '\t' : ' ';
    caret += '^';
    size_t avail = line.size() >= d.range.col ? line.size() - d.range.col : 0;
    size_t tildes = d.range.length > 1 ? std::min<size_t>(d.range.length - 1, avail) : 0;
    caret.append(tildes, '~');
    out << (color ? "\033[1;32m" : "") << caret << reset << '\n';
  }
  return out.str();
}

void DiagnosticEngine::print(std::ostream& out, bool color) const {
  for (const auto& d : diags_) out << format(d, color);
}

static size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string closestMatch(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t bestDist = std::max<size_t>(2, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    size_t d = editDistance(word, c);
    if (d < bestDist) {
      bestDist = d;
      best = c;
    }
  }
  return best;
}

}  // namespace dae::frontend
