// `dae-runtime --route`: asks the real kernel program where a packet goes.
// Builds the packet, injects process name and domain through the maps the runtime
// uses, runs the tc entry program with BPF_PROG_TEST_RUN (nothing is attached) and
// reads the decision the program cached for the flow.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dns/DomainMatcher.h"
#include "loader/Loader.h"

namespace dae::datapath {

// tcp|udp SRCIP:SPORT -> DSTIP:DPORT [mac=..] [dscp=N] [pname=NAME] [domain=NAME] [hook=lan|wan]
struct RouteSpec {
  uint8_t l4proto = 6;
  std::string src, dst;  // addresses without brackets
  uint16_t sport = 0, dport = 0;
  std::optional<std::array<uint8_t, 6>> mac;
  uint8_t dscp = 0;
  std::string pname;   // implies hook=wan: only the host's own traffic has one
  std::string domain;
  bool wan = false;
};

// Throws std::invalid_argument naming the bad field.
RouteSpec parseRouteSpec(const std::string& text);

struct RouteAnswer {
  std::string outbound;
  uint32_t mark = 0;
  bool must = false;
  uint32_t ruleIndex = 0;
  std::string rule;  // FILE:LINE of the rule, or "fallback"
  int tcAction = 0;  // what the program returned
};

class RouteTester {
 public:
  explicit RouteTester(const loader::Artifact& artifact);
  RouteAnswer route(const RouteSpec& spec);
  // Hits per rule index (summed over CPUs); the last entry is the fallback.
  std::vector<uint64_t> ruleHits() const;

 private:
  const loader::Artifact& artifact_;
  loader::BpfObject object_;
  std::optional<dns::DomainMatcher> matcher_;
  std::string matcherError_;
};

}  // namespace dae::datapath
