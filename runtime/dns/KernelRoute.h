// How the routing rules treat the DNS module's own traffic to an upstream, decided by
// the real kernel program: a private copy of the tc programs and maps is loaded from
// the artifact (the live maps are never touched) and the upstream's first packet, as
// the host's own traffic (WAN egress) from the source address the kernel would pick,
// is run through it with BPF_PROG_TEST_RUN (as `dae-runtime --route ... hook=wan`).
// The upstream's host name, when it has one, is injected into the private
// dae_domain_map, so domain() rules apply to it too.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "dns/Upstream.h"
#include "loader/Loader.h"

namespace dae::dns {

// l4proto (6 tcp, 17 udp), destination, port, the upstream's host name ("" for an IP).
using RouteFn = std::function<FlowRoute(uint8_t l4proto, const asio::ip::address& dst, uint16_t port,
                                        const std::string& domain)>;

class KernelRouter {
 public:
  // Loads the private copy (needs CAP_BPF / root). Throws loader::LoadError.
  explicit KernelRouter(const loader::Artifact& artifact);
  ~KernelRouter();
  KernelRouter(const KernelRouter&) = delete;
  KernelRouter& operator=(const KernelRouter&) = delete;

  // Throws std::runtime_error when the program makes no decision.
  FlowRoute route(uint8_t l4proto, const asio::ip::address& dst, uint16_t port, const std::string& domain);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A RouteFn over a KernelRouter created on first use. When the program cannot be
// loaded or run, the route is `direct` and the reason is logged once.
RouteFn makeKernelRouteFn(const loader::Artifact& artifact);

// The source address the kernel would use towards `dst` (a connected UDP socket, no
// packet sent); the unspecified address when there is no route.
asio::ip::address sourceAddressFor(const asio::ip::address& dst);

}  // namespace dae::dns
