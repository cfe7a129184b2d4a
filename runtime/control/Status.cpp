#include "control/Status.h"

#include <algorithm>
#include <map>

#include <spdlog/fmt/fmt.h>

#include "artifact.pb.h"

namespace dae::control {
namespace {

constexpr size_t kRuleTextWidth = 72;

std::string locationOf(const artifact::Rule& r) {
  std::string out;
  std::string lastFile;
  for (const auto& l : r.locations()) {
    if (!out.empty()) out += ",";
    // Merged rules of one file: "a.dae:3,5" rather than repeating the file.
    if (l.file() == lastFile) out += std::to_string(l.line());
    else out += l.file() + ":" + std::to_string(l.line());
    lastFile = l.file();
  }
  return out;
}

std::string shorten(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  if (text.size() > kRuleTextWidth) text = text.substr(0, kRuleTextWidth - 3) + "...";
  return text;
}

// Rows of cells as left-aligned columns, two spaces apart; the last column is not padded.
std::string table(const std::vector<std::vector<std::string>>& rows, const std::string& indent) {
  std::vector<size_t> width;
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], r[i].size());
    }
  std::string out;
  for (const auto& r : rows) {
    std::string line = indent;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

// Text of another part (groups, subscriptions) as a section body: indented, no
// trailing blanks, "none" when empty.
std::string indented(const std::string& text) {
  if (text.find_first_not_of(" \n") == std::string::npos) return "  none\n";
  std::string out;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    std::string line = text.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += "  " + line + "\n";
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return out;
}

std::string duration(std::chrono::seconds d) {
  long s = static_cast<long>(d.count());
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{}s", s / 60, s % 60);
  return fmt::format("{}h{}m", s / 3600, (s % 3600) / 60);
}

// A Prometheus label value: backslash, quote and newline escaped.
std::string label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

std::string ruleLocation(const loader::Artifact& artifact, uint32_t ruleIndex) {
  const auto& rules = artifact.rules;
  if (ruleIndex < static_cast<uint32_t>(rules.rules_size())) return locationOf(rules.rules(static_cast<int>(ruleIndex)));
  return locationOf(rules.fallback());
}

std::vector<RuleRow> ruleRows(const loader::Artifact& artifact, const std::vector<uint64_t>& hits) {
  std::vector<RuleRow> rows;
  const auto& rules = artifact.rules;
  for (int i = 0; i < rules.rules_size(); ++i) {
    const auto& r = rules.rules(i);
    uint32_t index = r.index();
    rows.push_back({"#" + std::to_string(index), locationOf(r), r.outbound(), shorten(r.text()),
                    index < hits.size() ? hits[index] : 0});
  }
  const auto& f = rules.fallback();
  uint32_t fallbackIndex = artifact.meta.rule_count();
  rows.push_back({"fallback", locationOf(f), f.outbound(), "",
                  fallbackIndex < hits.size() ? hits[fallbackIndex] : 0});
  return rows;
}

std::string formatStatus(const StatusSnapshot& s) {
  std::string out;
  out += fmt::format("dae-runtime: running, pid {}, up {}\n", s.pid, duration(s.uptime));
  out += fmt::format("program: generation {}, {} rules + fallback, {} back end, from {}\n", s.generation,
                     s.rules.empty() ? 0 : s.rules.size() - 1, s.backend, s.source);
  out += fmt::format("reloads: {} ok, {} failed\n", s.reloadsOk, s.reloadsFailed);
  if (!s.lastReloadError.empty()) out += "  last failure: " + s.lastReloadError + "\n";

  out += "attached:\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& a : s.attachments)
    rows.push_back({a.where, a.hook, a.mode, a.program, "prog " + std::to_string(a.programId)});
  out += rows.empty() ? "  nothing\n" : table(rows, "  ");

  out += "subscriptions:\n" + indented(s.subscriptions);
  out += "groups:\n" + indented(s.groups);

  out += fmt::format("rules: new flows since generation {} was loaded\n", s.generation);
  rows.clear();
  rows.push_back({"rule", "hits", "outbound", "source", "text"});
  for (const auto& r : s.rules) rows.push_back({r.name, std::to_string(r.hits), r.outbound, r.location, r.text});
  out += table(rows, "  ");

  const auto& c = s.connections;
  out += "connections:\n";
  out += fmt::format("  tcp: {} active, {} accepted, {} failed\n", c.tcpActive, c.tcpTotal, c.tcpFailed);
  out += fmt::format("  udp: {} active sessions, {} opened, {} packets\n", c.udpActive, c.udpTotal, c.udpPackets);
  out += fmt::format("kernel events: {} read\n", s.kernelEvents);
  return out;
}

std::string formatMetrics(const StatusSnapshot& s) {
  std::string out;
  auto family = [&out](const char* name, const char* type, const char* help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  family("dae_up", "gauge", "1 while dae-runtime runs");
  out += "dae_up 1\n";
  family("dae_uptime_seconds", "gauge", "seconds since dae-runtime started");
  out += fmt::format("dae_uptime_seconds {}\n", s.uptime.count());
  family("dae_program_generation", "gauge", "which load of the rules is running (reloads count up)");
  out += fmt::format("dae_program_generation {}\n", s.generation);
  family("dae_reloads_total", "counter", "reloads by result");
  out += fmt::format("dae_reloads_total{{result=\"ok\"}} {}\n", s.reloadsOk);
  out += fmt::format("dae_reloads_total{{result=\"failed\"}} {}\n", s.reloadsFailed);

  family("dae_rule_hits_total", "counter", "new flows routed by each rule since the running program was loaded");
  for (const auto& r : s.rules)
    out += fmt::format("dae_rule_hits_total{{rule=\"{}\",source=\"{}\",outbound=\"{}\"}} {}\n", label(r.name),
                       label(r.location), label(r.outbound), r.hits);

  family("dae_attached_programs", "gauge", "programs attached, by hook and mode");
  std::map<std::pair<std::string, std::string>, int> attached;
  for (const auto& a : s.attachments) ++attached[{a.hook, a.mode}];
  for (const auto& [k, n] : attached)
    out += fmt::format("dae_attached_programs{{hook=\"{}\",mode=\"{}\"}} {}\n", label(k.first), label(k.second), n);

  const auto& c = s.connections;
  family("dae_tcp_connections_active", "gauge", "TCP connections being relayed");
  out += fmt::format("dae_tcp_connections_active {}\n", c.tcpActive);
  family("dae_tcp_connections_total", "counter", "TCP connections accepted from the kernel");
  out += fmt::format("dae_tcp_connections_total {}\n", c.tcpTotal);
  family("dae_tcp_connections_failed_total", "counter", "TCP connections that could not be dialled");
  out += fmt::format("dae_tcp_connections_failed_total {}\n", c.tcpFailed);
  family("dae_udp_sessions_active", "gauge", "UDP sessions open");
  out += fmt::format("dae_udp_sessions_active {}\n", c.udpActive);
  family("dae_udp_sessions_total", "counter", "UDP sessions opened");
  out += fmt::format("dae_udp_sessions_total {}\n", c.udpTotal);
  family("dae_udp_packets_total", "counter", "UDP datagrams from clients");
  out += fmt::format("dae_udp_packets_total {}\n", c.udpPackets);

  family("dae_node_alive", "gauge", "1 when the node's last health check of this kind succeeded");
  for (const auto& n : s.nodes)
    out += fmt::format("dae_node_alive{{group=\"{}\",node=\"{}\",kind=\"{}\"}} {}\n", label(n.group), label(n.node),
                       n.kind, n.alive ? 1 : 0);
  family("dae_node_latency_seconds", "gauge", "the latency the group's policy compares, per node and kind");
  for (const auto& n : s.nodes)
    if (n.latencySeconds)
      out += fmt::format("dae_node_latency_seconds{{group=\"{}\",node=\"{}\",kind=\"{}\"}} {:.6f}\n", label(n.group),
                         label(n.node), n.kind, *n.latencySeconds);
  family("dae_node_chosen", "gauge", "1 for the node a group uses for new flows of this kind");
  for (const auto& n : s.nodes)
    out += fmt::format("dae_node_chosen{{group=\"{}\",node=\"{}\",kind=\"{}\"}} {}\n", label(n.group), label(n.node),
                       n.kind, n.chosen ? 1 : 0);

  family("dae_kernel_events_total", "counter", "kernel events read from the dae_events ring buffer");
  out += fmt::format("dae_kernel_events_total {}\n", s.kernelEvents);
  return out;
}

}  // namespace dae::control
