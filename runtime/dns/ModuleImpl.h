// Internals of DnsModule shared by DnsModule.cpp (queries, upstreams, cache) and
// Listener.cpp (dns.bind). Not a public header.
#pragma once
#include <boost/asio/steady_timer.hpp>
#include <map>
#include <random>
#include <set>
#include <unordered_map>

#include "dns/DnsModule.h"
#include "dns/DomainMap.h"
#include "dns/DomainMatcher.h"
#include "dns/Loop.h"
#include "dns/Message.h"

namespace dae::dns {

// One client question, as the module carries it around.
struct QuestionKey {
  std::string wire;  // name + type + class exactly as the client sent them (uncompressed)
  std::string name;  // canonical
  uint16_t type = 0;
  uint16_t qclass = kClassIN;
  std::string key;   // cache key
  std::string text() const { return name + " " + typeName(type); }
};

// A parsed query that the cache could not answer at once.
struct Prepared {
  QuestionKey q;
  Decision decision;
  uint16_t id = 0;
  bool rd = true;
  size_t udpLimit = 512;
  bool tcp = false;
  std::string query;  // the client's message (for replies built from it)
};

struct DnsModule::Impl : std::enable_shared_from_this<DnsModule::Impl> {
  Impl(asio::any_io_executor ex, const loader::Artifact& artifact, int domainMapFd, DnsOptions options);

  asio::any_io_executor ex;
  DnsOptions opt;
  std::map<std::string, UpstreamSpec> upstreams;
  Router request, response;
  Cache cache;
  std::unique_ptr<DomainMatcher> domains;  // null: no domain() sets, or they cannot be evaluated
  DomainMapWriter map;
  std::unordered_map<std::string, uint32_t> fixedTtl;
  int ipPrefer = 0;
  DialContext dial;
  RouteFn routeFlow;
  std::vector<BindSpec> binds;
  std::vector<asio::ip::udp::endpoint> bootstrapServers;
  DnsStats st;
  std::mt19937 rng{std::random_device{}()};
  bool stopped = false;

  // Upstream routes and host names.
  std::map<std::string, FlowRoute> routes;  // "17 1.2.3.4 53" -> route
  struct Resolved {
    std::vector<asio::ip::address> addresses;
    Clock::time_point expires;
  };
  std::map<std::string, Resolved> hosts;
  std::set<std::string> bootstrapping;  // canonical names being resolved for upstreams

  // One upstream exchange per cache key at a time; later askers wait for it.
  struct Inflight {
    explicit Inflight(asio::any_io_executor ex) : done(ex, asio::steady_timer::time_point::max()) {}
    asio::steady_timer done;
    std::string wire, error;
    bool hostJoined = false;  // the host's own traffic asked the same question meanwhile
  };
  std::unordered_map<std::string, std::shared_ptr<Inflight>> inflight;
  std::set<std::string> refreshing;
  // Upstream queries on the wire, by ID, for loop detection.
  struct Sent {
    std::string key;
    LoopReport report;
  };
  std::unordered_multimap<uint16_t, const Sent*> sent;

  // Listeners.
  std::vector<std::unique_ptr<asio::ip::udp::socket>> udpSockets;
  std::vector<std::unique_ptr<asio::ip::tcp::acceptor>> acceptors;
  std::unique_ptr<asio::steady_timer> sweeper;
  std::map<std::string, Clock::time_point> lastWarning;

  Clock::time_point now() const { return opt.now ? opt.now() : Clock::now(); }
  // Logs at most once a minute per key.
  void warnLimited(const std::string& key, const std::string& message);

  // ---- queries (DnsModule.cpp) ----
  // Parses and routes; true when `reply` is final ("" = send nothing).
  bool prepare(std::string_view query, const ClientInfo& from, Prepared& p, std::string& reply);
  std::optional<std::string> fromCache(const Prepared& p);
  asio::awaitable<std::string> finishSlow(Prepared p, ClientInfo from);
  asio::awaitable<std::string> answer(std::string query, ClientInfo from);
  // The response for q (any ID): cache, or a shared upstream exchange.
  asio::awaitable<std::string> resolveKey(QuestionKey q, Decision d, ClientInfo from);
  // Upstream exchange(s) + response routing + cache + domain map.
  asio::awaitable<std::string> fetch(QuestionKey q, Decision d, ClientInfo from);
  asio::awaitable<void> refresh(std::shared_ptr<Impl> self, QuestionKey q, Decision d, ClientInfo from);
  asio::awaitable<bool> preferredExists(const Prepared& p, const ClientInfo& from);
  void writeMap(const std::string& name, const std::vector<std::array<uint8_t, 16>>& addresses);
  std::string finish(std::string reply, const Prepared& p) const;

  // ---- upstreams ----
  struct Target {
    UpstreamSpec spec;
    asio::ip::address address;
    FlowRoute route;
    bool forceTcp = false;
  };
  asio::awaitable<Target> target(const Decision& d, const ClientInfo& from);
  asio::awaitable<asio::ip::address> upstreamAddress(const UpstreamSpec& up);
  asio::awaitable<std::vector<asio::ip::address>> bootstrapResolve(std::string name, std::string forWhom);
  FlowRoute routeFor(uint8_t proto, const asio::ip::address& a, uint16_t port, const std::string& host);
  bool isOwnListener(const asio::ip::address& a, uint16_t port, bool udp) const;
  void checkLoops();

  // ---- listeners (Listener.cpp) ----
  void openListeners();
  asio::awaitable<void> udpLoop(std::shared_ptr<Impl> self, asio::ip::udp::socket* s);
  asio::awaitable<void> udpSlow(std::shared_ptr<Impl> self, asio::ip::udp::socket* s, Prepared p, ClientInfo from,
                                asio::ip::udp::endpoint to);
  asio::awaitable<void> tcpAccept(std::shared_ptr<Impl> self, asio::ip::tcp::acceptor* a);
  asio::awaitable<void> tcpSession(std::shared_ptr<Impl> self, asio::ip::tcp::socket s);
  void startSweeper();
  asio::awaitable<void> sweepLoop(std::shared_ptr<Impl> self);
};

// Logs the exception of a detached coroutine (never silently dropped).
void logDetached(const char* what, std::exception_ptr e);

}  // namespace dae::dns
