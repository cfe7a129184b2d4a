// The include loader on real files in a temporary directory: globs, order,
// confinement to the entry file's directory, cycles, missing files, limits.
#include "frontend/Loader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

namespace dae::frontend {
namespace {
namespace fs = std::filesystem;

class LoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "dae-loader-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    top_ = fs::canonical(tmpl);
    root_ = top_ / "root";
    fs::create_directories(root_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(top_, ec);
  }

  // Writes `text` to `rel` (relative to the config root) and returns its path.
  fs::path write(const fs::path& rel, const std::string& text, const fs::path& base = {}) {
    fs::path p = (base.empty() ? root_ : base) / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }

  ast::Config load(const std::string& entry = "config.dae") {
    return loadConfig((root_ / entry).string(), sources_, diags_, options_);
  }

  std::string text() const {
    std::ostringstream out;
    diags_.print(out);
    return out.str();
  }
  bool has(Severity s, const std::string& needle) const {
    for (const auto& d : diags_.all())
      if (d.severity == s && d.message.find(needle) != std::string::npos) return true;
    return false;
  }
  // The file names of the loaded files, in order, relative to the root.
  std::vector<std::string> names(const ast::Config& cfg) const {
    std::vector<std::string> out;
    for (const auto& f : cfg.files) out.push_back(fs::relative(sources_.path(f.fileId), root_).string());
    return out;
  }

