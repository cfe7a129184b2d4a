#include "engine/Engine.h"

#include <bpf/bpf.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstring>
#include <list>
#include <map>
#include <optional>
#include <system_error>

#include "dae/abi.h"
#include "engine/Relay.h"
#include "outbound/Deadline.h"

namespace dae::engine {

namespace {

using asio::ip::tcp;
using asio::ip::udp;

void setIntOption(int fd, int level, int name, int value, const char* what) {
  if (setsockopt(fd, level, name, &value, sizeof value) != 0)
    throw std::system_error(errno, std::generic_category(), what);
}

std::array<uint32_t, 4> mapped(const asio::ip::address& a) {
  std::array<uint32_t, 4> out{};
  asio::ip::address_v6::bytes_type b =
      a.is_v4() ? asio::ip::make_address_v6(asio::ip::v4_mapped, a.to_v4()).to_bytes() : a.to_v6().to_bytes();
  std::memcpy(out.data(), b.data(), 16);
  return out;
}

asio::ip::address unmapped(const asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  return a;
}

std::string text(const asio::ip::address& a, uint16_t port) {
  return a.is_v6() ? "[" + a.to_string() + "]:" + std::to_string(port) : a.to_string() + ":" + std::to_string(port);
}

}  // namespace

// Counts a connection or session as active while it lives.
class ActiveCount {
 public:
  explicit ActiveCount(std::atomic<uint64_t>& c) : c_(c) { ++c_; }
  ~ActiveCount() { --c_; }
  ActiveCount(const ActiveCount&) = delete;
  ActiveCount& operator=(const ActiveCount&) = delete;

 private:
  std::atomic<uint64_t>& c_;
};

struct Engine::Impl {
  Impl(asio::io_context& io, const loader::Artifact& artifact, EngineOptions options,
       std::shared_ptr<UpstreamResolver> upstreams, EngineCounters& counters)
      : io(io), artifact(artifact), options(options), upstreams(std::move(upstreams)), counters(counters) {
    dns::DnsOptions dnsOptions = options.dns;
    if (dnsOptions.soMark == 0) dnsOptions.soMark = options.soMark;
    dnsModule = std::make_unique<dns::DnsModule>(io.get_executor(), artifact, options.domainMapFd,
                                                 std::move(dnsOptions));
  }

  asio::io_context& io;
  const loader::Artifact& artifact;
  EngineOptions options;
  std::shared_ptr<UpstreamResolver> upstreams;
  EngineCounters& counters;
  std::list<tcp::acceptor> acceptors;  // a list: the accept loops hold references
  std::vector<std::unique_ptr<udp::socket>> udpListeners;
  std::unique_ptr<dns::DnsModule> dnsModule;
  bool stopping = false;

  // ---- the kernel's decision -------------------------------------------------

  // `fromHost`, when given, tells whether the flow is the host's own (WAN hook).
  std::optional<Route> lookupRoute(const asio::ip::address& src, uint16_t sport, const asio::ip::address& dst,
                                   uint16_t dport, uint8_t proto, bool* fromHost = nullptr) {
    dae_tuple t{};
    auto s = mapped(src), d = mapped(dst);
    std::memcpy(t.sip, s.data(), 16);
    std::memcpy(t.dip, d.data(), 16);
    t.sport = htons(sport);
    t.dport = htons(dport);
    t.l4proto = proto;
    dae_flow_info info{};
    if (bpf_map_lookup_elem(options.routingMapFd, &t, &info) != 0) return std::nullopt;
    Route r;
    if (options.outboundName)
      r.outbound = options.outboundName(info.generation, info.res.outbound);
    else
      r.outbound = info.res.outbound < artifact.outbounds.names_size() ? artifact.outbounds.names(info.res.outbound)
                                                                        : "#" + std::to_string(info.res.outbound);
    r.rule = info.res.rule_index;
    r.generation = info.generation;
    r.mark = info.res.mark;
    r.dns = (info.flags & DAE_FLOW_F_DNS) != 0;
    if (fromHost) *fromHost = info.hook == DAE_HOOK_WAN_EGRESS;
    return r;
  }

  // ---- TCP -------------------------------------------------------------------

