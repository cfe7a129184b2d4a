#include "geodata/Builder.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_set>

namespace dae::geodata {

namespace {

std::string trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

std::vector<std::string> splitWords(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string readText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open '" + path + "': " + std::strerror(errno));
  std::ostringstream buf;
  buf << in.rdbuf();
  return std::move(buf).str();
}

// A key that identifies an entry exactly (for dropping duplicates).
std::string entryKey(const DomainEntry& e) {
  std::string k(1, static_cast<char>(e.type));
  k += e.value;
  for (const auto& a : e.attributes) {
    k += '\0';
    k += a.key;
    k += a.isInt ? "=" + std::to_string(a.intValue) : (a.boolValue ? "" : "=false");
  }
  return k;
}

}  // namespace

// ---- domain-list-community ------------------------------------------------------------------

DlcSource DlcSource::load(const std::string& dir) {
  DlcSource src;
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) throw Error("cannot read directory '" + dir + "': " + ec.message());
  std::vector<std::filesystem::path> files;
  for (const auto& e : it)
    if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& p : files) src.addList(p.filename().string(), readText(p.string()), p.string());
  if (src.lists_.empty()) throw Error("no list files in '" + dir + "'");
  return src;
}

void DlcSource::addList(const std::string& name, const std::string& text, const std::string& where) {
  List list;
  list.name = name;
  std::istringstream in(text);
  int lineNo = 0;
  for (std::string raw; std::getline(in, raw);) {
    ++lineNo;
    std::string at = where + ":" + std::to_string(lineNo);
    std::string line = trim(raw.substr(0, raw.find('#')));
    if (line.empty()) continue;
    std::vector<std::string> words = splitWords(line);
    const std::string& head = words[0];
    Line l;
    size_t colon = head.find(':');
    std::string kind = colon == std::string::npos ? "domain" : lower(head.substr(0, colon));
    std::string value = colon == std::string::npos ? head : head.substr(colon + 1);
    if (value.empty()) throw Error(at + ": '" + head + "' has no value");
    if (kind == "include") {
      l.isInclude = true;
      l.include.list = lower(value);
      l.include.where = at;
    } else if (kind == "domain" || kind == "full" || kind == "keyword" || kind == "regexp" || kind == "regex") {
      l.entry.type = kind == "domain"    ? DomainType::Domain
                     : kind == "full"    ? DomainType::Full
                     : kind == "keyword" ? DomainType::Plain
                                         : DomainType::Regex;
      l.entry.value = l.entry.type == DomainType::Regex ? value : lower(value);
    } else {
      throw Error(at + ": unknown entry type '" + kind + ":' (domain:, full:, keyword:, regexp:, include:)");
    }
    for (size_t i = 1; i < words.size(); ++i) {
      const std::string& w = words[i];
      if (w.size() < 2 || w[0] != '@') throw Error(at + ": expected an attribute '@name', got '" + w + "'");
      std::string attr = lower(w.substr(1));
      if (l.isInclude) {
        if (attr[0] == '-') {
          if (attr.size() < 2) throw Error(at + ": empty attribute in '" + w + "'");
          l.include.mustLack.push_back(attr.substr(1));
        } else {
          l.include.mustHave.push_back(attr);
        }
        continue;
      }
      Attribute a;
      size_t eq = attr.find('=');
      a.key = attr.substr(0, eq);
      if (a.key.empty() || a.key[0] == '-') throw Error(at + ": bad attribute '" + w + "'");
      if (eq != std::string::npos) {
        std::string num = attr.substr(eq + 1);
        char* end = nullptr;
        errno = 0;
        long long v = std::strtoll(num.c_str(), &end, 10);
        if (num.empty() || *end || errno) throw Error(at + ": attribute '" + w + "' needs an integer after '='");
        a.isInt = true;
        a.boolValue = false;
        a.intValue = v;
      }
      l.entry.attributes.push_back(std::move(a));
    }
    list.lines.push_back(std::move(l));
  }
  std::string key = lower(name);
  if (lists_.count(key)) throw Error(where + ": a second list named '" + name + "' (names are case-insensitive)");
  lists_.emplace(key, std::move(list));
}

std::vector<std::string> DlcSource::names() const {
  std::vector<std::string> out;
  for (const auto& [k, l] : lists_) out.push_back(l.name);
  std::sort(out.begin(), out.end());
  return out;
}

