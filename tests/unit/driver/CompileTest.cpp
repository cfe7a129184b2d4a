// dae_driver: in-process compilation of generated BPF C, the prebuilt
// skeleton variants and the link that joins them.
#include <elf.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <future>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "TestRules.h"
#include "common/embedded.h"
#include "driver/BpfCompiler.h"
#include "driver/BpfLinker.h"
#include "driver/Program.h"

namespace {

using dae::driver::compileBpf;
using dae::driver::CompileOptions;
using dae::driver::compileProgram;
using dae::driver::CompileResult;
using dae::driver::Pipeline;
using dae::driver::routerOptions;
using dae::driver::SkeletonFeatures;

#ifndef EM_BPF
#define EM_BPF 247
#endif

// Section names of an ELF64 little-endian object, after checking its header.
std::set<std::string> elfSections(const std::vector<char>& obj, uint16_t* machine) {
  std::set<std::string> names;
  if (obj.size() < sizeof(Elf64_Ehdr)) return names;
  Elf64_Ehdr eh;
  std::memcpy(&eh, obj.data(), sizeof(eh));
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
      eh.e_ident[EI_DATA] != ELFDATA2LSB)
    return names;
  *machine = eh.e_machine;
  auto section = [&](size_t i) {
    Elf64_Shdr sh;
    std::memcpy(&sh, obj.data() + eh.e_shoff + i * sizeof(Elf64_Shdr), sizeof(sh));
    return sh;
  };
  if (eh.e_shoff + size_t{eh.e_shnum} * sizeof(Elf64_Shdr) > obj.size()) return names;
  Elf64_Shdr strtab = section(eh.e_shstrndx);
  for (size_t i = 0; i < eh.e_shnum; i++) {
    size_t off = strtab.sh_offset + section(i).sh_name;
    if (off < obj.size()) names.insert(std::string(obj.data() + off));
  }
  return names;
}

class CompileTest : public ::testing::Test {
 protected:
  // One program (router linked to the skeleton) shared by the tests that only
  // inspect it.
  static const CompileResult& program() {
    static const CompileResult r = compileProgram(dae::test::kTestRules, SkeletonFeatures{});
    return r;
  }
};

TEST_F(CompileTest, TemplatesAreEmbedded) {
  auto t = dae::embedded::bpf_templates();
  for (const char* f : {"dae/abi.h", "dae/parse.h", "dae/conntrack.h", "dae/router.h", "dae/skeleton.c"}) {
    auto c = dae::embedded::find(t, f);
    ASSERT_TRUE(c.has_value()) << f;
    EXPECT_FALSE(c->empty()) << f;
  }
}

// The objects the build embedded are what the templates compile to now: the
// build step is deterministic and the table is not stale.
TEST_F(CompileTest, PrebuiltSkeletonsMatchTheTemplates) {
  auto variants = dae::driver::skeletonVariants();
  ASSERT_EQ(dae::embedded::bpf_skeletons().size(), variants.size());
  for (const auto& v : variants) {
    auto prebuilt = dae::driver::prebuiltSkeleton(v);
    std::vector<char> fresh = dae::driver::compileSkeleton(v);
    EXPECT_TRUE(std::vector<char>(prebuilt.begin(), prebuilt.end()) == fresh) << dae::driver::skeletonObjectName(v);
  }
  EXPECT_NE(dae::driver::skeletonObjectName(variants[0]), dae::driver::skeletonObjectName(variants[1]));
}

TEST_F(CompileTest, CompilesRouterAndLinksCleanly) {
  const CompileResult& r = program();
  ASSERT_TRUE(r.ok) << r.diagnostics;
  // -Wall is on: the router header must not make generated code noisy.
  EXPECT_EQ(r.diagnostics, "");
  EXPECT_FALSE(r.object.empty());
}

TEST_F(CompileTest, ProgramIsBpfElfWithBtf) {
  const CompileResult& r = program();
  ASSERT_TRUE(r.ok) << r.diagnostics;
  uint16_t machine = 0;
  auto sections = elfSections(r.object, &machine);
  ASSERT_FALSE(sections.empty()) << "not an ELF64 little-endian object";
  EXPECT_EQ(machine, EM_BPF);
  for (const char* s : {".BTF", ".BTF.ext", ".maps", "tc", "license", "cgroup/sock_create"})
    EXPECT_TRUE(sections.count(s)) << "missing section " << s;
}

// Both pipelines compile a router to an object with BTF (libbpf needs it for
// the maps, the linker for the externs); the Router one drops the line table,
// so its .BTF.ext is the smaller.
TEST_F(CompileTest, RouterPipelineKeepsBtfButNotTheLineTable) {
  CompileOptions clang;
  CompileResult full = compileBpf(dae::test::kTestRules, clang);
  CompileResult lean = compileBpf(dae::test::kTestRules, routerOptions());
  ASSERT_TRUE(full.ok && lean.ok) << full.diagnostics << lean.diagnostics;
  uint16_t machine = 0;
  for (const auto* r : {&full, &lean}) {
    auto sections = elfSections(r->object, &machine);
    EXPECT_TRUE(sections.count(".BTF") && sections.count(".BTF.ext") && sections.count(".maps"));
  }
  EXPECT_LT(lean.object.size(), full.object.size());
}

