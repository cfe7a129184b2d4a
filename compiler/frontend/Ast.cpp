#include "frontend/Ast.h"

namespace dae::ast {

const char* itemKind(const Item& item) {
  switch (item.index()) {
    case 0: return "declaration";
    case 1: return "routing rule";
    case 2: return "bare value";
    default: return "section";
  }
}

SourceRange itemRange(const Item& item) {
  if (auto* d = std::get_if<Declaration>(&item)) return d->range;
  if (auto* r = std::get_if<RoutingRule>(&item)) return r->range;
  if (auto* l = std::get_if<LiteralItem>(&item)) return l->value.range;
  return std::get<std::unique_ptr<Section>>(item)->nameRange;
}

}  // namespace dae::ast
