#include "datapath/RouteTester.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>

#include "datapath/Packet.h"
#include "sema/Values.h"

namespace dae::datapath {
namespace {

void parseEndpoint(const std::string& text, const char* which, std::string& addr, uint16_t& port) {
  std::string host, portText;
  if (!text.empty() && text[0] == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 2 > text.size() || text[close + 1] != ':')
      throw std::invalid_argument(std::string(which) + ": expected [IPv6]:PORT, got '" + text + "'");
    host = text.substr(1, close - 1);
    portText = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon)
      throw std::invalid_argument(std::string(which) + ": expected IPv4:PORT or [IPv6]:PORT, got '" + text + "'");
    host = text.substr(0, colon);
    portText = text.substr(colon + 1);
  }
  in6_addr a6;
  in_addr a4;
  if (inet_pton(AF_INET, host.c_str(), &a4) != 1 && inet_pton(AF_INET6, host.c_str(), &a6) != 1)
    throw std::invalid_argument(std::string(which) + ": '" + host + "' is not an IP address");
  auto p = sema::parseUint(portText, 65535);
  if (!sema::ok(p)) throw std::invalid_argument(std::string(which) + " port: " + sema::message(p));
  addr = host;
  port = static_cast<uint16_t>(std::get<0>(p));
}

}  // namespace

RouteSpec parseRouteSpec(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  if (words.size() < 4 || words[2] != "->")
    throw std::invalid_argument("expected 'tcp|udp SRCIP:SPORT -> DSTIP:DPORT [key=value...]', got '" + text + "'");
  RouteSpec s;
  if (words[0] == "tcp") s.l4proto = 6;
  else if (words[0] == "udp") s.l4proto = 17;
  else throw std::invalid_argument("protocol: expected tcp or udp, got '" + words[0] + "'");
  parseEndpoint(words[1], "source", s.src, s.sport);
  parseEndpoint(words[3], "destination", s.dst, s.dport);
  bool v6src = s.src.find(':') != std::string::npos, v6dst = s.dst.find(':') != std::string::npos;
  if (v6src != v6dst) throw std::invalid_argument("source and destination must be of the same IP version");
  // Options may come in any order: hook= and pname= are reconciled after the loop.
  std::optional<bool> hookWan;
  std::set<std::string> seen;
  for (size_t i = 4; i < words.size(); ++i) {
    auto eq = words[i].find('=');
    if (eq == std::string::npos) throw std::invalid_argument("option '" + words[i] + "': expected key=value");
    std::string key = words[i].substr(0, eq), value = words[i].substr(eq + 1);
    if (!seen.insert(key).second) throw std::invalid_argument("option '" + key + "' is given twice");
    if (key == "mac") {
      auto m = sema::parseMac(value);
      if (!sema::ok(m)) throw std::invalid_argument("mac: " + sema::message(m));
      s.mac = std::get<0>(m);
    } else if (key == "dscp") {
      auto d = sema::parseUint(value, 63);
      if (!sema::ok(d)) throw std::invalid_argument("dscp: expected 0-63, got '" + value + "'");
      s.dscp = static_cast<uint8_t>(std::get<0>(d));
    } else if (key == "pname") {
      if (value.empty() || value.size() > 15)
        throw std::invalid_argument("pname: expected 1 to 15 characters, got '" + value + "'");
      s.pname = value;
    } else if (key == "domain") {
      if (value.empty()) throw std::invalid_argument("domain: empty");
      s.domain = value;
    } else if (key == "hook") {
      if (value != "lan" && value != "wan") throw std::invalid_argument("hook: expected lan or wan, got '" + value + "'");
      hookWan = value == "wan";
    } else {
      throw std::invalid_argument("unknown option '" + key + "' (mac, dscp, pname, domain, hook)");
    }
  }
  // pname= implies hook=wan; with hook=lan it is an error, whichever comes first.
  if (!s.pname.empty() && hookWan == false)
    throw std::invalid_argument("pname: only the host's own (hook=wan) traffic has a process name");
  s.wan = hookWan.value_or(!s.pname.empty());
  return s;
}

RouteTester::RouteTester(const loader::Artifact& artifact)
    : artifact_(artifact), object_(artifact, {"dae_lan_ingress", "dae_wan_egress"}) {
  try {
    matcher_.emplace(artifact.rules);
  } catch (const std::exception& e) {
    matcherError_ = e.what();
  }
}