  fs::path top_, root_;
  SourceManager sources_;
  DiagnosticEngine diags_{sources_};
  LoadOptions options_;
};

using Names = std::vector<std::string>;

TEST_F(LoaderTest, SingleFile) {
  write("config.dae", "global {}\nrouting {}\n");
  ast::Config cfg = load();
  EXPECT_EQ(diags_.all().size(), 0u) << text();
  ASSERT_EQ(cfg.files.size(), 1u);
  EXPECT_EQ(cfg.files[0].sections.size(), 2u);
}

TEST_F(LoaderTest, GlobsLoadInSortedOrder) {
  write("config.dae", "global {}\ninclude {\n  config.d/*.dae\n}\nrouting {}\n");
  write("config.d/b.dae", "node { b: 'socks5://b:1' }\n");
  write("config.d/a.dae", "node { a: 'socks5://a:1' }\n");
  write("config.d/c.txt", "this is not a config {\n");
  write("config.d/10-x.dae", "dns {}\n");
  ast::Config cfg = load();
  EXPECT_EQ(diags_.all().size(), 0u) << text();
  EXPECT_EQ(names(cfg), (Names{"config.dae", "config.d/10-x.dae", "config.d/a.dae", "config.d/b.dae"}));
  // The included file's sections are in the tree with that file's id.
  EXPECT_EQ(cfg.files[2].sections[0]->name, "node");
  EXPECT_EQ(cfg.files[2].sections[0]->nameRange.file, cfg.files[2].fileId);
}

TEST_F(LoaderTest, SeveralPatternsAndQuotedNames) {
  write("config.dae", "include {\n  'z file.dae'\n  \"sub/?.dae\"\n}\ninclude { sub/[xy].dae }\n");
  write("z file.dae", "");
  write("sub/1.dae", "");
  write("sub/x.dae", "");
  write("sub/long.dae", "");
  ast::Config cfg = load();
  EXPECT_FALSE(diags_.hasErrors()) << text();
  Names n = names(cfg);
  EXPECT_NE(std::find(n.begin(), n.end(), "z file.dae"), n.end()) << text();
  EXPECT_NE(std::find(n.begin(), n.end(), "sub/1.dae"), n.end()) << text();
  EXPECT_NE(std::find(n.begin(), n.end(), "sub/x.dae"), n.end()) << text();
  EXPECT_EQ(std::find(n.begin(), n.end(), "sub/long.dae"), n.end()) << text();
}

TEST_F(LoaderTest, NestedIncludesAreRelativeToTheEntryDirectory) {
  write("config.dae", "include { d1/a.dae }\n");
  // a.dae is in d1/, but its pattern is still read from the entry's directory.
  write("d1/a.dae", "include { d2/b.dae }\n");
  write("d2/b.dae", "global {}\n");
  write("d1/d2/b.dae", "routing {}\n");
  ast::Config cfg = load();
  EXPECT_EQ(diags_.all().size(), 0u) << text();
  EXPECT_EQ(names(cfg), (Names{"config.dae", "d1/a.dae", "d2/b.dae"}));
}

TEST_F(LoaderTest, AbsolutePatternInsideTheRootIsFine) {
  write("config.dae", "include { '" + (root_ / "part.dae").string() + "' }\n");
  write("part.dae", "global {}\n");
  ast::Config cfg = load();
  EXPECT_EQ(diags_.all().size(), 0u) << text();
  EXPECT_EQ(cfg.files.size(), 2u);
}

// ---- confinement --------------------------------------------------------------------------

TEST_F(LoaderTest, ParentDirectoryIsRefused) {
  write("outside.dae", "global {}\n", top_);
  write("config.dae", "include { ../outside.dae }\n");
  ast::Config cfg = load();
  EXPECT_EQ(diags_.errorCount(), 1u) << text();
  EXPECT_TRUE(has(Severity::Error, "is outside the config directory")) << text();
  EXPECT_EQ(cfg.files.size(), 1u);
  // The error points at the pattern.
  EXPECT_EQ(diags_.all()[0].range.line, 1u);
  EXPECT_EQ(diags_.all()[0].range.col, 11u);
}

TEST_F(LoaderTest, AbsolutePathOutsideIsRefused) {
  fs::path outside = write("outside.dae", "global {}\n", top_);
  write("config.dae", "include { '" + outside.string() + "' }\n");
  ast::Config cfg = load();
  EXPECT_TRUE(has(Severity::Error, "is outside the config directory")) << text();
  EXPECT_EQ(cfg.files.size(), 1u);
}

TEST_F(LoaderTest, SiblingDirectoryWithTheSamePrefixIsRefused) {
  // root2/ starts with "root" but is not inside root/.
  write("x.dae", "global {}\n", top_ / "root2");
  write("config.dae", "include { ../root2/x.dae }\n");
  ast::Config cfg = load();
  EXPECT_TRUE(has(Severity::Error, "is outside the config directory")) << text();
  EXPECT_EQ(cfg.files.size(), 1u);
}

TEST_F(LoaderTest, SymlinkEscapingTheRootIsRefused) {
  fs::path outside = write("secret.dae", "global {}\n", top_);
  fs::create_symlink(outside, root_ / "link.dae");
  fs::create_directory_symlink(top_, root_ / "up");
  write("config.dae", "include { link.dae\n up/secret.dae }\n");
  ast::Config cfg = load();
  EXPECT_EQ(diags_.errorCount(), 2u) << text();
  EXPECT_EQ(cfg.files.size(), 1u);
}

TEST_F(LoaderTest, SymlinkInsideTheRootIsFine) {
  write("real/part.dae", "global {}\n");
  fs::create_symlink(root_ / "real" / "part.dae", root_ / "alias.dae");
  write("config.dae", "include { alias.dae }\n");
  ast::Config cfg = load();
  EXPECT_EQ(diags_.all().size(), 0u) << text();
  EXPECT_EQ(cfg.files.size(), 2u);
}

TEST_F(LoaderTest, EntryFileReachedThroughASymlinkedDirectory) {
  // The root is the entry's real directory, so includes resolve there.
  write("part.dae", "global {}\n");
  write("config.dae", "include { part.dae }\n");
  fs::create_directory_symlink(root_, top_ / "alias");
  ast::Config cfg = loadConfig((top_ / "alias" / "config.dae").string(), sources_, diags_);
  EXPECT_EQ(diags_.all().size(), 0u) << text();
  EXPECT_EQ(cfg.files.size(), 2u);
}

// ---- cycles, duplicates -----------------------------------------------------------------------

TEST_F(LoaderTest, CycleIsAnError) {
  write("config.dae", "include { a.dae }\n");
  write("a.dae", "include { b.dae }\n");
  write("b.dae", "include { a.dae }\n");
  ast::Config cfg = load();
  EXPECT_EQ(diags_.errorCount(), 1u) << text();
  EXPECT_TRUE(has(Severity::Error, "include cycle")) << text();
  EXPECT_EQ(names(cfg), (Names{"config.dae", "a.dae", "b.dae"}));
  // Reported in the file that closes the cycle.
  for (const auto& d : diags_.all()) {
    if (d.severity == Severity::Error) {
      EXPECT_EQ(fs::path(sources_.path(d.range.file)).filename(), "b.dae");
      EXPECT_NE(d.message.find("a.dae -> b.dae -> a.dae"), std::string::npos) << d.message;
    }
  }
}

TEST_F(LoaderTest, FileIncludingItselfIsACycle) {
  write("config.dae", "include { a.dae }\n");
  write("a.dae", "include { a.dae }\n");
  load();
  EXPECT_TRUE(has(Severity::Error, "include cycle")) << text();
}

TEST_F(LoaderTest, GlobMatchingTheEntryFileSkipsIt) {
  // `*.dae` next to the entry matches the entry itself: that is no cycle.
  write("config.dae", "global {}\ninclude { '*.dae' }\n");
  write("part.dae", "routing {}\n");
  ast::Config cfg = load();
  EXPECT_EQ(diags_.all().size(), 0u) << text();
  EXPECT_EQ(names(cfg), (Names{"config.dae", "part.dae"}));
}

TEST_F(LoaderTest, IncludedTwiceWarns) {
  write("config.dae", "include { a.dae\n '?.dae' }\n");
  write("a.dae", "global {}\n");
  ast::Config cfg = load();
  EXPECT_EQ(diags_.errorCount(), 0u) << text();
  EXPECT_TRUE(has(Severity::Warning, "is included more than once")) << text();
  EXPECT_EQ(cfg.files.size(), 2u);
}

TEST_F(LoaderTest, DiamondLoadsEachFileOnce) {
  write("config.dae", "include { a.dae\n b.dae }\n");
  write("a.dae", "include { c.dae }\n");
  write("b.dae", "include { c.dae }\n");
  write("c.dae", "global {}\n");
  ast::Config cfg = load();
  EXPECT_EQ(diags_.errorCount(), 0u) << text();
  EXPECT_EQ(names(cfg), (Names{"config.dae", "a.dae", "c.dae", "b.dae"}));
}

TEST_F(LoaderTest, DepthLimit) {
  options_.maxIncludeDepth = 4;
  write("config.dae", "include { f1.dae }\n");
  for (int i = 1; i <= 10; ++i) write("f" + std::to_string(i) + ".dae", "include { f" + std::to_string(i + 1) + ".dae }\n");
  write("f11.dae", "");
  ast::Config cfg = load();
  EXPECT_EQ(diags_.errorCount(), 1u) << text();
  EXPECT_TRUE(has(Severity::Error, "includes nested deeper than 4 levels")) << text();
  EXPECT_EQ(cfg.files.size(), 5u);  // the entry and four levels
}

// ---- missing and unreadable files ----------------------------------------------------------------

TEST_F(LoaderTest, MissingFileIsAWarning) {
  write("config.dae", "include {\n  nope.dae\n  config.d/*.dae\n}\n");
  ast::Config cfg = load();
  EXPECT_EQ(diags_.errorCount(), 0u) << text();
  EXPECT_EQ(diags_.warningCount(), 2u) << text();
  EXPECT_TRUE(has(Severity::Warning, "include pattern 'nope.dae' matches no file")) << text();
  EXPECT_TRUE(has(Severity::Warning, "include pattern 'config.d/*.dae' matches no file")) << text();
  EXPECT_EQ(diags_.all()[0].range.line, 2u);
  EXPECT_EQ(cfg.files.size(), 1u);
}

TEST_F(LoaderTest, MissingEntryFile) {
  ast::Config cfg = load("absent.dae");
  EXPECT_EQ(diags_.errorCount(), 1u);
  EXPECT_TRUE(has(Severity::Error, "cannot read")) << text();
  EXPECT_FALSE(diags_.all()[0].range.valid());
  EXPECT_TRUE(cfg.files.empty());
}

TEST_F(LoaderTest, EntryIsADirectory) {
  fs::create_directories(root_ / "dir.dae");
  load("dir.dae");
  EXPECT_TRUE(has(Severity::Error, "is a directory")) << text();
}

TEST_F(LoaderTest, OnlyRegularDaeFilesAreIncluded) {
  // As upstream: directories and files not named *.dae that a pattern matches are skipped.
  fs::create_directories(root_ / "sub");
  fs::create_directories(root_ / "dir.dae");
  write("notes.txt", "not a config {\n");
  write("config.dae", "include {\n  sub\n  dir.dae\n  notes.txt\n}\n");
  ast::Config cfg = load();
  EXPECT_EQ(diags_.errorCount(), 0u) << text();
  EXPECT_EQ(diags_.warningCount(), 3u) << text();
  EXPECT_TRUE(has(Severity::Warning, "include pattern 'sub' matches no file named *.dae")) << text();
  EXPECT_EQ(cfg.files.size(), 1u);
}

TEST_F(LoaderTest, UnreadableFile) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads any file";
  fs::path p = write("secret.dae", "global {}\n");
  fs::permissions(p, fs::perms::none);
  write("config.dae", "include { secret.dae }\n");
  load();
  EXPECT_TRUE(has(Severity::Error, "cannot read included file")) << text();
}

