// The syntax tree of a dae config, with a source range on every node.
//
// The language is generic: a section holds declarations (`key: value`), routing
// rules (`f(..) && g(..) -> outbound`), bare literals and nested sections. The tree
// keeps exactly that shape; meaning is given by sema.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "frontend/Source.h"

namespace dae::ast {

using frontend::SourceRange;

struct Literal {
  std::string text;   // the value: quotes removed, escaped delimiters resolved
  bool quoted = false;
  SourceRange range;
};

// A function parameter or annotation entry: `value` or `key: value`.
struct Param {
  std::optional<std::string> key;
  SourceRange keyRange;
  Literal value;
  SourceRange range;
};

// `name(params)` or `!name(params)`.
struct Call {
  bool negated = false;
  std::string name;
  SourceRange nameRange;
  std::vector<Param> params;
  SourceRange range;
};

// The right side of a rule: `direct`, `my_group(must)`, `direct(mark: 0x800)`.
struct Outbound {
  Literal name;
  bool hasParens = false;
  std::vector<Param> params;
  SourceRange range;
};

struct Declaration {
  std::string key;
  SourceRange keyRange;
  bool isCalls = false;           // the value is a conjunction of calls
  std::vector<Literal> values;    // when !isCalls: one or more comma-separated literals
  std::vector<Call> calls;        // when isCalls: f(..) && g(..)
  std::vector<Param> annotation;  // `[key: value, ...]`, empty if none
  bool hasAnnotation = false;
  SourceRange range;
};

struct RoutingRule {
  std::vector<Call> conditions;  // AND-ed
  Outbound outbound;
  SourceRange range;
};

struct LiteralItem {
  Literal value;
  std::vector<Param> annotation;
  bool hasAnnotation = false;
};

struct Section;
using Item = std::variant<Declaration, RoutingRule, LiteralItem, std::unique_ptr<Section>>;

struct Section {
  std::string name;
  SourceRange nameRange;
  std::vector<Item> items;
  SourceRange range;
};

// One parsed file.
struct File {
  uint32_t fileId = 0;
  std::vector<std::unique_ptr<Section>> sections;
};

// The whole config after includes are resolved: every top-level section of every
// file, in reading order (entry file first, then included files in sorted order).
struct Config {
  std::vector<File> files;
};

// Returns a short human name of an item's kind ("declaration", "routing rule", ...).
const char* itemKind(const Item& item);
SourceRange itemRange(const Item& item);

}  // namespace dae::ast
