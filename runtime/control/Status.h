// What `dae-runtime status` prints and the metrics endpoint serves: a snapshot of
// the running instance in plain data, and its two renderings. The text format is
// stable (tests compare it with a golden file): fixed section order, one item a
// line, columns padded from the content; volatile values (pid, uptime, program
// ids, latencies) sit at the ends of their lines.
#pragma once
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "loader/Loader.h"

namespace dae::control {

struct AttachmentRow {
  std::string where;    // interface or cgroup path
  std::string hook;     // ingress, egress, cgroup
  std::string mode;     // tcx, tc-filter, link
  std::string program;  // dae_lan_ingress, ...
  uint32_t programId = 0;
};

struct RuleRow {
  std::string name;      // "#3" or "fallback"
  std::string location;  // "file:line" of the source rule(s)
  std::string outbound;
  std::string text;      // the rule as written (shortened)
  uint64_t hits = 0;     // new flows since the program was loaded
};

struct ConnectionCounts {
  uint64_t tcpActive = 0, tcpTotal = 0, tcpFailed = 0;
  uint64_t udpActive = 0, udpTotal = 0, udpPackets = 0;
};

// One node of one group, per kind of traffic, for the metrics.
struct NodeKindRow {
  std::string group, node, kind;  // kind: tcp4, tcp6, udp4, udp6
  bool alive = false;
  bool chosen = false;
  std::optional<double> latencySeconds;  // the policy's latency metric, when measured
};

struct StatusSnapshot {
  int pid = 0;
  std::chrono::seconds uptime{0};
  std::string source;  // the rules.o or config the program came from
  uint32_t generation = 1;
  std::string backend;
  uint64_t reloadsOk = 0, reloadsFailed = 0;
  std::string lastReloadError;  // first line of the last failed reload's diagnostics
  std::vector<AttachmentRow> attachments;
  std::string subscriptions;  // Subscriptions::describe()
  std::string groups;         // GroupManager::describe()
  std::vector<NodeKindRow> nodes;
  std::vector<RuleRow> rules;
  ConnectionCounts connections;
  uint64_t kernelEvents = 0;  // read from dae_events
};

// The rule table of an artifact with the hit counters of its program
// (loader::readRuleHits: rule_count + 1 entries, the fallback last).
std::vector<RuleRow> ruleRows(const loader::Artifact& artifact, const std::vector<uint64_t>& hits);
// "file:line" of a rule table entry ("" when the compiler recorded none).
std::string ruleLocation(const loader::Artifact& artifact, uint32_t ruleIndex);

std::string formatStatus(const StatusSnapshot& s);
// Prometheus text exposition format 0.0.4.
std::string formatMetrics(const StatusSnapshot& s);

}  // namespace dae::control
