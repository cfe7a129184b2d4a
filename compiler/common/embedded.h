// Files compiled into the binaries (BPF templates, stdlib), so that daec and
// dae-runtime need nothing from the source tree at run time.
#pragma once
#include <optional>
#include <span>
#include <string_view>

namespace dae::embedded {

struct EmbeddedFile {
  std::string_view path;      // relative to the embedded directory
  std::string_view contents;
};

// Each table is defined by a generated file (cmake/Embed.cmake) linked into the
// library that owns it.
std::span<const EmbeddedFile> bpf_templates();
std::span<const EmbeddedFile> stdlib();
// The datapath skeleton's variants as BPF objects, compiled from bpf_templates()
// when the build runs (compiler/driver/Skeleton.h).
std::span<const EmbeddedFile> bpf_skeletons();

// Looks a file up by relative path in one of the tables.
std::optional<std::string_view> find(std::span<const EmbeddedFile> table, std::string_view path);

}  // namespace dae::embedded