TEST_F(CompileTest, OutputIsDeterministic) {
  CompileResult a = compileProgram(dae::test::kTestRules, SkeletonFeatures{});
  CompileResult b = compileProgram(dae::test::kTestRules, SkeletonFeatures{});
  ASSERT_TRUE(a.ok && b.ok) << a.diagnostics << b.diagnostics;
  EXPECT_TRUE(a.object == b.object) << "two compiles of the same input differ";
  EXPECT_TRUE(a.object == program().object);
}

TEST_F(CompileTest, ConcurrentCompilesAgree) {
  auto f1 = std::async(std::launch::async, [] { return compileProgram(dae::test::kTestRules, SkeletonFeatures{}); });
  auto f2 = std::async(std::launch::async, [] { return compileProgram(dae::test::kTestRules, SkeletonFeatures{}); });
  CompileResult a = f1.get(), b = f2.get();
  ASSERT_TRUE(a.ok && b.ok) << a.diagnostics << b.diagnostics;
  EXPECT_TRUE(a.object == b.object);
}

TEST_F(CompileTest, SkeletonVariantsGiveDifferentPrograms) {
  SkeletonFeatures noPname;
  noPname.pname = false;
  CompileResult r = compileProgram(dae::test::kTestRules, noPname);
  ASSERT_TRUE(r.ok) << r.diagnostics;
  EXPECT_FALSE(r.object == program().object);
}

TEST_F(CompileTest, LinkRejectsTwoDefinitionsOfTheEntryPoint) {
  CompileResult router = compileBpf(dae::test::kTestRules, routerOptions());
  ASSERT_TRUE(router.ok) << router.diagnostics;
  const std::span<const char> twice[] = {router.object, router.object};
  EXPECT_THROW(dae::driver::linkBpfObjects(twice), dae::driver::DriverError);
}

TEST_F(CompileTest, NoDebugInfoMeansNoBtf) {
  for (Pipeline p : {Pipeline::Clang, Pipeline::Router}) {
    CompileOptions o;
    o.pipeline = p;
    o.debugInfo = false;
    CompileResult r = compileBpf(dae::test::kTestRules, o);
    ASSERT_TRUE(r.ok) << r.diagnostics;
    uint16_t machine = 0;
    EXPECT_FALSE(elfSections(r.object, &machine).count(".BTF"));
  }
}

TEST_F(CompileTest, SyntaxErrorIsReportedWithItsLine) {
  // Captures fd 2 around the compile: diagnostics must go to the result only.
  int saved = dup(2);
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  dup2(pipefd[1], 2);
  close(pipefd[1]);
  CompileResult r = compileProgram(
      "#define DAE_MAX_RULES 1\n"
      "#include \"dae/router.h\"\n"
      "static __always_inline void dae_route(const struct dae_route_ctx *ctx, struct dae_route_result *res) {\n"
      "  res->outbound = 1 +;\n"
      "}\n",
      SkeletonFeatures{});
  dup2(saved, 2);
  close(saved);
  char buf[256];
  ssize_t n = read(pipefd[0], buf, sizeof(buf));  // the write end is closed: never blocks
  close(pipefd[0]);

  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.object.empty());
  EXPECT_NE(r.diagnostics.find("/dae/rules.c:4:"), std::string::npos) << r.diagnostics;
  EXPECT_NE(r.diagnostics.find("error:"), std::string::npos) << r.diagnostics;
  EXPECT_NE(r.diagnostics.find("res->outbound = 1 +;"), std::string::npos)
      << "the source line should be quoted: " << r.diagnostics;
  EXPECT_LE(n, 0) << "compiler wrote to stderr: " << std::string(buf, n > 0 ? n : 0);
}

TEST_F(CompileTest, MissingMaxRulesIsDiagnosedByTheRouterHeader) {
  CompileResult r = compileBpf("#include \"dae/router.h\"\n", routerOptions());
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.diagnostics.find("DAE_MAX_RULES"), std::string::npos) << r.diagnostics;
}

TEST_F(CompileTest, DefinesAndExtraFiles) {
  CompileOptions o;
  o.defines = {{"DAE_MAX_RULES", "6"}, {"DAE_TEST_FLAG", ""}};
  o.extraFiles = {{"gen/route.h", std::string(dae::test::kTestRules.substr(
                                      dae::test::kTestRules.find("#include")))}};
  CompileResult r = compileBpf(
      "#ifndef DAE_TEST_FLAG\n#error defines not applied\n#endif\n"
      "#define DAE_DOMAIN_WORDS 1\n"
      "#include \"gen/route.h\"\n",
      o);
  EXPECT_TRUE(r.ok) << r.diagnostics;
}

TEST_F(CompileTest, BadOptionsThrow) {
  CompileOptions o;
  o.optLevel = 7;
  EXPECT_THROW(compileBpf("int x;", o), dae::driver::DriverError);
  CompileOptions e;
  e.extraFiles = {{"../escape.h", ""}};
  EXPECT_THROW(compileBpf("int x;", e), dae::driver::DriverError);
}

}  // namespace
