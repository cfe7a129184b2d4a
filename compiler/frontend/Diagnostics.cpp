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

// How many terminal columns the byte line[i] takes: a UTF-8 character counts at its
// first byte, as 2 when it is East Asian wide (CJK, Hangul, fullwidth forms, emoji)
// and 0 for a BOM; continuation bytes count 0.
static size_t width(std::string_view line, size_t i) {
  unsigned char c = static_cast<unsigned char>(line[i]);
  if (c < 0x80) return 1;
  if ((c & 0xC0) == 0x80) return 0;
  size_t n = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
  char32_t cp = c & (0x3F >> n);
  for (size_t k = 1; k <= n && i + k < line.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(line[i + k]) & 0x3F);
  if (cp == 0xFEFF) return 0;
  bool wide = (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0x303E) || (cp >= 0x3041 && cp <= 0x33FF) ||
              (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xA000 && cp <= 0xA4CF) ||
              (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0xFE30 && cp <= 0xFE4F) ||
              (cp >= 0xFF00 && cp <= 0xFF60) || (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1F64F) ||
              (cp >= 0x1F900 && cp <= 0x1F9FF) || (cp >= 0x20000 && cp <= 0x3FFFD);
  return wide ? 2 : 1;
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
    // Columns count bytes; the caret line counts what a terminal shows (see width()).
    std::string caret;
    size_t begin = std::min<size_t>(d.range.col ? d.range.col - 1 : 0, line.size());
    for (size_t i = 0; i < begin; ++i)
      caret.append(line[i] == '\t' ? 1 : width(line, i), line[i] == '\t' ? '\t' : ' ');
    caret += '^';
    size_t end = std::min<size_t>(begin + std::max<uint32_t>(d.range.length, 1), line.size());
    size_t underline = 0;
    for (size_t i = begin; i < end; ++i) underline += line[i] == '\t' ? 1 : width(line, i);
    caret.append(underline > 1 ? underline - 1 : 0, '~');
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