TEST_F(LoaderTest, DanglingSymlink) {
  fs::create_symlink(root_ / "gone.dae", root_ / "dangling.dae");
  write("config.dae", "include { dangling.dae }\n");
  ast::Config cfg = load();
  EXPECT_EQ(diags_.errorCount() + diags_.warningCount(), 1u) << text();
  EXPECT_TRUE(has(Severity::Error, "cannot resolve included file") || has(Severity::Warning, "matches no file"))
      << text();
  EXPECT_EQ(cfg.files.size(), 1u);
}

TEST_F(LoaderTest, SyntaxErrorsInIncludedFilesNameThatFile) {
  write("config.dae", "global {}\ninclude { bad.dae }\nrouting {}\n");
  write("bad.dae", "node {\n  a: \n}\n");
  ast::Config cfg = load();
  ASSERT_EQ(diags_.errorCount(), 1u) << text();
  const Diagnostic& d = diags_.all()[0];
  EXPECT_EQ(fs::path(sources_.path(d.range.file)).filename(), "bad.dae");
  EXPECT_EQ(d.range.line, 3u);
  EXPECT_NE(text().find("bad.dae:3:1: error:"), std::string::npos) << text();
  // The entry file is still in the tree.
  EXPECT_EQ(cfg.files[0].sections.size(), 3u);
}

