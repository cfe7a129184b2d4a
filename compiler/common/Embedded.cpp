#include "common/embedded.h"

namespace dae::embedded {

std::optional<std::string_view> find(std::span<const EmbeddedFile> table, std::string_view path) {
  for (const auto& f : table)
    if (f.path == path) return f.contents;
  return std::nullopt;
}

}  // namespace dae::embedded
