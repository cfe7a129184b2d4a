// engine: the userspace side of proxied flows. Owns the transparent TCP and UDP
// listeners on tproxy_port, learns each flow's original destination from its
// socket and the kernel's routing decision from dae_routing_result, dials the
// outbound and relays. Listeners, per-flow handling and upstream dialing are kept
// apart (as Envoy's listeners / filters / upstreams).
#pragma once
#include <boost/asio/io_context.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/Upstream.h"
#include "loader/Loader.h"

namespace dae::engine {

struct EngineOptions {
  uint16_t tproxyPort = 12345;
  uint32_t soMark = 0;           // SO_MARK of every socket the engine opens
  int routingMapFd = -1;         // dae_routing_result
  std::chrono::seconds udpIdle{60};
  std::chrono::seconds dnsIdle{17};
};

struct EngineCounters {
  std::atomic<uint64_t> tcpAccepted{0}, tcpFailed{0}, udpSessions{0}, udpPackets{0};
};

class Engine {
 public:
  Engine(boost::asio::io_context& io, const loader::Artifact& artifact, EngineOptions options,
         std::shared_ptr<UpstreamResolver> upstreams);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Opens the listeners (throws with a clear message, e.g. when the port is in use).
  void start();
  void stop();
  const EngineCounters& counters() const { return counters_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  EngineCounters counters_;
};

}  // namespace dae::engine
