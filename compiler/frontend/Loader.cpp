#include "frontend/Loader.h"

#include <glob.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace dae::frontend {
namespace fs = std::filesystem;

namespace {

bool readFile(const std::string& path, std::string& out, std::string& err) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    err = "is a directory";
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    err = std::strerror(errno);
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

class Loader {
 public:
  Loader(SourceManager& sources, DiagnosticEngine& diags, std::string baseDir, const LoadOptions& options)
      : sources_(sources), diags_(diags), baseDir_(std::move(baseDir)), options_(options) {}

  void load(uint32_t fileId, const std::string& canonical, unsigned depth) {
    ast::File file = parseFile(sources_, fileId, diags_, options_.limits);
    loaded_.insert(canonical);
    stack_.push_back(canonical);
    // Collect include patterns before moving the file into the result.
    std::vector<const ast::Literal*> patterns;
    for (const auto& s : file.sections) {
      if (s->name != "include") continue;
      for (const auto& item : s->items) {
        if (const auto* l = std::get_if<ast::LiteralItem>(&item))
          patterns.push_back(&l->value);
        else
          diags_.error(ast::itemRange(item), "'include' holds file paths or globs, one per line");
      }
    }
    size_t index = config_.files.size();
    config_.files.push_back(std::move(file));
    // The AST nodes are heap-allocated, so the literal pointers survive the move.
    for (const ast::Literal* p : patterns) include(*p, depth);
    (void)index;
    stack_.pop_back();
  }

  ast::Config take() { return std::move(config_); }

 private:
  void include(const ast::Literal& pattern, unsigned depth) {
    if (baseDir_.empty()) {
      diags_.error(pattern.range, "'include' is only possible in a config read from a file");
      return;
    }
    if (depth + 1 > options_.maxIncludeDepth) {
      diags_.error(pattern.range, "includes nested deeper than " + std::to_string(options_.maxIncludeDepth) + " levels");
      return;
    }
    std::string full = pattern.text;
    if (full.empty() || full[0] != '/') full = baseDir_ + "/" + full;
    glob_t g{};
    int rc = ::glob(full.c_str(), GLOB_ERR, nullptr, &g);
    std::vector<std::string> matches;
    size_t skipped = 0;
    if (rc == 0) {
      for (size_t i = 0; i < g.gl_pathc; ++i) {
        // As upstream: only regular files named *.dae are included; directories and
        // other files a glob happens to match are skipped.
        std::string m = g.gl_pathv[i];
        std::error_code ec;
        if (m.size() < 4 || m.compare(m.size() - 4, 4, ".dae") != 0 || fs::is_directory(m, ec)) {
          ++skipped;
          continue;
        }
        matches.push_back(std::move(m));
      }
    }
    globfree(&g);
    std::sort(matches.begin(), matches.end());
    if (matches.empty()) {
      diags_.warning(pattern.range, "include pattern '" + pattern.text + "' matches no " +
                                        (skipped ? "file named *.dae" : "file"));
      return;
    }
    for (const auto& m : matches) {
      std::error_code ec;
      std::string canonical = fs::canonical(m, ec).string();
      if (ec) {
        diags_.error(pattern.range, "cannot resolve included file '" + m + "': " + ec.message());
        continue;
      }
      // Confine includes to the entry file's directory: a config must not pull in
      // arbitrary files of the system.
      if (canonical.rfind(baseDir_ + "/", 0) != 0) {
        diags_.error(pattern.range, "included file '" + m + "' is outside the config directory '" + baseDir_ + "'");
        continue;
      }
      if (auto it = std::find(stack_.begin(), stack_.end(), canonical); it != stack_.end()) {
        if (canonical != stack_.front()) {
          // Name the whole cycle, relative to the config directory: a.dae -> b.dae -> a.dae.
          std::string chain;
          for (; it != stack_.end(); ++it) chain += relative(*it) + " -> ";
          diags_.error(pattern.range, "include cycle: " + chain + relative(canonical));
        }
        continue;  // a glob that matches the entry file itself is skipped
      }
      if (loaded_.count(canonical)) {
        diags_.warning(pattern.range, "'" + m + "' is included more than once; later inclusions are ignored");
        continue;
      }
      std::string text, err;
      if (!readFile(canonical, text, err)) {
        diags_.error(pattern.range, "cannot read included file '" + m + "': " + err);
        continue;
      }
      uint32_t id = sources_.add(m, std::move(text));
      load(id, canonical, depth + 1);
    }
  }

  std::string relative(const std::string& canonical) const {
    return canonical.rfind(baseDir_ + "/", 0) == 0 ? canonical.substr(baseDir_.size() + 1) : canonical;
  }

  SourceManager& sources_;
  DiagnosticEngine& diags_;
  std::string baseDir_;
  const LoadOptions& options_;
  ast::Config config_;
  std::set<std::string> loaded_;
  std::vector<std::string> stack_;
};

}  // namespace

ast::Config loadConfig(const std::string& entryPath, SourceManager& sources, DiagnosticEngine& diags,
                       const LoadOptions& options) {
  std::string text, err;
  if (!readFile(entryPath, text, err)) {
    diags.error({}, "cannot read '" + entryPath + "': " + err);
    return {};
  }
  std::error_code ec;
  fs::path canonical = fs::canonical(entryPath, ec);
  std::string baseDir = ec ? fs::absolute(entryPath).parent_path().string() : canonical.parent_path().string();
  uint32_t id = sources.add(entryPath, std::move(text));
  Loader loader(sources, diags, baseDir, options);
  loader.load(id, ec ? entryPath : canonical.string(), 0);
  return loader.take();
}

ast::Config loadConfigText(const std::string& name, std::string text, SourceManager& sources, DiagnosticEngine& diags,
                           const std::string& baseDir, const LoadOptions& options) {
  uint32_t id = sources.add(name, std::move(text));
  std::string base;
  if (!baseDir.empty()) {
    std::error_code ec;
    base = fs::canonical(baseDir, ec).string();
    if (ec) base = baseDir;
  }
  Loader loader(sources, diags, base, options);
  loader.load(id, name, 0);
  return loader.take();
}

}  // namespace dae::frontend
