#include "ir/IrDump.h"

#include <filesystem>
#include <iomanip>
#include <sstream>

#include "sema/ModelDump.h"
#include "sema/Values.h"

namespace dae::ir {

std::string formatOutbound(const Outbound& o, const Program& program) {
  std::ostringstream out;
  out << (o.id < program.outbounds.size() ? program.outbounds[o.id] : "?");
  if (o.must || o.mark) {
    out << "(";
    if (o.must) out << "must";
    if (o.mark) out << (o.must ? ", " : "") << "mark 0x" << std::hex << o.mark;
    out << ")";
  }
  return out.str();
}

// Sets expanded from geodata hold thousands of members: past kDumpLimit only the first
// kDumpShown are printed, then the total.
constexpr size_t kDumpLimit = 32;
constexpr size_t kDumpShown = 8;

std::string formatPredicate(const Predicate& p, const Program&) {
  std::ostringstream out;
  out << (p.negated ? "!" : "") << sema::fieldName(p.field);
  const ValueSet& s = p.set;
  std::vector<std::string> items;
  switch (p.field) {
    case Field::Dip:
    case Field::Sip:
      for (const auto& c : s.cidrs) items.push_back(sema::formatCidr(c));
      for (const auto& t : s.geoTags) items.push_back(t);
      break;
    case Field::Dport:
    case Field::Sport:
      for (const auto& r : s.ports)
        items.push_back(r.lo == r.hi ? std::to_string(r.lo) : std::to_string(r.lo) + "-" + std::to_string(r.hi));
      break;
    case Field::L4proto:
      if (s.l4protoMask & 1) items.push_back("tcp");
      if (s.l4protoMask & 2) items.push_back("udp");
      break;
    case Field::IpVersion:
      if (s.ipversionMask & 1) items.push_back("4");
      if (s.ipversionMask & 2) items.push_back("6");
      break;
    case Field::Dscp:
      for (int i = 0; i < 64; ++i)
        if ((s.dscpMask >> i) & 1) items.push_back(std::to_string(i));
      break;
    case Field::Mac:
      for (const auto& m : s.macs) {
        std::ostringstream o;
        for (int i = 0; i < 6; ++i) o << (i ? ":" : "") << std::hex << std::setw(2) << std::setfill('0') << int(m[i]);
        items.push_back(o.str());
      }
      break;
    case Field::Pname: items = s.pnames; break;
    case Field::Domain:
      out << " set" << p.domainSet;
      return out.str();
  }
  out << " {";
  size_t shown = items.size() > kDumpLimit ? kDumpShown : items.size();
  for (size_t i = 0; i < shown; ++i) out << (i ? ", " : "") << items[i];
  if (shown < items.size()) out << ", ... (" << items.size() << " total)";
  out << "}";
  return out.str();
}

void dumpIr(const Program& program, const frontend::SourceManager& sources, std::ostream& out) {
  out << "outbounds:";
  for (size_t i = 0; i < program.outbounds.size(); ++i) out << ' ' << i << '=' << program.outbounds[i];
  out << '\n';
  if (!program.domainSets.empty()) out << "domain sets:\n";
  for (size_t i = 0; i < program.domainSets.size(); ++i) {
    out << "  set" << i << ":";
    const auto& set = program.domainSets[i];
    size_t shown = set.size() > kDumpLimit ? kDumpShown : set.size();
    for (size_t k = 0; k < shown; ++k) {
      const auto& d = set[k];
      sema::Matcher m{};
      m.kind = d.kind;
      m.text = d.value;
      out << ' ' << sema::formatMatcher(m);
    }
    if (shown < set.size()) out << " ... (" << set.size() << " total)";
    out << '\n';
  }
  out << "rules:\n";
  for (size_t i = 0; i < program.rules.size(); ++i) {
    const Rule& r = program.rules[i];
    out << "  r" << i << " <";
    for (size_t k = 0; k < r.mergedFrom.size(); ++k) {
      const auto& at = r.mergedFrom[k];
      if (k) out << ",";
      if (k == 0 && at.valid()) out << std::filesystem::path(sources.path(at.file)).filename().string() << ':';
      out << at.line;
    }
    out << ">";
    for (size_t k = 0; k < r.predicates.size(); ++k) out << (k ? " && " : " ") << formatPredicate(r.predicates[k], program);
    out << " -> " << (r.mustRules ? "must_rules" : formatOutbound(r.outbound, program)) << '\n';
  }
  out << "fallback -> " << formatOutbound(program.fallback, program) << '\n';
}

}  // namespace dae::ir
