#include "driver/Pipeline.h"

#include <algorithm>
#include <cstdlib>

#include "driver/Artifact.h"
#include "driver/BpfCompiler.h"
#include "driver/Program.h"
#include "frontend/Loader.h"
#include "geodata/Geodata.h"
#include "ir/IrDump.h"
#include "ir/Lower.h"
#include "ir/Passes.h"

namespace dae::driver {

std::vector<std::string> Compilation::geodataSearchPath() const {
  std::vector<std::string> dirs = options_.geodataDirs;
  if (const char* env = std::getenv("DAE_LOCATION_ASSET"); env && *env) dirs.emplace_back(env);
  dirs.emplace_back("/usr/local/share/dae");
  dirs.emplace_back("/usr/share/dae");
  return dirs;
}

bool Compilation::load(const std::string& path) {
  ast = frontend::loadConfig(path, sources, diags);
  return !diags.hasErrors();
}

bool Compilation::loadText(const std::string& name, std::string text, const std::string& baseDir) {
  ast = frontend::loadConfigText(name, std::move(text), sources, diags, baseDir);
  return !diags.hasErrors();
}

bool Compilation::check() {
  sema::CheckOptions opts;
  opts.fragment = options_.fragment;
  model = sema::check(ast, diags, opts);
  return !diags.hasErrors();
}

bool Compilation::lower() {
  ir::LowerOptions lowerOptions;
  if (options_.expandGeodata) {
    if (!geodata_) geodata_ = std::make_shared<geodata::Store>(geodataSearchPath());
    lowerOptions.geoip = geodata::makeGeoIpResolver(geodata_);
    lowerOptions.geosite = geodata::makeGeoSiteResolver(geodata_);
  }
  program = ir::lower(model, sources, diags, lowerOptions);
  ir::optimize(program, diags, options_.optLevel);
  return !diags.hasErrors();
}

bool Compilation::generate() {
  // Code needs every geo tag expanded (lower() with expandGeodata).
  for (const auto& r : program.rules)
    for (const auto& p : r.predicates) {
      for (const auto& tag : p.set.geoTags)
        diags.error(p.range, "'" + tag + "' was not expanded: this compilation reads no geodata files");
      for (const auto& d : p.set.domains)
        if (d.kind == sema::Matcher::Kind::Geosite || d.kind == sema::Matcher::Kind::ExtSite)
          diags.error(p.range, std::string("'") + (d.kind == sema::Matcher::Kind::Geosite ? "geosite:" : "ext:") + d.value +
                                   "' was not expanded: this compilation reads no geodata files");
    }
  if (diags.hasErrors()) return false;
  codegen::CodegenOptions opts;
  opts.backend = options_.backend;
  opts.cidrSets = options_.cidrSets;
  generated = codegen::generate(program, opts);
  for (const auto& n : generated.notes) diags.note({}, n);
  return true;
}

bool Compilation::compile() {
  // The skeleton looks up the process of WAN sockets only for pname() rules.
  SkeletonFeatures features;
  features.pname = std::any_of(program.rules.begin(), program.rules.end(), [](const ir::Rule& r) {
    return std::any_of(r.predicates.begin(), r.predicates.end(),
                       [](const ir::Predicate& p) { return p.field == ir::Field::Pname; });
  });
  CompileResult r = compileProgram(generated.source, features);
  if (!r.ok) {
    // Generated code that does not compile is our bug, not the user's.
    diags.error({}, "internal error: the generated BPF C does not compile:\n" + r.diagnostics);
    return false;
  }
  object = addSections(r.object, buildSections(model, program, generated, sources));
  return true;
}

}  // namespace dae::driver
