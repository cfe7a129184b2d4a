// Internal to sema: the checker's shared state, split over several .cpp files by
// section (Checker.cpp: global, nodes, groups; Routing.cpp; Dns.cpp).
#pragma once
#include <map>
#include <set>
#include <string>
#include <vector>

#include "frontend/Ast.h"
#include "frontend/Diagnostics.h"
#include "sema/Checker.h"
#include "sema/Model.h"

namespace dae::sema::detail {

using SectionList = std::vector<const ast::Section*>;

class Checker {
 public:
  Checker(frontend::DiagnosticEngine& diags, const CheckOptions& options) : diags_(diags), options_(options) {}
  Config run(const ast::Config& config);

  // Section checkers.
  void checkGlobal(const SectionList& sections);
  void checkNodes(const SectionList& sections);
  void checkSubscriptions(const SectionList& sections);
  void checkGroups(const SectionList& sections);
  void checkRouting(const SectionList& sections);
  void checkDns(const SectionList& sections);
  void resolveOutbounds();

  // Helpers shared by the section checkers.
  void error(frontend::SourceRange at, std::string msg) { diags_.error(at, std::move(msg)); }
  void warning(frontend::SourceRange at, std::string msg) { diags_.warning(at, std::move(msg)); }
  void note(frontend::SourceRange at, std::string msg) { diags_.note(at, std::move(msg)); }
  // An unresolved name: an error for a whole config, a warning for a fragment.
  void unresolved(frontend::SourceRange at, std::string msg);
  void unknownKey(const ast::Declaration& d, const std::string& section, const std::vector<std::string>& known);
  void unexpectedItem(const ast::Item& item, const std::string& section, const char* expected);
  // The single literal value of a declaration, or null after reporting why not.
  const ast::Literal* singleValue(const ast::Declaration& d);
  // Every literal of a declaration, each split at commas and trimmed.
  std::vector<std::string> listValue(const ast::Declaration& d);
  bool checkRegex(const std::string& pattern, frontend::SourceRange at);
  void checkGroupBody(const ast::Section& s, Group& g);
  void checkDnsUpstreams(const ast::Section& s);
  void checkDnsRouting(const ast::Section& s);
  void checkDnsRuleSection(const ast::Section& s, bool request, DnsRouting& out);
  Matcher checkRoutingArg(Field field, const ast::Param& p, const std::string& fn);
  Condition checkCondition(const ast::Call& call);
  OutboundRef checkOutbound(const ast::Literal& name, bool hasParens, const std::vector<ast::Param>& params,
                            frontend::SourceRange range, bool isFallback);

  frontend::DiagnosticEngine& diags_;
  CheckOptions options_;
  Config config_;
};

// Trims spaces at both ends.
std::string trim(std::string_view s);
std::string lower(std::string_view s);
// Why a valid domain() regex has a part that can never match a name (matched
// lower-cased, without its final dot), or "" (Routing.cpp).
std::string domainRegexNeverMatches(const std::string& re);

}  // namespace dae::sema::detail
