// dae-verify: loads rules.o files into the kernel (the real verifier), fills their
// maps, prints what the verifier processed, and unloads. Attaches nothing.
//   dae-verify [--quiet] FILE.o...
// Exit status: 0 all accepted, 1 a file was refused, 2 usage error.
#include <iostream>
#include <string>
#include <vector>

#include "loader/Loader.h"

int main(int argc, char** argv) {
  std::vector<std::string> files;
  bool quiet = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quiet") quiet = true;
    else if (a == "--help") {
      std::cout << "usage: dae-verify [--quiet] FILE.o...\n";
      return 0;
    } else files.push_back(a);
  }
  if (files.empty()) {
    std::cerr << "dae-verify: no input files\n";
    return 2;
  }
  int failed = 0;
  for (const auto& f : files) {
    try {
      auto artifact = dae::loader::Artifact::fromFile(f);
      dae::loader::BpfObject obj(artifact);
      uint64_t total = 0;
      for (const auto& p : obj.programs()) {
        total += p.verifiedInsns;
        if (!quiet) std::cout << f << ": " << p.name << ": verified_insns=" << p.verifiedInsns << " xlated_insns=" << p.xlatedInsns << '\n';
      }
      std::cout << f << ": OK (" << artifact.meta.backend() << ", " << artifact.meta.rule_count()
                << " rules, verified_insns total " << total << ")\n";
    } catch (const dae::loader::LoadError& e) {
      ++failed;
      std::cout << f << ": REFUSED: " << e.what() << '\n';
      std::string log = e.log();
      if (log.size() > 4000) log = "...\n" + log.substr(log.size() - 4000);
      if (!log.empty()) std::cout << log << '\n';
    }
  }
  return failed ? 1 : 0;
}
