// Direct and block dialers: plain sockets from this host.
#include <sys/socket.h>

#include <utility>  // before Boost.Asio 1.74 headers (std::exchange)
#include <boost/asio/detail/socket_option.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <map>
#include <spdlog/spdlog.h>

#include "outbound/Deadline.h"
#include "outbound/Dialer.h"

namespace dae::outbound {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;
using boost::system::error_code;

namespace {

using SoMark = asio::detail::socket_option::integer<SOL_SOCKET, SO_MARK>;

template <typename Socket>
void applyMark(Socket& s, std::uint32_t mark) {
  if (mark == 0) return;
  error_code ec;
  s.set_option(SoMark(static_cast<int>(mark)), ec);
  if (ec) fail(Errc::Connect, "cannot set SO_MARK " + std::to_string(mark) + ": " + ec.message() + " (needs CAP_NET_ADMIN)");
}

class TcpStream final : public Stream {
 public:
  explicit TcpStream(tcp::socket s) : sock_(std::move(s)) {}
  asio::any_io_executor executor() const override { return const_cast<tcp::socket&>(sock_).get_executor(); }

  awaitable<std::size_t> readSome(asio::mutable_buffer buf) override {
    error_code ec;
    std::size_t n = co_await sock_.async_read_some(buf, asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::eof) co_return 0;
    if (ec) throw boost::system::system_error(ec, "read");
    co_return n;
  }
  awaitable<void> writeAll(asio::const_buffer buf) override {
    co_await asio::async_write(sock_, buf, asio::use_awaitable);
  }
  awaitable<void> shutdownWrite() override {
    error_code ec;
    sock_.shutdown(tcp::socket::shutdown_send, ec);
    if (ec && ec != asio::error::not_connected) throw boost::system::system_error(ec, "shutdown");
    co_return;
  }
  void close() noexcept override {
    error_code ignored;  // closing an already closed socket is fine
    sock_.close(ignored);
  }

 private:
  tcp::socket sock_;
};

class DirectDatagram final : public Datagram {
 public:
  DirectDatagram(asio::any_io_executor ex, std::uint32_t mark) : sock_(ex), resolver_(ex) {
    error_code ec;
    sock_.open(udp::v6(), ec);
    if (!ec) sock_.set_option(asio::ip::v6_only(false), ec);
    v6_ = !ec;
    if (ec) {  // no IPv6 in this namespace: IPv4 only
      error_code ignored;
      sock_.close(ignored);
      sock_.open(udp::v4(), ec);
      if (ec) fail(Errc::Connect, "cannot open a UDP socket: " + ec.message());
    }
    applyMark(sock_, mark);
  }
  asio::any_io_executor executor() const override { return const_cast<udp::socket&>(sock_).get_executor(); }

  awaitable<void> sendTo(asio::const_buffer payload, const Endpoint& to) override {
    udp::endpoint ep = co_await resolve(to);
    co_await sock_.async_send_to(payload, ep, asio::use_awaitable);
  }

  awaitable<std::size_t> receiveFrom(asio::mutable_buffer buf, Endpoint& from) override {
    udp::endpoint ep;
    std::size_t n = co_await sock_.async_receive_from(buf, ep, asio::use_awaitable);
    auto a = ep.address();
    if (a.is_v6() && a.to_v6().is_v4_mapped()) a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
    from = Endpoint(a.to_string(), ep.port());
    co_return n;
  }

  void close() noexcept override {
    error_code ignored;
    resolver_.cancel();
    sock_.close(ignored);
  }

 private:
  asio::ip::address fit(asio::ip::address a) const {
    if (v6_ && a.is_v4()) return asio::ip::make_address_v6(asio::ip::v4_mapped, a.to_v4());
    return a;
  }

