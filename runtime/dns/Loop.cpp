#include "dns/Loop.h"

namespace dae::dns {

std::string mustRuleFor(const std::string& address, uint16_t port, const FlowRoute& route) {
  std::string dip = address.find(':') != std::string::npos ? "'" + address + "'" : address;
  std::string out = route.outbound == "direct" || route.outbound == "block" || route.outbound.empty()
                        ? "must_direct"
                        : "must_" + route.outbound;
  return "dip(" + dip + ") && dport(" + std::to_string(port) + ") -> " + out;
}

namespace {

std::string where(const FlowRoute& r) {
  return r.rule == "fallback" || r.rule.empty() ? "the routing fallback" : "routing rule " + r.rule;
}

std::string placement(const FlowRoute& r) {
  return r.rule == "fallback" || r.rule.empty() ? "Add to the routing section" : "Add before " + r.rule;
}

}  // namespace

std::string loopMessage(const LoopReport& r) {
  std::string who = "DNS upstream '" + r.upstream + "' (" + r.url + ")";
  std::string rule = mustRuleFor(r.address, r.port, r.route);
  switch (r.kind) {
    case LoopKind::OwnListener:
      return "DNS loop: " + who + " is dae's own dns.bind listener, so every query sent to it is asked of dae "
             "again. Point the upstream at a real resolver.";
    case LoopKind::Hijacked:
      return "DNS loop: " + who + " is reached through " + where(r.route) + " (-> " + r.route.outbound +
             "), which is not `must`, so the kernel hands the upstream's own port-53 traffic back to the DNS module. " +
             placement(r.route) + ": `" + rule + "`.";
    case LoopKind::Bootstrap:
      return "DNS loop: resolving the host name of " + who + " (" + r.query + ") through the system resolver came "
             "back to dae's DNS module. Write the upstream with an IP address, or pin the system resolver's own "
             "traffic with a must rule, e.g. `" + rule + "`.";
    case LoopKind::CameBack:
    default:
      return "DNS loop: the query " + r.query + " sent to " + who + " at " + r.address + " via " +
             (r.route.outbound.empty() ? std::string("direct") : r.route.outbound) + " (" + where(r.route) +
             ") came back to dae's DNS module: that server's traffic is routed back into dae. " + placement(r.route) +
             ": `" + rule + "`, and make sure the server there does not forward its queries to dae.";
  }
}

}  // namespace dae::dns
