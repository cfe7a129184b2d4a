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

// The specialised back end stores a large set of networks, per IP version, in the
// structure whose lookup is cheapest (codegen/CidrSets.h): a stride trie in an array
// map (one level per byte of the longest prefix), a hash set searched by prefix
// length (at most ceil(log2(K + 1)) lookups for K distinct lengths) or an LPM trie
// (whose walk deepens as the set grows). The other forms force one structure, for
// tests and benchmarks (a trie that does not fit the program's trie map becomes an
// LPM trie).
enum class CidrSetForm { Cheapest, StrideTrie, LengthSearch, Lpm };
const char* cidrSetFormName(CidrSetForm f);
// "cheapest", "trie", "search", "lpm"; false if unknown.
bool parseCidrSetForm(const std::string& text, CidrSetForm& out);

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
  // How large sets of networks are stored (see CidrSetForm).
  CidrSetForm cidrSets = CidrSetForm::Cheapest;
  // An estimate of instructions above which the specialised form is replaced by the
  // table form (the verifier's limit is 1M processed instructions; straight-line
  // code is processed about once per branch, so keep well below).
  size_t specializedBudget = 200000;
};

// Generates the program. Geo tags must have been expanded (see ir::LowerOptions).
Generated generate(const ir::Program& program, const CodegenOptions& options = {});

// Estimated BPF instructions the verifier processes for the specialised form.
size_t estimateInstructions(const ir::Program& program, const CodegenOptions& options);


}  // namespace dae::codegen
