// Source files and positions. Owns the text of every file the compiler reads, so
// that diagnostics can quote lines long after parsing.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dae::frontend {

// A position in a file: 1-based line and column (columns count bytes), plus the
// length of the token or construct it stands for (for the ~~~ underline).
struct SourceRange {
  uint32_t file = 0;  // 0 = no file (built-in value)
  uint32_t line = 0;
  uint32_t col = 0;
  uint32_t length = 0;
  bool valid() const { return file != 0 && line != 0; }
};

class SourceManager {
 public:
  // Adds a file's text; returns its id (never 0).
  uint32_t add(std::string path, std::string text);
  const std::string& path(uint32_t file) const;
  const std::string& text(uint32_t file) const;
  // The text of one line without its newline; empty past the end.
  std::string_view line(uint32_t file, uint32_t line) const;
  size_t fileCount() const { return files_.size(); }

 private:
  struct File {
    std::string path;
    std::string text;
    std::vector<size_t> lineStarts;
  };
  std::vector<File> files_;
  const File& get(uint32_t file) const;
};

}  // namespace dae::frontend
