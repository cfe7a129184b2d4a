// engine: the userspace side of proxied flows. Owns the transparent TCP and UDP
// listeners on tproxy_port, learns each flow's original destination from its
// socket and the kernel's routing decision from dae_routing_result, dials the
// outbound and relays. Listeners, per-flow handling and upstream dialing are kept
// apart (as Envoy's listeners / filters / upstreams). Port-53 flows the kernel marks
// DAE_FLOW_F_DNS are answered by the DNS module the engine owns (docs/dns.md).
#pragma once
#include <boost/asio/io_context.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dns/DnsModule.h"
#include "engine/Upstream.h"
#include "loader/Loader.h"

namespace dae::engine {

// A proxied TCP connection or UDP session once its upstream is dialled (or the
// dial failed): what the connection log needs.
struct ConnectionRecord {
  bool udp = false;
  asio::ip::address source, destination;
  uint16_t sourcePort = 0, destinationPort = 0;
  std::string domain;  // sniffed, when known
  Route route;
  std::string via;  // the node, or "direct"
  std::chrono::steady_clock::duration dialTime{};
  std::string error;  // why the dial failed; empty when it worked
};

struct EngineOptions {
  // Names a flow's outbound in the tables of the program that decided it (after a
  // reload that may be an older one); null: the engine's artifact.
  std::function<std::string(uint16_t generation, uint8_t outbound)> outboundName;
  // The connection log: called once per connection and UDP session instead of the
  // engine's own log line.
  std::function<void(const ConnectionRecord&)> onConnection;
  uint16_t tproxyPort = 12345;
  uint32_t soMark = 0;           // SO_MARK of every socket the engine opens
  int routingMapFd = -1;         // dae_routing_result
  std::chrono::seconds udpIdle{60};
  std::chrono::seconds dnsIdle{17};  // also the idle timeout of a TCP DNS connection
  int domainMapFd = -1;              // dae_domain_map: the DNS module writes answers there
  // The DNS module's options: pickNode (the groups' node picker), geo, bootstrap...
  // soMark defaults to the engine's own.
  dns::DnsOptions dns;
};

struct EngineCounters {
  std::atomic<uint64_t> tcpAccepted{0}, tcpFailed{0}, udpSessions{0}, udpPackets{0};
  std::atomic<uint64_t> tcpActive{0}, udpActive{0};  // connections relaying, sessions open
  std::atomic<uint64_t> dnsUdpQueries{0}, dnsTcpConnections{0};  // hijacked DNS handed to the module
};

class Engine {
 public:
  Engine(boost::asio::io_context& io, const loader::Artifact& artifact, EngineOptions options,
         std::shared_ptr<UpstreamResolver> upstreams);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Opens the listeners and the DNS module's dns.bind (throws with a clear message,
  // e.g. when a port is in use).
  void start();
  void stop();
  const EngineCounters& counters() const { return counters_; }
  // The DNS module answering hijacked queries and dns.bind (for stats).
  dns::DnsModule& dns();
  // For a reloaded program: a new DNS module built from its dns section and domain()
  // sets, writing to its dae_domain_map (the module reads the artifact only here). The
  // cache starts empty and dns.bind is reopened; queries in flight finish on the old
  // module. Throws, keeping the running module, when the new one cannot be built or
  // its listeners cannot be opened.
  void reloadDns(const loader::Artifact& artifact, int domainMapFd);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  EngineCounters counters_;
};

}  // namespace dae::engine
