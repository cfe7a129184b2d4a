// The DNS module: answers the queries the kernel hands to the runtime (port-53 flows
// with DAE_FLOW_F_DNS) and those sent to the dns.bind listeners.
//
// Per query: parse (malformed -> FORMERR or nothing) -> loop check -> request routing
// (upstream | asis | reject) -> ipversion_prefer -> cache (fresh, or stale while a
// refresh runs) -> one upstream exchange per (name, type, class) at a time -> response
// routing (accept | reject | ask another upstream) -> cache -> the answer's A/AAAA
// addresses with the bitmap of matching domain() sets into dae_domain_map -> reply.
// The map is written before answer() returns, so before the client can see the answer.
//
// Threading: one executor (the engine's io_context, single-threaded); every method is
// called on it.
#pragma once
#include <utility>  // before Boost.Asio 1.74 headers (std::exchange)

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dns/Cache.h"
#include "dns/KernelRoute.h"
#include "dns/Routing.h"
#include "dns/Upstream.h"
#include "loader/Loader.h"

namespace dae::dns {

// Who asked, as the engine knows it from the flow.
struct ClientInfo {
  asio::ip::address source;
  uint16_t sourcePort = 0;
  asio::ip::address destination;  // the original destination: the server `asis` asks
  uint16_t destinationPort = 53;
  bool tcp = false;               // the query came over TCP (no UDP size limit on the reply)
  std::string outbound = "direct";  // the kernel's decision for this flow (how `asis` is dialled)
  uint32_t mark = 0;
  bool fromHost = false;  // the host's own traffic (WAN hook), not a LAN client
};

struct DnsOptions {
  uint32_t soMark = 0;  // so_mark_from_dae
  PickNodeFn pickNode;  // groups for upstreams whose traffic a rule sends to a group
  RouteFn routeFlow;    // null: makeKernelRouteFn(artifact) (BPF_PROG_TEST_RUN, private maps)
  // geosite:/geoip:/ext: in dns routing. Null: the geodata files on
  // geodataSearchPath(geodataDirs) (dns/Geo.h), opened only if a rule needs one.
  GeoResolvers geo;
  std::vector<std::string> geodataDirs;  // -L directories, searched first
  std::shared_ptr<asio::ssl::context> tls;  // DoT / DoH trust; null: system store + $DAE_EXTRA_CA
  std::chrono::milliseconds upstreamTimeout{5000};
  // Resolvers for the upstreams' own host names and `asis` lookups of the runtime
  // ("ip" or "ip:port", "[v6]:port"); empty: the nameservers of /etc/resolv.conf.
  std::vector<std::string> bootstrap;
  bool openBindListeners = true;  // start() opens dns.bind
  std::function<Clock::time_point()> now;  // tests; null: steady_clock
  int reResolveDepth = 3;  // response routing may re-ask at most this many times
};

struct DnsStats {
  uint64_t queries = 0, cacheHits = 0, staleHits = 0, upstreamQueries = 0, upstreamFailures = 0, malformed = 0,
           rejected = 0, loops = 0, mapWrites = 0, cacheEntries = 0;
};

class DnsModule {
 public:
  // Throws std::invalid_argument for a dns section it cannot run (unknown upstream in a
  // rule, geodata without a resolver, a bad bind address).
  DnsModule(asio::any_io_executor ex, const loader::Artifact& artifact, int domainMapFd, DnsOptions options = {});
  ~DnsModule();
  DnsModule(const DnsModule&) = delete;
  DnsModule& operator=(const DnsModule&) = delete;

  // Opens the dns.bind listeners (throws with the address on failure), checks every
  // upstream for loops, starts the cache sweeper.
  void start();
  // Closes the listeners and stops background work; pending answers fail.
  void stop();

  // The reply to `query` (one DNS message, without the TCP length prefix), or "" when
  // nothing should be sent (not a query at all). Pass named locals (GCC 12 co_await bug).
  asio::awaitable<std::string> answer(std::string query, ClientInfo from);
  // The same, without suspending when no upstream is needed (a cache hit, reject, a
  // malformed or looping query): the reply ("" = send nothing). Otherwise nullopt, and
  // `rest` receives the remaining work (the upstream exchange) to co_await or spawn;
  // it owns what it needs. The query is parsed and counted once either way. For the
  // engine's UDP fast path: no coroutine per cached answer.
  std::optional<std::string> answerFromCache(std::string_view query, const ClientInfo& from,
                                             std::optional<asio::awaitable<std::string>>& rest);

  // Sends `reply` to `to` from the dns.bind UDP socket bound to exactly `from`, if there
  // is one (true). The engine answers hijacked queries from their original destination;
  // when that is a dns.bind address, a second socket bound there would steal the
  // listener's datagrams.
  bool sendFromListener(const asio::ip::udp::endpoint& from, const asio::ip::udp::endpoint& to,
                        std::string_view reply);

  // The runtime's own lookups (subscription fetches, node hosts), routed by sub(),
  // node(), subnode() and the qname/qtype rules; `asis` means the bootstrap resolvers.
  // An IP literal is returned as is. Throws UpstreamError when nothing resolves.
  asio::awaitable<std::vector<asio::ip::address>> resolve(std::string host, InternalLookup who);

  DnsStats stats() const;
  // The bound dns.bind sockets (after start()).
  std::vector<asio::ip::udp::endpoint> udpListenEndpoints() const;
  std::vector<asio::ip::tcp::endpoint> tcpListenEndpoints() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// dns.bind: 'udp://ip:port', 'tcp://ip:port', 'tcp+udp://ip:port' or 'ip:port' (both).
struct BindSpec {
  bool udp = true, tcp = true;
  asio::ip::address address;
  uint16_t port = 53;
};
// Throws std::invalid_argument.
BindSpec parseBind(const std::string& text);

}  // namespace dae::dns
