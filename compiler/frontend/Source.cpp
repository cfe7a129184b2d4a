#include "frontend/Source.h"

#include <stdexcept>

namespace dae::frontend {

uint32_t SourceManager::add(std::string path, std::string text) {
  File f{std::move(path), std::move(text), {0}};
  for (size_t i = 0; i < f.text.size(); ++i)
    if (f.text[i] == '\n') f.lineStarts.push_back(i + 1);
  files_.push_back(std::move(f));
  return static_cast<uint32_t>(files_.size());
}

const SourceManager::File& SourceManager::get(uint32_t file) const {
  if (file == 0 || file > files_.size()) throw std::out_of_range("bad source file id");
  return files_[file - 1];
}

const std::string& SourceManager::path(uint32_t file) const { return get(file).path; }
const std::string& SourceManager::text(uint32_t file) const { return get(file).text; }

std::string_view SourceManager::line(uint32_t file, uint32_t line) const {
  const File& f = get(file);
  if (line == 0 || line > f.lineStarts.size()) return {};
  size_t begin = f.lineStarts[line - 1];
  size_t end = line < f.lineStarts.size() ? f.lineStarts[line] - 1 : f.text.size();
  std::string_view s(f.text.data() + begin, end - begin);
  if (!s.empty() && s.back() == '\r') s.remove_suffix(1);
  return s;
}

}  // namespace dae::frontend
