// daec: the dae rules compiler. A thin command line over the compiler libraries.
//   daec CONFIG.dae -o rules.o      compile
//   daec --check CONFIG.dae         diagnose only
//   daec --emit=ast|model|... FILE  print a stage
// Exit status: 0 ok, 1 errors in the config, 2 usage or internal error.
#include <unistd.h>

#include <cstring>
#include <exception>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "driver/Pipeline.h"
#include "frontend/AstDump.h"
#include "ir/IrDump.h"
#include "sema/ModelDump.h"

namespace {

constexpr const char* kVersion = "0.1.0";

void usage(std::ostream& out) {
  out << "usage: daec [options] CONFIG.dae\n"
         "\n"
         "Compiles a dae config into an eBPF object specialised to its routing rules.\n"
         "\n"
         "options:\n"
         "  -o FILE             write the output to FILE (default: stdout for text stages)\n"
         "  --check             only diagnose the config\n"
         "  --emit=STAGE        ast | model | ir | c | obj (default: obj)\n"
         "  --fragment          check an included part on its own: global and routing are\n"
         "                      not required and unknown names are warnings\n"
         "  -L DIR              add a geodata directory\n"
         "  --backend=KIND      specialized | table\n"
         "  --cidr-sets=FORM    cheapest | trie | search | lpm: how the specialised back\n"
         "                      end stores large sets of networks (default cheapest;\n"
         "                      the others are for tests and benchmarks)\n"
         "  -O0                 disable the optimiser\n"
         "  --color=WHEN        auto | always | never (diagnostics)\n"
         "  --help, --version\n"
         "\n"
         "CONFIG may be '-' to read standard input. Exit status: 0 ok, 1 errors in the\n"
         "config, 2 usage or internal error.\n";
}

struct Args {
  std::string input;
  std::string output;
  std::string emit = "obj";
  bool check = false;
  bool fragment = false;
  std::string color = "auto";
  dae::driver::PipelineOptions pipeline;
};

int run(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* flag) -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(std::string(flag) + " needs a value");
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      usage(std::cout);
      return 0;
    } else if (a == "--version") {
      std::cout << "daec " << kVersion << '\n';
      return 0;
    } else if (a == "-o") {
      args.output = value("-o");
    } else if (a == "--check") {
      args.check = true;
    } else if (a == "--fragment") {
      args.fragment = true;
    } else if (a.rfind("--emit=", 0) == 0) {
      args.emit = a.substr(7);
    } else if (a.rfind("--color=", 0) == 0) {
      args.color = a.substr(8);
    } else if (a == "-L") {
      args.pipeline.geodataDirs.push_back(value("-L"));
    } else if (a.rfind("-L", 0) == 0 && a.size() > 2) {
      args.pipeline.geodataDirs.push_back(a.substr(2));
    } else if (a == "--backend=specialized") {
      args.pipeline.backend = dae::codegen::Backend::Specialized;
    } else if (a == "--backend=table") {
      args.pipeline.backend = dae::codegen::Backend::Table;
    } else if (a.rfind("--backend=", 0) == 0) {
      std::cerr << "daec: error: unknown back end '" << a.substr(10) << "' (specialized, table)\n";
      return 2;
    } else if (a.rfind("--cidr-sets=", 0) == 0) {
      if (!dae::codegen::parseCidrSetForm(a.substr(12), args.pipeline.cidrSets)) {
        std::cerr << "daec: error: unknown form of CIDR sets '" << a.substr(12) << "' (cheapest, trie, search, lpm)\n";
        return 2;
      }
    } else if (a == "-O0" || a == "-O1" || a == "-O2") {
      args.pipeline.optLevel = a[2] - '0';
    } else if (a.size() > 1 && a[0] == '-' ) {
      std::cerr << "daec: error: unknown option '" << a << "' (see --help)\n";
      return 2;
    } else if (a == "-" || args.input.empty()) {
      if (!args.input.empty()) {
        std::cerr << "daec: error: more than one input file\n";
        return 2;
      }
      args.input = a;
    } else {
      std::cerr << "daec: error: more than one input file\n";
      return 2;
    }
  }
  if (args.input.empty()) {
    std::cerr << "daec: error: no input file (see --help)\n";
    return 2;
  }
  if (args.emit != "ast" && args.emit != "model" && args.emit != "obj" && args.emit != "ir" && args.emit != "c") {
    std::cerr << "daec: error: unknown stage '" << args.emit << "' for --emit (ast, model, ir, c, obj)\n";
    return 2;
  }

  args.pipeline.fragment = args.fragment;
  // --check diagnoses without geodata files; --emit=ir|c|obj expands geo tags from them.
  args.pipeline.expandGeodata = !args.check;
  dae::driver::Compilation c(args.pipeline);
  bool color = args.color == "always" || (args.color == "auto" && isatty(STDERR_FILENO));
  auto finish = [&](int code) {
    c.diags.print(std::cerr, color);
    if (c.diags.errorCount())
      std::cerr << c.diags.errorCount() << (c.diags.errorCount() == 1 ? " error" : " errors") << " generated.\n";
    return code;
  };
  bool loaded;
  if (args.input == "-") {
    std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    loaded = c.loadText("<stdin>", std::move(text), ".");
  } else {
    loaded = c.load(args.input);
  }
  if (!loaded) return finish(1);

  // Text stages go to stdout unless -o says otherwise; the object needs a file.
  std::string outPath = args.output;
  if (outPath.empty() && args.emit == "obj" && !args.check) {
    std::string base = args.input == "-" ? "rules" : args.input.substr(args.input.find_last_of('/') + 1);
    outPath = base.substr(0, base.rfind('.')) + ".o";
  }
  std::ofstream file;
  std::ostream* out = &std::cout;
  auto openOutput = [&]() -> bool {
    if (outPath.empty() || outPath == "-") return true;
    file.open(outPath, std::ios::binary | std::ios::trunc);
    if (!file) {
      std::cerr << "daec: error: cannot write '" << outPath << "': " << std::strerror(errno) << '\n';
      return false;
    }
    out = &file;
    return true;
  };

  if (args.emit == "ast" && !args.check) {
    if (!openOutput()) return 2;
    dae::frontend::dumpAst(c.ast, c.sources, *out);
    return finish(0);
  }
  if (!c.check()) return finish(1);
  if (args.emit == "model" && !args.check) {
    if (!openOutput()) return 2;
    dae::sema::dumpModel(c.model, *out);
    return finish(0);
  }
  // --check also runs the analysis that finds rules that can never match.
  if (!c.lower()) return finish(1);
  if (args.check) return finish(0);
  if (args.emit == "ir") {
    if (!openOutput()) return 2;
    dae::ir::dumpIr(c.program, c.sources, *out);
    return finish(0);
  }
  if (!c.generate()) return finish(1);
  if (args.emit == "c") {
    if (!openOutput()) return 2;
    *out << c.generated.source;
    return finish(0);
  }
  if (!c.compile()) return finish(2);
  if (!openOutput()) return 2;
  out->write(c.object.data(), static_cast<std::streamsize>(c.object.size()));
  out->flush();
  if (!*out) {
    std::cerr << "daec: error: writing '" << outPath << "' failed\n";
    return 2;
  }
  return finish(0);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "daec: error: " << e.what() << '\n';
    return 2;
  }
}
