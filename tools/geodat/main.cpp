// geodat: builds v2ray-format geodata files from their sources.
//   geodat site SRC_DIR -o geosite.dat       domain-list-community lists (one file per list)
//   geodat ip FILE.csv... -o geoip.dat       IP-range tables, rows first,last,CC
//   geodat dump FILE.dat [TAG...]            print a file's tags, or the entries of TAGs
// Exit status: 0 ok, 1 bad input, 2 usage.
#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include "geodata/Builder.h"
#include "geodata/Geodata.h"
#include "sema/Values.h"

namespace {

namespace gd = dae::geodata;

void usage(std::ostream& out) {
  out << "usage: geodat site SRC_DIR -o geosite.dat\n"
         "       geodat ip FILE.csv... -o geoip.dat\n"
         "       geodat dump (--ip|--site) FILE.dat [TAG...]\n"
         "\n"
         "site: every file of SRC_DIR is a list in the domain-list-community format\n"
         "      ([domain:|full:|keyword:|regexp:]VALUE [@attr]..., include:LIST [@attr|@-attr]...,\n"
         "      # comments); geosite:NAME is the list NAME.\n"
         "ip:   CSV rows first,last,CC (IPv4 or IPv6, inclusive); geoip:cc holds the\n"
         "      minimal CIDR cover of every range of country CC.\n"
         "See docs/geodata.md.\n";
}

double seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

int dump(const std::vector<std::string>& args) {
  if (args.size() < 2 || (args[0] != "--ip" && args[0] != "--site")) {
    usage(std::cerr);
    return 2;
  }
  auto kind = args[0] == "--ip" ? gd::GeoFile::Kind::Ip : gd::GeoFile::Kind::Site;
  gd::GeoFile f = gd::GeoFile::open(args[1], kind);
  if (args.size() == 2) {
    for (const auto& t : f.tags()) {
      if (kind == gd::GeoFile::Kind::Ip) std::cout << t << ' ' << f.ip(t).cidrs.size() << '\n';
      else std::cout << t << ' ' << f.site(t).domains.size() << '\n';
    }
    return 0;
  }
  for (size_t i = 2; i < args.size(); ++i) {
    if (kind == gd::GeoFile::Kind::Ip) {
      gd::IpList l = f.ip(args[i]);
      if (l.reverseMatch) std::cout << "# " << l.code << ": reverse match\n";
      for (const auto& c : l.cidrs) std::cout << dae::sema::formatCidr(c) << '\n';
    } else {
      for (const auto& d : f.site(args[i]).domains) {
        std::cout << gd::domainTypeName(d.type) << ':' << d.value;
        for (const auto& a : d.attributes) std::cout << " @" << a.key << (a.isInt ? "=" + std::to_string(a.intValue) : "");
        std::cout << '\n';
      }
    }
  }
  return 0;
}

int run(int argc, char** argv) {
  if (argc < 2) {
    usage(std::cerr);
    return 2;
  }
  std::string cmd = argv[1];
  std::vector<std::string> inputs;
  std::string output;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-o") {
      if (i + 1 >= argc) {
        std::cerr << "geodat: error: -o needs a file\n";
        return 2;
      }
      output = argv[++i];
    } else {
      inputs.push_back(a);
    }
  }
  if (cmd == "--help" || cmd == "-h") {
    usage(std::cout);
    return 0;
  }
  if (cmd == "dump") return dump(inputs);
  if ((cmd != "site" && cmd != "ip") || inputs.empty() || output.empty() || (cmd == "site" && inputs.size() != 1)) {
    usage(std::cerr);
    return 2;
  }
  auto start = std::chrono::steady_clock::now();
  if (cmd == "site") {
    gd::DlcSource src = gd::DlcSource::load(inputs[0]);
    std::vector<gd::SiteList> lists = src.build();
    size_t entries = 0;
    for (const auto& l : lists) entries += l.domains.size();
    std::string bytes = gd::serializeSites(lists);
    gd::writeFile(output, bytes);
    std::cerr << "geodat: " << output << ": " << lists.size() << " lists, " << entries << " entries, " << bytes.size()
              << " bytes in " << seconds(start) << " s\n";
  } else {
    gd::IpTable table;
    for (const auto& f : inputs) gd::readIpCsv(f, table);
    std::vector<gd::IpList> lists = gd::buildIpLists(table);
    size_t cidrs = 0;
    for (const auto& l : lists) cidrs += l.cidrs.size();
    std::string bytes = gd::serializeIps(lists);
    gd::writeFile(output, bytes);
    std::cerr << "geodat: " << output << ": " << table.rows << " ranges, " << lists.size() << " countries, " << cidrs
              << " CIDRs, " << bytes.size() << " bytes in " << seconds(start) << " s\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const dae::geodata::Error& e) {
    std::cerr << "geodat: error: " << e.what() << '\n';
    return 1;
  }
}
