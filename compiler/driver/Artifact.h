// rules.o as an artifact: the BPF object plus the .dae.* sections that make it
// self-contained (see compiler/common/artifact.proto).
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "codegen/Codegen.h"
#include "frontend/Source.h"
#include "ir/Ir.h"
#include "sema/Model.h"

namespace dae::driver {

using Sections = std::vector<std::pair<std::string, std::string>>;  // name, contents

// The .dae.* sections for a compiled program.
Sections buildSections(const sema::Config& config, const ir::Program& program, const codegen::Generated& generated,
                       const frontend::SourceManager& sources);

// Appends sections to an ELF object, in memory (LLVM's objcopy library).
std::vector<char> addSections(const std::vector<char>& object, const Sections& sections);

// Every section of an ELF object whose name starts with `prefix`.
std::map<std::string, std::string> readSections(const std::vector<char>& object, const std::string& prefix = ".dae.");

// SHA-256 of every source file, in reading order, as hex.
std::string sourceHash(const frontend::SourceManager& sources);

inline constexpr const char* kCompilerVersion = "daec 0.1.0";

}  // namespace dae::driver