const std::vector<DomainEntry>& DlcSource::resolve(const std::string& name) {
  auto it = lists_.find(lower(name));
  if (it == lists_.end()) throw Error("no list '" + name + "'");
  List& list = it->second;
  if (list.state == 2) return list.resolved;
  if (list.state == 1) throw Error("include cycle through list '" + list.name + "'");
  list.state = 1;
  std::vector<DomainEntry> out;
  std::unordered_set<std::string> seen;
  auto add = [&](const DomainEntry& e) {
    if (seen.insert(entryKey(e)).second) out.push_back(e);
  };
  for (const Line& l : list.lines) {
    if (!l.isInclude) {
      add(l.entry);
      continue;
    }
    const Include& inc = l.include;
    if (!lists_.count(inc.list)) throw Error(inc.where + ": include of a missing list '" + inc.list + "'");
    const std::vector<DomainEntry>* included;
    try {
      included = &resolve(inc.list);
    } catch (const Error& e) {
      list.state = 0;
      throw Error(inc.where + ": in 'include:" + inc.list + "': " + e.what());
    }
    for (const DomainEntry& e : *included) {
      bool keep = std::all_of(inc.mustHave.begin(), inc.mustHave.end(), [&](const std::string& a) { return e.hasAttribute(a); }) &&
                  std::none_of(inc.mustLack.begin(), inc.mustLack.end(), [&](const std::string& a) { return e.hasAttribute(a); });
      if (keep) add(e);
    }
  }
  list.resolved = std::move(out);
  list.state = 2;
  return list.resolved;
}

std::vector<SiteList> DlcSource::build() {
  std::vector<SiteList> out;
  for (const std::string& name : names()) {
    SiteList s;
    s.code = upper(name);
    s.domains = resolve(name);
    out.push_back(std::move(s));
  }
  return out;
}

// ---- IP-range tables ---------------------------------------------------------------------------

void readIpCsvText(const std::string& text, const std::string& name, IpTable& table) {
  std::istringstream in(text);
  int lineNo = 0;
  bool first = true;
  for (std::string raw; std::getline(in, raw);) {
    ++lineNo;
    std::string line = trim(raw);
    if (line.empty() || line[0] == '#') continue;
    std::string at = name + ":" + std::to_string(lineNo);
    std::vector<std::string> fields;
    size_t start = 0;
    while (true) {
      size_t comma = line.find(',', start);
      std::string f = trim(std::string_view(line).substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (f.size() >= 2 && f.front() == '"' && f.back() == '"') f = f.substr(1, f.size() - 2);
      fields.push_back(f);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    bool wasFirst = first;
    first = false;
    if (fields.size() < 3) throw Error(at + ": expected 'first,last,country', got '" + line + "'");
    U128 lo, hi;
    bool v4lo, v4hi;
    if (!parseAddress(fields[0], lo, v4lo)) {
      if (wasFirst) continue;  // a header line
      throw Error(at + ": '" + fields[0] + "' is not an IP address");
    }
    if (!parseAddress(fields[1], hi, v4hi)) throw Error(at + ": '" + fields[1] + "' is not an IP address");
    if (v4lo != v4hi) throw Error(at + ": a range from an IPv" + (v4lo ? "4" : "6") + " to an IPv" + (v4hi ? "4" : "6") + " address");
    if (hi < lo) throw Error(at + ": the range ends before it starts");
    std::string cc = upper(fields[2]);
    if (cc.empty()) throw Error(at + ": empty country code");
    table.byCountry[cc].push_back({lo, hi});
    ++table.rows;
  }
}

void readIpCsv(const std::string& path, IpTable& table) { readIpCsvText(readText(path), path, table); }

std::vector<IpList> buildIpLists(const IpTable& table) {
  std::vector<IpList> out;
  for (const auto& [cc, ranges] : table.byCountry) {
    IpList l;
    l.code = cc;
    l.cidrs = coverRanges(mergeRanges(ranges));
    std::stable_partition(l.cidrs.begin(), l.cidrs.end(), [](const sema::Cidr& c) { return isV4Mapped(c); });
    out.push_back(std::move(l));
  }
  return out;
}

}  // namespace dae::geodata