RouteAnswer RouteTester::route(const RouteSpec& spec) {
  Packet p;
  p.l4proto = spec.l4proto;
  p.ipversion = spec.src.find(':') != std::string::npos ? 6 : 4;
  p.src = spec.src;
  p.dst = spec.dst;
  p.sport = spec.sport;
  p.dport = spec.dport;
  p.dscp = spec.dscp;
  p.tcpFlags = kTcpSyn;  // a new flow
  // A LAN packet without mac= has an all-zero source MAC, as if the sender had none;
  // WAN packets are the host's own.
  p.srcMac = spec.mac.value_or(std::array<uint8_t, 6>{});
  dae_tuple tuple = tupleOf(p);
  uint32_t hook = spec.wan ? DAE_HOOK_WAN_EGRESS : DAE_HOOK_LAN_INGRESS;

  // Inject the context the runtime would have: process name and DNS answer.
  int pnameFd = object_.mapFd("dae_sock_pname");
  int domainFd = object_.mapFd("dae_domain_map");
  uint64_t cookie = 0;
  if (!spec.pname.empty() && pnameFd >= 0) {
    dae_sock_info si{};
    std::memcpy(si.pname, spec.pname.data(), spec.pname.size());
    si.pid = 1;
    if (bpf_map_update_elem(pnameFd, &cookie, &si, BPF_ANY) != 0)
      throw std::runtime_error(std::string("cannot write dae_sock_pname: ") + std::strerror(errno));
  }
  if (!spec.domain.empty() && domainFd >= 0) {
    if (!matcher_) throw std::runtime_error(matcherError_);
    auto bits = matcher_->bitmap(spec.domain, artifact_.meta.domain_words());
    if (bpf_map_update_elem(domainFd, tuple.dip, bits.data(), BPF_ANY) != 0)
      throw std::runtime_error(std::string("cannot write dae_domain_map: ") + std::strerror(errno));
  }

  std::vector<uint8_t> frame = build(p);
  LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = frame.data(), .data_size_in = static_cast<uint32_t>(frame.size()),
              .repeat = 1);
  int progFd = object_.programFd(spec.wan ? "dae_wan_egress" : "dae_lan_ingress");
  int err = bpf_prog_test_run_opts(progFd, &run);

  // Clean up the injected context whatever happened.
  if (!spec.pname.empty() && pnameFd >= 0) bpf_map_delete_elem(pnameFd, &cookie);
  if (!spec.domain.empty() && domainFd >= 0) bpf_map_delete_elem(domainFd, tuple.dip);
  if (err != 0) throw std::runtime_error(std::string("BPF_PROG_TEST_RUN failed: ") + std::strerror(errno));

  dae_ct_key key{};
  key.tuple = tuple;
  key.hook = hook;
  dae_ct_entry entry{};
  int ctFd = object_.mapFd("dae_conntrack");
  if (bpf_map_lookup_elem(ctFd, &key, &entry) != 0)
    throw std::runtime_error("the program made no decision for this packet (not routed)");
  bpf_map_delete_elem(ctFd, &key);  // so that the next spec of the same flow is routed afresh

  RouteAnswer a;
  a.ruleIndex = entry.res.rule_index;
  a.mark = entry.res.mark;
  a.must = entry.res.must != 0;
  a.tcAction = static_cast<int>(run.retval);
  a.outbound = entry.res.outbound < artifact_.outbounds.names_size() ? artifact_.outbounds.names(entry.res.outbound)
                                                                      : "#" + std::to_string(entry.res.outbound);
  if (a.ruleIndex < static_cast<uint32_t>(artifact_.rules.rules_size())) {
    const auto& r = artifact_.rules.rules(a.ruleIndex);
    a.rule = r.locations_size() ? r.locations(0).file() + ":" + std::to_string(r.locations(0).line()) : "?";
  } else {
    a.rule = "fallback";
  }
  return a;
}

std::vector<uint64_t> RouteTester::ruleHits() const {
  return loader::readRuleHits(object_.mapFd("dae_rule_hits"), artifact_.meta.rule_count() + 1);
}

}  // namespace dae::datapath
