// Code generation: rule IR -> BPF C that includes the datapath skeleton, plus the
// initial contents of the maps that C declares.
//
// Two back ends share this interface:
//   specialized  straight-line C for exactly these rules: small sets become inline
//                comparisons, large sets hash / LPM-trie / bitmap maps;
//   table        a table-driven interpreter (an array of match sets walked with
//                bpf_loop): the baseline for benchmarks and the fallback when the
//                specialised program would exceed the verifier's budget.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ir/Ir.h"

namespace dae::codegen {

enum class Backend { Specialized, Table };
const char* backendName(Backend b);

// The contents a map must be filled with before the program runs.
struct MapContents {
  std::string map;
  uint32_t keySize = 0;
  uint32_t valueSize = 0;
  std::vector<std::string> keys;    // raw bytes
  std::vector<std::string> values;  // raw bytes
};

struct Generated {
  Backend backend = Backend::Specialized;
  std::string source;               // the C translation unit
  std::vector<MapContents> maps;
  uint32_t domainWords = 1;
  std::vector<std::string> notes;   // e.g. why the back end was switched
};

struct CodegenOptions {
  Backend backend = Backend::Specialized;
  // Sets with more members than this become maps in the specialised back end.
  size_t inlineLimit = 8;
  // An estimate of instructions above which the specialised form is replaced by the
  // table form (the verifier's limit is 1M processed instructions; straight-line
  // code is processed about once per branch, so keep well below).
  size_t specializedBudget = 200000;
};

// Generates the program. Geo tags must have been expanded (see ir::LowerOptions).
Generated generate(const ir::Program& program, const CodegenOptions& options = {});

// Estimated BPF instructions of the specialised form of one predicate / a program.
size_t estimateInstructions(const ir::Program& program, size_t inlineLimit);

}  // namespace dae::codegen
