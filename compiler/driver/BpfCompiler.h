// dae_bpfcc: turns BPF C into a BPF ELF object, in-process.
//
// The library owns:
//   * the embedded datapath templates (bpf-templates/, `dae::embedded::
//     bpf_templates()`), served to the compiler from memory as "dae/...";
//   * the Clang/LLVM 16 invocation: target bpfel, BTF via -g, fixed fake paths
//     so that the same input always gives the same bytes.
// It spawns no process and writes no file: sources live in an in-memory
// overlay over the real filesystem (which still provides linux/*.h and
// bpf/*.h), and the object is emitted into memory.
//
// Two pipelines (see docs/datapath.md, "Compiling"):
//   Pipeline::Clang   clang's own -O<n> pipeline and full debug info. The
//                     datapath skeleton is compiled this way when daec is built.
//   Pipeline::Router  for generated routers (dae/router.h plus straight-line
//                     rules): a short pass list, and source locations only at
//                     function starts and calls. Per config, where time counts.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dae::driver {

enum class Pipeline {
  // clang -O<optLevel>: everything clang would do, for code written by hand
  // (the skeleton), where the optimiser earns its time.
  Clang,
  // Generated routers: always-inline, GlobalOpt, SROA, InstCombine, SimplifyCFG
  // and the BPF target's own IR passes, then the -O2 code generator. Rules are
  // compare-and-branch code with volatile loads: clang's -O2 module pipeline
  // (inliner, loop passes, GVN, vectorisers ...) finds nothing to improve in
  // them but costs three times as much. Line information is dropped (BTF keeps
  // function records, map and function types): per instruction it doubles
  // the code generator's work for rules nobody single-steps.
  Router,
};

struct CompileOptions {
  int optLevel = 2;        // -O0..-O3; BPF needs >= 1 in practice (the verifier)
  bool debugInfo = true;   // -g: DWARF plus .BTF/.BTF.ext, which libbpf needs for BTF maps
  Pipeline pipeline = Pipeline::Clang;
  std::vector<std::pair<std::string, std::string>> defines;  // -D name=value ("" value: -D name)
  // Extra in-memory headers, path relative to the template root (so that
  // {"rules/sets.h", ...} is reachable as #include "rules/sets.h").
  std::vector<std::pair<std::string, std::string>> extraFiles;
  bool warningsAsErrors = false;  // -Werror, for tests of the code generator
};

// The options daec compiles a generated router with.
CompileOptions routerOptions();

struct CompileResult {
  bool ok = false;
  std::vector<char> object;  // the ELF object (empty unless ok)
  // Everything the compiler said, warnings included, formatted like clang's
  // command line ("/dae/rules.c:12:5: error: ..." plus the source line).
  std::string diagnostics;
};

// Thrown for failures that are not the generated code's fault: a broken
// installation (missing headers dir) or an invocation clang rejects.
class DriverError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The fake path the main source is compiled under; diagnostics and debug info
// name it. Templates live under kTemplateRoot.
inline constexpr std::string_view kMainFile = "/dae/rules.c";
inline constexpr std::string_view kTemplateRoot = "/dae/include";

// Compiles one translation unit. Errors in mainSource come back as ok=false
// with diagnostics; only driver problems throw DriverError. Thread-safe: each
// call has its own compiler instance and LLVM context.
CompileResult compileBpf(std::string_view mainSource, const CompileOptions& options = {});

// The cc1 arguments compileBpf uses (without the input file), for --verbose
// output and for tests.
std::vector<std::string> cc1Arguments(const CompileOptions& options = {});

}  // namespace dae::driver