  void openTcp(bool v6) {
    tcp::acceptor a(io);
    a.open(v6 ? tcp::v6() : tcp::v4());
    int fd = a.native_handle();
    // IP_TRANSPARENT lets the accepted socket use the original destination as its
    // own address (and answer from it).
    setIntOption(fd, v6 ? SOL_IPV6 : SOL_IP, v6 ? IPV6_TRANSPARENT : IP_TRANSPARENT, 1, "IP_TRANSPARENT");
    if (v6) a.set_option(asio::ip::v6_only(true));
    a.set_option(tcp::acceptor::reuse_address(true));
    boost::system::error_code ec;
    a.bind({v6 ? tcp::v6() : tcp::v4(), options.tproxyPort}, ec);
    if (ec)
      throw std::runtime_error("cannot listen on tproxy_port " + std::to_string(options.tproxyPort) + " (" +
                               (v6 ? "IPv6" : "IPv4") + "): " + ec.message() +
                               (ec == asio::error::address_in_use ? " (another dae-runtime running?)" : ""));
    a.listen(1024);
    acceptors.push_back(std::move(a));
    asio::co_spawn(io, acceptLoop(acceptors.back()), asio::detached);
  }

  asio::awaitable<void> acceptLoop(tcp::acceptor& acceptor) {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket s = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (stopping || ec == asio::error::operation_aborted) co_return;
        spdlog::warn("accept on tproxy_port: {}", ec.message());
        continue;
      }
      asio::co_spawn(io, handleTcp(std::move(s)), asio::detached);
    }
  }

  asio::awaitable<void> handleTcp(tcp::socket client) {
    auto start = std::chrono::steady_clock::now();
    boost::system::error_code ec;
    auto peer = client.remote_endpoint(ec);
    auto local = client.local_endpoint(ec);  // the original destination
    if (ec) co_return;
    ++counters.tcpAccepted;
    client.set_option(tcp::no_delay(true), ec);
    asio::ip::address src = unmapped(peer.address()), dst = unmapped(local.address());
    std::string flow = "tcp " + text(src, peer.port()) + " -> " + text(dst, local.port());
    bool fromHost = false;
    auto route = lookupRoute(src, peer.port(), dst, local.port(), IPPROTO_TCP, &fromHost);
    if (!route) {
      ++counters.tcpFailed;
      spdlog::warn("{}: no routing decision from the kernel for this flow; closing", flow);
      co_return;
    }
    if (route->dns) {
      dns::ClientInfo ci = dnsClient(src, peer.port(), dst, local.port(), true, *route, fromHost);
      co_await serveDnsTcp(client, ci, flow);
      co_return;
    }
    std::string via;
    std::unique_ptr<ByteStream> upstream;
    try {
      // No temporaries with destructors inside a co_await expression: GCC 12
      // destroys them twice (its bug 100611 family).
      Destination target{dst, local.port(), {}};
      upstream = co_await upstreams->connect(*route, target, via);
    } catch (const std::exception& e) {
      ++counters.tcpFailed;
      if (options.onConnection)
        options.onConnection({false, src, dst, peer.port(), local.port(), {}, *route, via,
                              std::chrono::steady_clock::now() - start, e.what()});
      else
        spdlog::warn("{} outbound={}: dial failed: {}", flow, route->outbound, e.what());
      co_return;
    }
    auto dialed = std::chrono::steady_clock::now();
    if (options.onConnection)
      options.onConnection({false, src, dst, peer.port(), local.port(), {}, *route, via, dialed - start, {}});
    else
      spdlog::info("{} outbound={} via={} dial={}ms", flow, route->outbound, via,
                   std::chrono::duration_cast<std::chrono::milliseconds>(dialed - start).count());
    ActiveCount active(counters.tcpActive);
    RelayStats stats = co_await relay(client, *upstream);
    upstream->close();
    spdlog::debug("{} closed: up={} down={} spliced={}", flow, stats.up, stats.down, stats.spliced);
  }

  // ---- UDP: full-cone sessions -------------------------------------------------

  struct UdpSession {
    std::unique_ptr<DatagramSession> upstream;
    asio::steady_timer idle;
    udp::endpoint client;
    std::chrono::seconds timeout;
    explicit UdpSession(asio::any_io_executor ex) : idle(ex) {}
  };
  // Key: client endpoint + outbound (different rules may send one client's flows
  // to different outbounds).
  std::map<std::pair<udp::endpoint, std::string>, std::shared_ptr<UdpSession>> sessions;
  // Transparent sockets bound to remote addresses, to answer clients from them.
  std::map<udp::endpoint, std::shared_ptr<udp::socket>> replySockets;

  void openUdp(bool v6) {
    auto s = std::make_unique<udp::socket>(io);
    s->open(v6 ? udp::v6() : udp::v4());
    int fd = s->native_handle();
    setIntOption(fd, v6 ? SOL_IPV6 : SOL_IP, v6 ? IPV6_TRANSPARENT : IP_TRANSPARENT, 1, "IP_TRANSPARENT");
    setIntOption(fd, v6 ? SOL_IPV6 : SOL_IP, v6 ? IPV6_RECVORIGDSTADDR : IP_RECVORIGDSTADDR, 1, "RECVORIGDSTADDR");
    if (v6) s->set_option(asio::ip::v6_only(true));
    s->set_option(udp::socket::reuse_address(true));
    boost::system::error_code ec;
    s->bind({v6 ? udp::v6() : udp::v4(), options.tproxyPort}, ec);
    if (ec)
      throw std::runtime_error("cannot bind UDP tproxy_port " + std::to_string(options.tproxyPort) + ": " + ec.message());
    s->non_blocking(true);
    // Room for bursts (a LAN's DNS arrives in bursts); best effort, capped by rmem_max.
    s->set_option(udp::socket::receive_buffer_size(4 << 20), ec);
    udpListeners.push_back(std::move(s));
    asio::co_spawn(io, udpLoop(*udpListeners.back(), v6), asio::detached);
  }

  // Original destination from IP(V6)_ORIGDSTADDR, nullopt when missing.
  static std::optional<udp::endpoint> originalDestination(msghdr& msg) {
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_ORIGDSTADDR) {
        sockaddr_in sin;
        std::memcpy(&sin, CMSG_DATA(c), sizeof sin);
        return udp::endpoint(asio::ip::address_v4(ntohl(sin.sin_addr.s_addr)), ntohs(sin.sin_port));
      }
      if (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_ORIGDSTADDR) {
        sockaddr_in6 sin6;
        std::memcpy(&sin6, CMSG_DATA(c), sizeof sin6);
        asio::ip::address_v6::bytes_type b;
        std::memcpy(b.data(), &sin6.sin6_addr, 16);
        return udp::endpoint(unmapped(asio::ip::address_v6(b)), ntohs(sin6.sin6_port));
      }
    }
    return std::nullopt;
  }

  static udp::endpoint sourceOf(const sockaddr_storage& from) {
    if (from.ss_family == AF_INET) {
      const auto* sin = reinterpret_cast<const sockaddr_in*>(&from);
      return {asio::ip::address_v4(ntohl(sin->sin_addr.s_addr)), ntohs(sin->sin_port)};
    }
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&from);
    asio::ip::address_v6::bytes_type b;
    std::memcpy(b.data(), &sin6->sin6_addr, 16);
    return {unmapped(asio::ip::address_v6(b)), ntohs(sin6->sin6_port)};
  }

  // Ready datagrams are read in batches (recvmmsg): with DNS answered from the cache
  // inline, the per-call cost of the kernel is a good part of a query's.
  asio::awaitable<void> udpLoop(udp::socket& s, bool v6) {
    constexpr unsigned kBatch = 16;
    constexpr size_t kSlot = 65536;  // any UDP payload
    constexpr size_t kControl = 128;  // one ORIGDSTADDR
    std::vector<char> buffers(kBatch * kSlot);
    std::vector<char> controls(kBatch * kControl);
    std::vector<sockaddr_storage> peers(kBatch);
    std::vector<iovec> iovs(kBatch);
    std::vector<mmsghdr> msgs(kBatch);
    const int fd = s.native_handle();
    for (;;) {
      boost::system::error_code ec;
      co_await s.async_wait(udp::socket::wait_read, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      for (;;) {
        for (unsigned i = 0; i < kBatch; ++i) {
          iovs[i] = {buffers.data() + i * kSlot, kSlot};
          msgs[i].msg_hdr = {};
          msgs[i].msg_hdr.msg_name = &peers[i];
          msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
          msgs[i].msg_hdr.msg_iov = &iovs[i];
          msgs[i].msg_hdr.msg_iovlen = 1;
          msgs[i].msg_hdr.msg_control = controls.data() + i * kControl;
          msgs[i].msg_hdr.msg_controllen = kControl;
          msgs[i].msg_len = 0;
        }
        int got = recvmmsg(fd, msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
        if (got <= 0) break;  // EAGAIN: wait for more
        for (int i = 0; i < got; ++i) {
          msghdr& msg = msgs[i].msg_hdr;
          std::optional<udp::endpoint> origDst = originalDestination(msg);
          if (!origDst) continue;
          udp::endpoint client = sourceOf(peers[i]);
          const char* data = buffers.data() + static_cast<size_t>(i) * kSlot;
          size_t n = msgs[i].msg_len;
          ++counters.udpPackets;
          bool fromHost = false;
          auto route = lookupRoute(client.address(), client.port(), origDst->address(), origDst->port(), IPPROTO_UDP,
                                   &fromHost);
          if (!route) {
            spdlog::warn("udp {} -> {}: no routing decision from the kernel for this flow; dropped",
                         text(client.address(), client.port()), text(origDst->address(), origDst->port()));
            continue;
          }
          if (route->dns) {
            // Answered here when the cache can: no coroutine, no copy of the query.
            handleDnsDatagram(client, *origDst, std::string_view(data, n), *route, fromHost);
            continue;
          }
          std::string payload(data, n);
          Route r = *route;  // a named local: GCC 12 co_await bug
          co_await handleDatagram(client, *origDst, std::move(payload), v6, r);
        }
        if (static_cast<unsigned>(got) < kBatch) break;
      }
    }
  }

  asio::awaitable<void> handleDatagram(const udp::endpoint& client, const udp::endpoint& dst, std::string payload,
                                       bool v6, Route route) {
    std::string flow = "udp " + text(client.address(), client.port()) + " -> " + text(dst.address(), dst.port());
    auto key = std::make_pair(client, route.outbound + "/" + std::to_string(route.mark));
    auto it = sessions.find(key);
    std::shared_ptr<UdpSession> session;
    if (it == sessions.end()) {
      session = std::make_shared<UdpSession>(io.get_executor());
      session->client = client;
      session->timeout = dst.port() == 53 ? options.dnsIdle : options.udpIdle;
      std::string via;
      auto start = std::chrono::steady_clock::now();
      try {
        session->upstream = co_await upstreams->openUdp(route, v6 || dst.address().is_v6(), via);
      } catch (const std::exception& e) {
        if (options.onConnection)
          options.onConnection({true, client.address(), dst.address(), client.port(), dst.port(), {}, route, via,
                                std::chrono::steady_clock::now() - start, e.what()});
        else
          spdlog::warn("{} outbound={}: cannot open a UDP session: {}", flow, route.outbound, e.what());
        co_return;
      }
      ++counters.udpSessions;
      if (options.onConnection)
        options.onConnection({true, client.address(), dst.address(), client.port(), dst.port(), {}, route, via,
                              std::chrono::steady_clock::now() - start, {}});
      else
        spdlog::info("{} outbound={} via={} (new UDP session)", flow, route.outbound, via);
      sessions[key] = session;
      ++counters.udpActive;
      asio::co_spawn(io, udpReplies(session, key), asio::detached);
    } else {
      session = it->second;
    }
    session->idle.expires_after(session->timeout);
    try {
      co_await session->upstream->sendTo(asio::buffer(payload), dst);
    } catch (const std::exception& e) {
      spdlog::warn("{}: send failed: {}", flow, e.what());
    }
  }

  std::shared_ptr<udp::socket> replySocket(const udp::endpoint& from) {
    auto it = replySockets.find(from);
    if (it != replySockets.end()) return it->second;
    auto s = std::make_shared<udp::socket>(io);
    bool v6 = from.address().is_v6();
    s->open(v6 ? udp::v6() : udp::v4());
    int fd = s->native_handle();
    setIntOption(fd, v6 ? SOL_IPV6 : SOL_IP, v6 ? IPV6_TRANSPARENT : IP_TRANSPARENT, 1, "IP_TRANSPARENT");
    s->set_option(udp::socket::reuse_address(true));
    if (options.soMark) setIntOption(fd, SOL_SOCKET, SO_MARK, static_cast<int>(options.soMark), "SO_MARK");
    s->bind(from);
    s->non_blocking(true);  // the DNS fast path sends without waiting; a full buffer drops, as UDP may
    replySockets[from] = s;
    return s;
  }

  asio::awaitable<void> udpReplies(std::shared_ptr<UdpSession> session, std::pair<udp::endpoint, std::string> key) {
    std::vector<char> buf(65536);
    session->idle.expires_after(session->timeout);
    // The idle timer closes the upstream, which ends the receive below.
    session->idle.async_wait([session](boost::system::error_code ec) {
      if (!ec) session->upstream->close();
    });
    for (;;) {
      udp::endpoint from;
      size_t n;
      try {
        n = co_await session->upstream->receiveFrom(asio::buffer(buf), from);
      } catch (const std::exception&) {
        break;
      }
      session->idle.expires_after(session->timeout);
      session->idle.async_wait([session](boost::system::error_code ec) {
        if (!ec) session->upstream->close();
      });
      try {
        auto reply = replySocket(from);
        co_await reply->async_send_to(asio::buffer(buf.data(), n), session->client, asio::use_awaitable);
      } catch (const std::exception& e) {
        spdlog::warn("udp reply from {} to {}: {}", text(from.address(), from.port()),
                     text(session->client.address(), session->client.port()), e.what());
      }
    }
    sessions.erase(key);
    --counters.udpActive;
  }

  // ---- DNS: flows the kernel marked DAE_FLOW_F_DNS --------------------------------

  static dns::ClientInfo dnsClient(const asio::ip::address& src, uint16_t sport, const asio::ip::address& dst,
                                   uint16_t dport, bool tcp, const Route& route, bool fromHost) {
    dns::ClientInfo ci;
    ci.source = src;
    ci.sourcePort = sport;
    ci.destination = dst;  // the server the client asked: what `asis` asks, dialled as the flow was routed
    ci.destinationPort = dport;
    ci.tcp = tcp;
    ci.outbound = route.outbound;
    ci.mark = route.mark;
    ci.fromHost = fromHost;
    return ci;
  }

  void handleDnsDatagram(const udp::endpoint& client, const udp::endpoint& dst, std::string_view query,
                         const Route& route, bool fromHost) {
    ++counters.dnsUdpQueries;
    dns::ClientInfo ci = dnsClient(client.address(), client.port(), dst.address(), dst.port(), false, route, fromHost);
    std::optional<asio::awaitable<std::string>> rest;
    if (auto reply = dnsModule->answerFromCache(query, ci, rest)) {
      sendDnsReply(dst, client, *reply);
      return;
    }
    asio::co_spawn(io, dnsUdpSlow(std::move(*rest), dst, client), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        spdlog::warn("DNS query over udp: {}", x.what());
      }
    });
  }

  asio::awaitable<void> dnsUdpSlow(asio::awaitable<std::string> rest, udp::endpoint from, udp::endpoint to) {
    std::string reply = co_await std::move(rest);
    if (!stopping) sendDnsReply(from, to, reply);
  }

  // The reply leaves from the query's original destination, as the client expects.
  void sendDnsReply(const udp::endpoint& from, const udp::endpoint& to, std::string_view reply) {
    if (reply.empty()) return;
    if (dnsModule->sendFromListener(from, to, reply)) return;
    boost::system::error_code ec;
    try {
      replySocket(from)->send_to(asio::buffer(reply.data(), reply.size()), to, 0, ec);
    } catch (const std::exception& e) {
      spdlog::warn("DNS reply from {} to {}: {}", text(from.address(), from.port()), text(to.address(), to.port()),
                   e.what());
      return;
    }
    if (ec && ec != asio::error::would_block)
      spdlog::debug("DNS reply from {} to {}: {}", text(from.address(), from.port()), text(to.address(), to.port()),
                    ec.message());
  }

  // RFC 1035 4.2.2 / RFC 7766: length-prefixed messages, several per connection,
  // answered in order; the connection closes after dnsIdle without a complete query.
  asio::awaitable<void> serveDnsTcp(tcp::socket& client, dns::ClientInfo ci, std::string flow) {
    ++counters.dnsTcpConnections;
    tcp::socket* sock = &client;
    unsigned answered = 0;
    boost::system::error_code ec;
    while (!stopping) {
      outbound::Deadline idle(io.get_executor(), options.dnsIdle, [sock] {
        boost::system::error_code ignored;
        sock->close(ignored);
      });
      uint8_t len[2];
      co_await asio::async_read(client, asio::buffer(len), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      std::string query(static_cast<size_t>((len[0] << 8) | len[1]), '\0');
      co_await asio::async_read(client, asio::buffer(query), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      std::string reply = co_await dnsModule->answer(query, ci);
      if (reply.empty()) continue;
      std::string framed;
      framed.reserve(reply.size() + 2);
      framed.push_back(static_cast<char>(reply.size() >> 8));
      framed.push_back(static_cast<char>(reply.size() & 0xFF));
      framed += reply;
      co_await asio::async_write(client, asio::buffer(framed), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      ++answered;
    }
    spdlog::debug("{} (DNS over TCP) closed after {} answers", flow, answered);
  }
};

Engine::Engine(asio::io_context& io, const loader::Artifact& artifact, EngineOptions options,
               std::shared_ptr<UpstreamResolver> upstreams)
    : impl_(std::make_unique<Impl>(io, artifact, options, std::move(upstreams), counters_)) {}

Engine::~Engine() { stop(); }

void Engine::start() {
  impl_->openTcp(false);
  impl_->openTcp(true);
  impl_->openUdp(false);
  impl_->openUdp(true);
  impl_->dnsModule->start();  // dns.bind listeners, upstream loop checks, cache sweeper
}

dns::DnsModule& Engine::dns() { return *impl_->dnsModule; }

void Engine::reloadDns(const loader::Artifact& artifact, int domainMapFd) {
  Impl& m = *impl_;
  dns::DnsOptions dnsOptions = m.options.dns;
  if (dnsOptions.soMark == 0) dnsOptions.soMark = m.options.soMark;
  auto next = std::make_unique<dns::DnsModule>(m.io.get_executor(), artifact, domainMapFd, std::move(dnsOptions));
  // The old listeners close first: a TCP port cannot be bound twice.
  m.dnsModule->stop();
  try {
    next->start();
  } catch (const std::exception& e) {
    m.dnsModule->start();  // the running module stays, listeners reopened
    throw std::runtime_error(std::string("DNS module of the new program: ") + e.what());
  }
  m.options.domainMapFd = domainMapFd;
  m.dnsModule = std::move(next);
}

void Engine::stop() {
  if (!impl_ || impl_->stopping) return;
  impl_->stopping = true;
  boost::system::error_code ec;
  for (auto& a : impl_->acceptors) a.close(ec);
  for (auto& u : impl_->udpListeners) u->close(ec);
  for (auto& [k, s] : impl_->sessions) s->upstream->close();
  impl_->dnsModule->stop();
  dns::DnsStats d = impl_->dnsModule->stats();
  spdlog::info("DNS: {} queries ({} hijacked over udp, {} tcp connections), {} cache hits ({} stale), {} upstream "
               "queries ({} failed), {} rejected, {} malformed, {} loops, {} dae_domain_map writes, {} cached",
               d.queries, counters_.dnsUdpQueries.load(), counters_.dnsTcpConnections.load(), d.cacheHits,
               d.staleHits, d.upstreamQueries, d.upstreamFailures, d.rejected, d.malformed, d.loops, d.mapWrites,
               d.cacheEntries);
}

}  // namespace dae::engine
