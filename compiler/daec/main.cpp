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

#include "frontend/AstDump.h"
#include "frontend/Loader.h"
#include "sema/Checker.h"
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
         "  --emit=STAGE        ast | model (default: obj)\n"
         "  --fragment          check an included part on its own: global and routing are\n"
         "                      not required and unknown names are warnings\n"
         "  -L DIR              add a geodata directory\n"
         "  --backend=KIND      specialized | table\n"
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
};

int run(int argc, char** argv) {
  Args args;
  std::vector<std::string> geodataDirs;
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
      geodataDirs.push_back(value("-L"));
    } else if (a.rfind("-L", 0) == 0 && a.size() > 2) {
      geodataDirs.push_back(a.substr(2));
    } else if (a.rfind("--backend=", 0) == 0 || a == "-O0" || a == "-O1" || a == "-O2") {
      // Consumed by the back end.
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

  dae::frontend::SourceManager sources;
  dae::frontend::DiagnosticEngine diags(sources);
  dae::ast::Config ast;
  if (args.input == "-") {
    std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    ast = dae::frontend::loadConfigText("<stdin>", std::move(text), sources, diags, ".");
  } else {
    ast = dae::frontend::loadConfig(args.input, sources, diags);
  }
  bool color = args.color == "always" || (args.color == "auto" && isatty(STDERR_FILENO));
  auto finish = [&](int code) {
    diags.print(std::cerr, color);
    if (diags.errorCount())
      std::cerr << diags.errorCount() << (diags.errorCount() == 1 ? " error" : " errors") << " generated.\n";
    return code;
  };
  if (diags.hasErrors()) return finish(1);

  std::ofstream file;
  std::ostream* out = &std::cout;
  if (!args.output.empty() && args.output != "-") {
    file.open(args.output, std::ios::binary);
    if (!file) {
      std::cerr << "daec: error: cannot write '" << args.output << "': " << std::strerror(errno) << '\n';
      return 2;
    }
    out = &file;
  }
  if (args.emit == "ast" && !args.check) {
    dae::frontend::dumpAst(ast, sources, *out);
    return finish(0);
  }
  dae::sema::CheckOptions checkOptions;
  checkOptions.fragment = args.fragment;
  dae::sema::Config model = dae::sema::check(ast, diags, checkOptions);
  if (diags.hasErrors()) return finish(1);
  if (args.check) return finish(0);
  if (args.emit == "model") {
    dae::sema::dumpModel(model, *out);
    return finish(0);
  }
  finish(0);
  std::cerr << "daec: error: --emit=" << args.emit << " is not available in this build yet\n";
  return 2;
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
