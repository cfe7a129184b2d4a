// dns.bind listeners: UDP (a cache hit is answered inline, without a coroutine per
// datagram; ready datagrams are drained with non-blocking reads) and TCP (RFC 1035
// 4.2.2 length-prefixed messages, several per connection, 30 s idle timeout).
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cstring>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "dns/ModuleImpl.h"
#include "outbound/Deadline.h"

namespace dae::dns {
namespace {

using asio::ip::tcp;
using asio::ip::udp;

asio::ip::address unmapped(const asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  return a;
}

ClientInfo clientOf(const asio::ip::address& addr, uint16_t port, bool tcp) {
  ClientInfo c;
  c.source = unmapped(addr);
  c.sourcePort = port;
  c.tcp = tcp;
  c.fromHost = c.source.is_loopback();
  return c;  // destination unspecified: `asis` asks the bootstrap resolvers
}

}  // namespace

void DnsModule::Impl::openListeners() {
  auto self = shared_from_this();
  for (const auto& b : binds) {
    std::string where = (b.address.is_v6() ? "[" + b.address.to_string() + "]" : b.address.to_string()) + ":" +
                        std::to_string(b.port);
    if (b.udp) {
      auto s = std::make_unique<udp::socket>(ex);
      boost::system::error_code ec;
      s->open(b.address.is_v4() ? udp::v4() : udp::v6(), ec);
      if (!ec) s->set_option(asio::socket_base::reuse_address(true), ec);
      if (!ec) s->bind({b.address, b.port}, ec);
      if (ec) throw std::runtime_error("dns.bind: cannot listen on udp " + where + ": " + ec.message());
      s->non_blocking(true, ec);
      s->set_option(asio::socket_base::receive_buffer_size(4 << 20), ec);  // best effort
      udpSockets.push_back(std::move(s));
      asio::co_spawn(ex, udpLoop(self, udpSockets.back().get()), [](std::exception_ptr e) { logDetached("udp listener", e); });
      spdlog::info("DNS listening on udp {}", where);
    }
    if (b.tcp) {
      auto a = std::make_unique<tcp::acceptor>(ex);
      boost::system::error_code ec;
      a->open(b.address.is_v4() ? tcp::v4() : tcp::v6(), ec);
      if (!ec) a->set_option(asio::socket_base::reuse_address(true), ec);
      if (!ec) a->bind({b.address, b.port}, ec);
      if (!ec) a->listen(256, ec);
      if (ec) throw std::runtime_error("dns.bind: cannot listen on tcp " + where + ": " + ec.message());
      acceptors.push_back(std::move(a));
      asio::co_spawn(ex, tcpAccept(self, acceptors.back().get()), [](std::exception_ptr e) { logDetached("tcp listener", e); });
      spdlog::info("DNS listening on tcp {}", where);
    }
  }
}

asio::awaitable<void> DnsModule::Impl::udpLoop(std::shared_ptr<Impl> self, udp::socket* s) {
  // Datagrams are read and answered in batches (recvmmsg / sendmmsg): the kernel's
  // per-call cost, not the module, is what limits a single core otherwise.
  constexpr unsigned kBatch = 32;
  constexpr size_t kSlot = 4096;  // larger queries are dropped (MSG_TRUNC)
  std::vector<char> buffers(kBatch * kSlot);
  std::vector<sockaddr_storage> peers(kBatch);
  std::vector<iovec> inIov(kBatch), outIov(kBatch);
  std::vector<mmsghdr> in(kBatch), out(kBatch);
  std::vector<std::string> replies(kBatch);
  const int fd = s->native_handle();
  for (;;) {
    boost::system::error_code ec;
    co_await s->async_wait(udp::socket::wait_read, asio::redirect_error(asio::use_awaitable, ec));
    if (ec || self->stopped) {
      if (self->stopped || ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) co_return;
      spdlog::warn("DNS udp listener: {}", ec.message());
      continue;
    }
    for (int round = 0; round < 16 && !self->stopped; ++round) {
      for (unsigned i = 0; i < kBatch; ++i) {
        inIov[i] = {buffers.data() + i * kSlot, kSlot};
        in[i].msg_hdr = {};
        in[i].msg_hdr.msg_name = &peers[i];
        in[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
        in[i].msg_hdr.msg_iov = &inIov[i];
        in[i].msg_hdr.msg_iovlen = 1;
        in[i].msg_len = 0;
      }
      int n = recvmmsg(fd, in.data(), kBatch, MSG_DONTWAIT, nullptr);
      if (n <= 0) break;  // EAGAIN: wait for more
      unsigned replyCount = 0;
      for (int i = 0; i < n; ++i) {
        if (in[i].msg_hdr.msg_flags & MSG_TRUNC) continue;
        udp::endpoint from;
        std::memcpy(from.data(), &peers[i], in[i].msg_hdr.msg_namelen);
        from.resize(in[i].msg_hdr.msg_namelen);
        std::string_view query(buffers.data() + static_cast<size_t>(i) * kSlot, in[i].msg_len);
        ClientInfo client = clientOf(from.address(), from.port(), false);
        Prepared p;
        std::string& reply = replies[replyCount];
        reply.clear();
        bool done = self->prepare(query, client, p, reply);
        if (!done) {
          if (auto cached = self->fromCache(p)) {
            reply = std::move(*cached);
            done = true;
          }
        }
        if (!done) {
          p.query.assign(query);
          asio::co_spawn(self->ex, udpSlow(self, s, p, client, from),
                         [](std::exception_ptr e) { logDetached("udp query", e); });
          continue;
        }
        if (reply.empty()) continue;
        outIov[replyCount] = {reply.data(), reply.size()};
        out[replyCount].msg_hdr = {};
        out[replyCount].msg_hdr.msg_name = &peers[i];
        out[replyCount].msg_hdr.msg_namelen = in[i].msg_hdr.msg_namelen;
        out[replyCount].msg_hdr.msg_iov = &outIov[replyCount];
        out[replyCount].msg_hdr.msg_iovlen = 1;
        ++replyCount;
      }
      for (unsigned sent = 0; sent < replyCount;) {
        int m = sendmmsg(fd, out.data() + sent, replyCount - sent, MSG_DONTWAIT);
        if (m <= 0) break;  // the socket buffer is full: the rest is dropped, as UDP may
        sent += static_cast<unsigned>(m);
      }
      if (static_cast<unsigned>(n) < kBatch) break;
    }
  }
}

asio::awaitable<void> DnsModule::Impl::udpSlow(std::shared_ptr<Impl> self, udp::socket* s, Prepared p, ClientInfo from,
                                               udp::endpoint to) {
  std::string reply = co_await self->finishSlow(p, from);
  if (reply.empty() || self->stopped) co_return;
  boost::system::error_code ec;
  s->send_to(asio::buffer(reply), to, 0, ec);
  if (ec && ec != asio::error::would_block) spdlog::debug("DNS udp reply to {}: {}", to.address().to_string(), ec.message());
}

asio::awaitable<void> DnsModule::Impl::tcpAccept(std::shared_ptr<Impl> self, tcp::acceptor* a) {
  for (;;) {
    boost::system::error_code ec;
    tcp::socket s = co_await a->async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (self->stopped || ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) co_return;
      spdlog::warn("DNS tcp listener: {}", ec.message());
      continue;
    }
    asio::co_spawn(self->ex, tcpSession(self, std::move(s)), [](std::exception_ptr e) { logDetached("tcp session", e); });
  }
}

asio::awaitable<void> DnsModule::Impl::tcpSession(std::shared_ptr<Impl> self, tcp::socket s) {
  boost::system::error_code ec;
  auto peer = s.remote_endpoint(ec);
  if (ec) co_return;
  ClientInfo client = clientOf(peer.address(), peer.port(), true);
  tcp::socket* sock = &s;
  while (!self->stopped) {
    outbound::Deadline idle(self->ex, std::chrono::seconds(30), [sock] {
      boost::system::error_code ignored;
      sock->close(ignored);
    });
    uint8_t len[2];
    co_await asio::async_read(s, asio::buffer(len), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    std::string query(static_cast<size_t>((len[0] << 8) | len[1]), '\0');
    co_await asio::async_read(s, asio::buffer(query), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    std::string reply = co_await self->answer(query, client);
    if (reply.empty()) continue;
    std::string framed;
    framed.reserve(reply.size() + 2);
    framed.push_back(static_cast<char>(reply.size() >> 8));
    framed.push_back(static_cast<char>(reply.size() & 0xFF));
    framed += reply;
    co_await asio::async_write(s, asio::buffer(framed), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
  }
}

void DnsModule::Impl::startSweeper() {
  if (sweeper) return;
  sweeper = std::make_unique<asio::steady_timer>(ex);
  asio::co_spawn(ex, sweepLoop(shared_from_this()), [](std::exception_ptr e) { logDetached("cache sweeper", e); });
}

// Drops entries that can no longer be served; ends when stop() cancels the timer.
asio::awaitable<void> DnsModule::Impl::sweepLoop(std::shared_ptr<Impl> self) {
  while (!self->stopped) {
    self->sweeper->expires_after(std::chrono::seconds(30));
    boost::system::error_code ec;
    co_await self->sweeper->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec || self->stopped) co_return;
    size_t removed = self->cache.sweep(self->now());
    if (removed) spdlog::debug("DNS cache: {} expired entries dropped, {} left", removed, self->cache.size());
  }
}

std::vector<asio::ip::udp::endpoint> DnsModule::udpListenEndpoints() const {
  std::vector<asio::ip::udp::endpoint> out;
  boost::system::error_code ec;
  for (const auto& s : impl_->udpSockets) out.push_back(s->local_endpoint(ec));
  return out;
}

std::vector<asio::ip::tcp::endpoint> DnsModule::tcpListenEndpoints() const {
  std::vector<asio::ip::tcp::endpoint> out;
  boost::system::error_code ec;
  for (const auto& a : impl_->acceptors) out.push_back(a->local_endpoint(ec));
  return out;
}

}  // namespace dae::dns
