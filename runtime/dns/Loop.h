// DNS loops: an upstream whose traffic comes back into dae's own DNS module. The module
// detects them (see DnsModule.h) and tells the user which routing rule breaks the loop.
#pragma once
#include <cstdint>
#include <string>

#include "dns/Upstream.h"

namespace dae::dns {

enum class LoopKind {
  CameBack,     // a query sent to the upstream arrived back at the module
  OwnListener,  // the upstream is the module's own dns.bind listener
  Hijacked,     // the kernel would hand the upstream's own traffic to the DNS module
  Bootstrap,    // resolving the upstream's host name came back to the module
};

struct LoopReport {
  LoopKind kind = LoopKind::CameBack;
  std::string upstream;  // name ("asis" for the client's own server)
  std::string url;       // udp://198.18.1.53:53
  std::string address;   // the address dialled
  uint16_t port = 53;
  FlowRoute route;       // how the upstream's traffic is routed
  std::string query;     // "example.com A" (CameBack / Bootstrap)
};

// `dip(198.18.1.53) && dport(53) -> must_direct` (IPv6 quoted; a group keeps its group
// as must_GROUP).
std::string mustRuleFor(const std::string& address, uint16_t port, const FlowRoute& route);

// One log line: what loops, why, and the rule to add.
std::string loopMessage(const LoopReport& r);

}  // namespace dae::dns
