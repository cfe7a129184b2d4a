#include "driver/Pipeline.h"

#include <cstdlib>

#include "driver/Artifact.h"
#include "driver/BpfCompiler.h"
#include "frontend/Loader.h"
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
  program = ir::lower(model, sources, diags);
  ir::optimize(program, diags, options_.optLevel);
  return !diags.hasErrors();
}

bool Compilation::generate() {
  // geoip sets other than the built-in `private` need geodata files.
  std::string dirs;
  for (const auto& d : geodataSearchPath()) dirs += (dirs.empty() ? "" : ", ") + d;
  for (const auto& r : program.rules)
    for (const auto& p : r.predicates)
      for (const auto& tag : p.set.geoTags)
        diags.error(p.range, "'" + tag + "' needs geodata (geoip.dat), which this build cannot read yet; searched " + dirs);
  if (diags.hasErrors()) return false;
  codegen::CodegenOptions opts;
  opts.backend = options_.backend;
  generated = codegen::generate(program, opts);
  for (const auto& n : generated.notes) diags.note({}, n);
  return true;
}

bool Compilation::compile() {
  CompileResult r = compileBpf(generated.source);
  if (!r.ok) {
    // Generated code that does not compile is our bug, not the user's.
    diags.error({}, "internal error: the generated BPF C does not compile:\n" + r.diagnostics);
    return false;
  }
  object = addSections(r.object, buildSections(model, program, generated, sources));
  return true;
}

}  // namespace dae::driver
