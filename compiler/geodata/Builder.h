// Builders for users' own geodata (tools/geodat):
//
//   geosite.dat from the domain-list-community source format: one file per list, each
//   line `[domain:|full:|keyword:|regexp:]VALUE [@attr | @attr=N]...` or
//   `include:LIST [@attr | @-attr]...`, `#` starts a comment.
//   geoip.dat from IP-range CSV tables: rows `first,last,CC` (IPv4 or IPv6, inclusive).
#pragma once
#include <map>
#include <string>
#include <vector>

#include "geodata/Cidrs.h"
#include "geodata/Geodata.h"

namespace dae::geodata {

class DlcSource {
 public:
  // Every regular file of `dir` is a list named after the file. Throws Error with
  // FILE:LINE for a line it cannot parse.
  static DlcSource load(const std::string& dir);
  // One list from text (for tests and tools that build lists in memory).
  void addList(const std::string& name, const std::string& text, const std::string& where);

  std::vector<std::string> names() const;  // sorted
  bool has(const std::string& name) const { return lists_.count(lower(name)) != 0; }

  // The entries of a list with every include expanded (depth first, in file order),
  // exact duplicates (same type, value and attributes) dropped after the first.
  // Throws Error for an include of a missing list or an include cycle.
  const std::vector<DomainEntry>& resolve(const std::string& name);

  // Every list resolved, named in upper case as the community's builder writes them.
  std::vector<SiteList> build();

 private:
  struct Include {
    std::string list;
    std::vector<std::string> mustHave, mustLack;
    std::string where;  // FILE:LINE
  };
  struct Line {
    bool isInclude = false;
    DomainEntry entry;
    Include include;
  };
  struct List {
    std::string name;  // as the file is named
    std::vector<Line> lines;
    std::vector<DomainEntry> resolved;
    int state = 0;  // 0 not yet, 1 resolving, 2 done
  };
  std::map<std::string, List> lists_;  // by lower-case name
};

// IP-range tables ----------------------------------------------------------------------

struct IpTable {
  std::map<std::string, std::vector<Range>> byCountry;  // upper-case code -> ranges
  size_t rows = 0;
};

// Adds the rows of one CSV (first,last,CC[,...]); a first line that is not an address
// is a header. Throws Error with FILE:LINE.
void readIpCsv(const std::string& path, IpTable& table);
void readIpCsvText(const std::string& text, const std::string& name, IpTable& table);

// One list per country, the minimal CIDR cover of its ranges (IPv4 first, then IPv6).
std::vector<IpList> buildIpLists(const IpTable& table);

}  // namespace dae::geodata