  awaitable<udp::endpoint> resolve(const Endpoint& to) {
    const bool v6sock = v6_;
    if (auto a = to.address()) {
      if (a->is_v6() && !v6sock) fail(Errc::Unsupported, "no IPv6 UDP socket for " + to.toString());
      co_return udp::endpoint(fit(*a), to.port);
    }
    auto it = cache_.find(to.host);
    if (it == cache_.end()) {
      error_code ec;
      auto results = co_await resolver_.async_resolve(to.host, "", asio::redirect_error(asio::use_awaitable, ec));
      if (ec) fail(Errc::Resolve, "cannot resolve '" + to.host + "': " + ec.message());
      std::optional<asio::ip::address> pick;
      for (const auto& r : results) {
        auto a = r.endpoint().address();
        if (a.is_v6() && !v6sock) continue;
        if (!pick || (pick->is_v6() && a.is_v4())) pick = a;  // prefer IPv4 like the TCP path's first result
      }
      if (!pick) fail(Errc::Resolve, "'" + to.host + "' has no usable address");
      it = cache_.emplace(to.host, *pick).first;
    }
    co_return udp::endpoint(fit(it->second), to.port);
  }

  udp::socket sock_;
  udp::resolver resolver_;
  bool v6_ = false;
  std::map<std::string, asio::ip::address> cache_;
};

class DirectDialer final : public Dialer {
 public:
  explicit DirectDialer(DialOptions opts) : opts_(std::move(opts)) {}

  awaitable<std::unique_ptr<Stream>> dialTcp(const Endpoint& target) override {
    auto ex = co_await asio::this_coro::executor;
    tcp::resolver resolver(ex);
    tcp::socket sock(ex);
    Deadline deadline(ex, opts_.connectTimeout, [&] {
      resolver.cancel();
      error_code ignored;
      sock.close(ignored);
    });
    std::vector<tcp::endpoint> candidates;
    if (auto a = target.address()) {
      candidates.emplace_back(*a, target.port);
    } else {
      error_code ec;
      auto results = co_await resolver.async_resolve(target.host, std::to_string(target.port),
                                                     asio::redirect_error(asio::use_awaitable, ec));
      if (deadline.expired()) fail(Errc::Timeout, "resolving '" + target.host + "' timed out");
      if (ec) fail(Errc::Resolve, "cannot resolve '" + target.host + "': " + ec.message());
      for (const auto& r : results) candidates.push_back(r.endpoint());
    }
    error_code last = asio::error::host_not_found;
    tcp::endpoint lastEp;
    for (const auto& ep : candidates) {
      if (deadline.expired()) break;
      error_code ec;
      error_code ignored;
      sock.close(ignored);
      sock.open(ep.protocol(), ec);
      if (ec) {
        last = ec;
        lastEp = ep;
        continue;
      }
      applyMark(sock, opts_.soMark);
      co_await sock.async_connect(ep, asio::redirect_error(asio::use_awaitable, ec));
      if (!ec) {
        sock.set_option(tcp::no_delay(true), ec);
        co_return std::make_unique<TcpStream>(std::move(sock));
      }
      last = ec;
      lastEp = ep;
      spdlog::debug("direct: connect {} failed: {}", lastEp.address().to_string(), ec.message());
    }
    if (deadline.expired())
      fail(Errc::Timeout, "connect to " + target.toString() + " timed out after " +
                              std::to_string(opts_.connectTimeout.count()) + " ms");
    fail(Errc::Connect, "connect to " + target.toString() + " failed: " + last.message());
  }

  awaitable<std::unique_ptr<Datagram>> dialUdp() override {
    auto ex = co_await asio::this_coro::executor;
    co_return std::make_unique<DirectDatagram>(ex, opts_.soMark);
  }

  bool supportsUdp() const override { return true; }
  std::string describe() const override {
    return opts_.soMark ? "direct (mark " + std::to_string(opts_.soMark) + ")" : "direct";
  }

 private:
  DialOptions opts_;
};

class BlockDialer final : public Dialer {
 public:
  awaitable<std::unique_ptr<Stream>> dialTcp(const Endpoint& target) override {
    fail(Errc::Blocked, "blocked: " + target.toString());
    co_return nullptr;
  }
  awaitable<std::unique_ptr<Datagram>> dialUdp() override {
    fail(Errc::Blocked, "blocked: UDP");
    co_return nullptr;
  }
  bool supportsUdp() const override { return false; }
  std::string describe() const override { return "block"; }
};

}  // namespace

std::shared_ptr<Dialer> makeDirectDialer(const DialOptions& opts) { return std::make_shared<DirectDialer>(opts); }
std::shared_ptr<Dialer> makeBlockDialer() { return std::make_shared<BlockDialer>(); }

}  // namespace dae::outbound
