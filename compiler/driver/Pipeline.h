// The whole compilation, stage by stage: load -> check -> lower + optimise ->
// generate C -> compile in-process -> attach the .dae sections. daec and
// `dae-runtime -c` drive it; each stage can be stopped after (for --emit).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "codegen/Codegen.h"
#include "frontend/Ast.h"
#include "frontend/Diagnostics.h"
#include "ir/Ir.h"
#include "sema/Checker.h"
#include "sema/Model.h"

namespace dae::geodata {
class Store;
}

namespace dae::driver {

struct PipelineOptions {
  bool fragment = false;
  int optLevel = 1;
  codegen::Backend backend = codegen::Backend::Specialized;
  codegen::CidrSetForm cidrSets = codegen::CidrSetForm::Cheapest;  // daec --cidr-sets
  std::vector<std::string> geodataDirs;  // -L, searched before $DAE_LOCATION_ASSET and the system dirs
  // Expand geoip:/geosite:/ext: from geodata files in lower() (a missing file or tag is
  // an error). Off for `daec --check`, which must pass on a machine without .dat files.
  bool expandGeodata = true;
};

class Compilation {
 public:
  explicit Compilation(PipelineOptions options) : options_(std::move(options)) {}

  // Each stage returns false when the diagnostics hold errors.
  bool load(const std::string& path);
  bool loadText(const std::string& name, std::string text, const std::string& baseDir);
  bool check();
  bool lower();  // and optimise
  bool generate();
  bool compile();  // object with the .dae sections

  // All stages from a file; stops at the first that fails.
  bool run(const std::string& path) { return load(path) && check() && lower() && generate() && compile(); }

  frontend::SourceManager sources;
  frontend::DiagnosticEngine diags{sources};
  ast::Config ast;
  sema::Config model;
  ir::Program program;
  codegen::Generated generated;
  std::vector<char> object;

  // Directories searched for geodata files, in order (for messages).
  std::vector<std::string> geodataSearchPath() const;

 private:
  PipelineOptions options_;
  std::shared_ptr<geodata::Store> geodata_;  // every .dat file parsed once per compilation
};

}  // namespace dae::driver
