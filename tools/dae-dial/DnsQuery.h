// DNS messages for dae-dial, built and parsed with ldns.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace daedial {

// A recursive query for name/type ("A" or "AAAA") with the given id.
std::vector<std::uint8_t> buildDnsQuery(const std::string& name, const std::string& type, std::uint16_t id);

struct DnsAnswer {
  bool ok = false;             // parsed, id matches
  std::string rcode;           // "NOERROR", "NXDOMAIN", ...
  std::vector<std::string> records;  // answers of the asked type, presentation format
  std::string error;           // why ok is false
};

DnsAnswer parseDnsAnswer(const std::uint8_t* data, std::size_t len, std::uint16_t id, const std::string& type);

}  // namespace daedial