TEST_F(LoaderTest, IncludeHoldsOnlyPaths) {
  write("config.dae", "include {\n  a: b.dae\n  sub { }\n}\n");
  load();
  EXPECT_EQ(diags_.errorCount(), 2u) << text();
  EXPECT_TRUE(has(Severity::Error, "'include' holds file paths or globs")) << text();
}

// ---- text configs ----------------------------------------------------------------------------------

TEST_F(LoaderTest, TextWithoutBaseDirCannotInclude) {
  ast::Config cfg = loadConfigText("<stdin>", "global {}\ninclude { a.dae }\n", sources_, diags_);
  EXPECT_EQ(diags_.errorCount(), 1u) << text();
  EXPECT_TRUE(has(Severity::Error, "'include' is only possible in a config read from a file")) << text();
  EXPECT_EQ(cfg.files.size(), 1u);
}

TEST_F(LoaderTest, TextWithBaseDirIncludes) {
  write("a.dae", "routing {}\n");
  ast::Config cfg = loadConfigText("<stdin>", "global {}\ninclude { a.dae }\n", sources_, diags_, root_.string());
  EXPECT_EQ(diags_.all().size(), 0u) << text();
  ASSERT_EQ(cfg.files.size(), 2u);
  EXPECT_EQ(sources_.path(cfg.files[0].fileId), "<stdin>");
  EXPECT_EQ(cfg.files[1].sections[0]->name, "routing");
}

TEST_F(LoaderTest, TextBaseDirIsConfinedToo) {
  write("outside.dae", "global {}\n", top_);
  loadConfigText("<stdin>", "include { ../outside.dae }\n", sources_, diags_, root_.string());
  EXPECT_TRUE(has(Severity::Error, "is outside the config directory")) << text();
}

}  // namespace
}  // namespace dae::frontend
