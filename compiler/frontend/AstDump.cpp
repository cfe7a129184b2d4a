#include "frontend/AstDump.h"

#include <filesystem>

namespace dae::frontend {
namespace {

std::string at(const SourceRange& r) { return "<" + std::to_string(r.line) + ":" + std::to_string(r.col) + ">"; }

std::string lit(const ast::Literal& l) {
  if (!l.quoted) return l.text;
  std::string out = "'";
  for (char c : l.text) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

std::string params(const std::vector<ast::Param>& ps) {
  std::string out;
  for (size_t i = 0; i < ps.size(); ++i) {
    if (i) out += ", ";
    if (ps[i].key) out += *ps[i].key + ": ";
    out += lit(ps[i].value);
  }
  return out;
}

std::string call(const ast::Call& c) {
  return std::string(c.negated ? "!" : "") + c.name + "(" + params(c.params) + ")";
}

std::string calls(const std::vector<ast::Call>& cs) {
  std::string out;
  for (size_t i = 0; i < cs.size(); ++i) out += (i ? " && " : "") + call(cs[i]);
  return out;
}

class Dumper {
 public:
  explicit Dumper(std::ostream& out) : out_(out) {}

  void section(const ast::Section& s, int depth) {
    indent(depth);
    out_ << "Section " << s.name << ' ' << at(s.nameRange) << '\n';
    for (const auto& item : s.items) {
      if (auto* d = std::get_if<ast::Declaration>(&item)) {
        indent(depth + 1);
        out_ << "Declaration " << d->key << ' ' << at(d->keyRange) << " = ";
        if (d->isCalls) {
          out_ << calls(d->calls);
        } else {
          for (size_t i = 0; i < d->values.size(); ++i) out_ << (i ? ", " : "") << lit(d->values[i]);
        }
        if (d->hasAnnotation) out_ << " [" << params(d->annotation) << "]";
        out_ << '\n';
      } else if (auto* r = std::get_if<ast::RoutingRule>(&item)) {
        indent(depth + 1);
        out_ << "Rule " << at(r->range) << ' ' << calls(r->conditions) << " -> " << r->outbound.name.text;
        if (r->outbound.hasParens) out_ << "(" << params(r->outbound.params) << ")";
        out_ << '\n';
      } else if (auto* l = std::get_if<ast::LiteralItem>(&item)) {
        indent(depth + 1);
        out_ << "Value " << at(l->value.range) << ' ' << lit(l->value);
        if (l->hasAnnotation) out_ << " [" << params(l->annotation) << "]";
        out_ << '\n';
      } else {
        section(*std::get<std::unique_ptr<ast::Section>>(item), depth + 1);
      }
    }
  }

 private:
  void indent(int depth) {
    for (int i = 0; i < depth; ++i) out_ << "  ";
  }
  std::ostream& out_;
};

}  // namespace

void dumpAst(const ast::Config& config, const SourceManager& sources, std::ostream& out) {
  Dumper dumper(out);
  for (const auto& file : config.files) {
    // File names only: golden files must not depend on where the tree is checked out.
    out << "File " << std::filesystem::path(sources.path(file.fileId)).filename().string() << '\n';
    for (const auto& s : file.sections) dumper.section(*s, 1);
  }
}

}  // namespace dae::frontend
