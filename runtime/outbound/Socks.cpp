// SOCKS5 (CONNECT, UDP ASSOCIATE, username/password) and SOCKS4/4a dialers.
#include "outbound/Socks.h"

#include <utility>  // before Boost.Asio 1.74 headers (std::exchange)
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstring>
#include <spdlog/spdlog.h>

#include "outbound/Deadline.h"
#include "outbound/Protocols.h"

namespace dae::outbound {

namespace asio = boost::asio;

std::optional<Socks5Reply> parseSocks5Reply(std::span<const std::uint8_t> data, std::size_t& consumed,
                                            std::size_t* need) {
  if (data.size() < 4) {
    if (need) *need = 4;
    if (!data.empty() && data[0] != 5)
      fail(Errc::Handshake, "not a SOCKS5 reply (version byte " + std::to_string(data[0]) + ")");
    return std::nullopt;
  }
  if (data[0] != 5) fail(Errc::Handshake, "not a SOCKS5 reply (version byte " + std::to_string(data[0]) + ")");
  Socks5Reply reply;
  reply.code = data[1];
  std::size_t addrNeed = 0, addrUsed = 0;
  std::optional<Endpoint> bound;
  try {
    bound = parseSocksAddress(data.subspan(3), addrUsed, &addrNeed);
  } catch (const OutboundError& e) {
    fail(Errc::Handshake, std::string("bad SOCKS5 reply: ") + e.what());
  }
  if (!bound) {
    if (need) *need = 3 + addrNeed;
    return std::nullopt;
  }
  reply.bound = *bound;
  consumed = 3 + addrUsed;
  return reply;
}

std::string socks5ReplyMessage(std::uint8_t code) {
  switch (code) {
    case 0: return "succeeded";
    case 1: return "general SOCKS server failure";
    case 2: return "connection not allowed by ruleset";
    case 3: return "network unreachable";
    case 4: return "host unreachable";
    case 5: return "connection refused";
    case 6: return "TTL expired";
    case 7: return "command not supported";
    case 8: return "address type not supported";
    default: return "unknown reply code " + std::to_string(code);
  }
}

Errc socks5ReplyErrc(std::uint8_t code) {
  switch (code) {
    case 3: case 4: case 5: case 6: return Errc::TargetUnreachable;
    case 7: case 8: return Errc::Unsupported;
    default: return Errc::Handshake;
  }
}

void checkSocks4Reply(std::span<const std::uint8_t> r) {
  if (r.size() != 8) fail(Errc::Handshake, "SOCKS4 reply must be 8 bytes");
  if (r[0] != 0) fail(Errc::Handshake, "not a SOCKS4 reply (version byte " + std::to_string(r[0]) + ")");
  switch (r[1]) {
    case 90: return;
    case 91: fail(Errc::TargetUnreachable, "SOCKS4 request rejected or failed");
    case 92: case 93: fail(Errc::Auth, "SOCKS4 request rejected: identd check failed");
    default: fail(Errc::Handshake, "SOCKS4 reply code " + std::to_string(r[1]) + " is unknown");
  }
}

namespace {

using Bytes = std::vector<std::uint8_t>;

// Runs the SOCKS5 greeting, authentication and one request on s.
awaitable<Socks5Reply> socks5Request(Stream& s, const NodeConfig& node, std::uint8_t cmd, const Endpoint& addr) {
  bool auth = !node.username.empty() || !node.password.empty();
  Bytes out = auth ? Bytes{5, 2, 0, 2} : Bytes{5, 1, 0};
  co_await s.writeAll(asio::buffer(out));
  std::uint8_t sel[2];
  co_await readExactly(s, asio::buffer(sel), "the SOCKS5 method selection");
  if (sel[0] != 5) fail(Errc::Handshake, "not a SOCKS5 server (version byte " + std::to_string(sel[0]) + ")");
  if (sel[1] == 0xff)
    fail(Errc::Auth, auth ? "the SOCKS5 server accepts none of our methods (no auth, username/password)"
                          : "the SOCKS5 server requires authentication");
  if (sel[1] == 2) {
    if (!auth) fail(Errc::Auth, "the SOCKS5 server asks for a username and password, but the node has none");
    if (node.username.size() > 255 || node.password.size() > 255)
      fail(Errc::InvalidArgument, "SOCKS5 username and password are limited to 255 bytes");
    out = {1, static_cast<std::uint8_t>(node.username.size())};
    out.insert(out.end(), node.username.begin(), node.username.end());
    out.push_back(static_cast<std::uint8_t>(node.password.size()));
    out.insert(out.end(), node.password.begin(), node.password.end());
    co_await s.writeAll(asio::buffer(out));
    std::uint8_t st[2];
    co_await readExactly(s, asio::buffer(st), "the SOCKS5 authentication status");
    if (st[1] != 0) fail(Errc::Auth, "the SOCKS5 server rejected username '" + node.username + "' or its password");
  } else if (sel[1] != 0) {
    fail(Errc::Handshake, "the SOCKS5 server chose method " + std::to_string(sel[1]) + ", which we did not offer");
  }
  out = {5, cmd, 0};
  appendSocksAddress(out, addr);
  co_await s.writeAll(asio::buffer(out));
  Bytes reply(4);
  co_await readExactly(s, asio::buffer(reply), "the SOCKS5 reply");
  while (true) {
    std::size_t consumed = 0, need = 0;
    auto r = parseSocks5Reply(reply, consumed, &need);
    if (r) {
      if (r->code != 0)
        fail(socks5ReplyErrc(r->code), "SOCKS5 server: " + socks5ReplyMessage(r->code) +
                                           (cmd == 1 ? " (CONNECT " + addr.toString() + ")" : " (UDP ASSOCIATE)"));
      co_return *r;
    }
    std::size_t have = reply.size();
    reply.resize(need);
    co_await readExactly(s, asio::buffer(reply.data() + have, need - have), "the SOCKS5 reply");
  }
}

struct Socks5UdpState {
  std::unique_ptr<Stream> control;
  std::unique_ptr<Datagram> udp;
  Endpoint relay;
};

// The association lives as long as its TCP connection: when the server
// closes it, the UDP side is closed too, so receiveFrom fails.
awaitable<void> watchControl(std::shared_ptr<Socks5UdpState> st) {
  std::uint8_t buf[512];
  try {
    while (co_await st->control->readSome(asio::buffer(buf)) > 0) {
    }
    spdlog::debug("socks5: the UDP association's control connection was closed");
  } catch (const std::exception& e) {
    spdlog::debug("socks5: UDP association control connection: {}", e.what());
  }
  st->udp->close();
}

class Socks5Datagram final : public Datagram {
 public:
  explicit Socks5Datagram(std::shared_ptr<Socks5UdpState> st) : st_(std::move(st)) {
    asio::co_spawn(st_->udp->executor(), watchControl(st_), asio::detached);
  }
  ~Socks5Datagram() override { close(); }
  asio::any_io_executor executor() const override { return st_->udp->executor(); }

  awaitable<void> sendTo(asio::const_buffer payload, const Endpoint& to) override {
    Bytes packet{0, 0, 0};
    appendSocksAddress(packet, to);
    auto p = static_cast<const std::uint8_t*>(payload.data());
    packet.insert(packet.end(), p, p + payload.size());
    co_await st_->udp->sendTo(asio::buffer(packet), st_->relay);
  }

  awaitable<std::size_t> receiveFrom(asio::mutable_buffer buf, Endpoint& from) override {
    rbuf_.resize(65536);
    while (true) {
      Endpoint sender;
      std::size_t n = co_await st_->udp->receiveFrom(asio::buffer(rbuf_), sender);
      if (n < 4 || rbuf_[2] != 0) {  // fragments (FRAG != 0) are not supported: drop
        spdlog::debug("socks5: dropped a UDP packet of {} bytes (short or fragmented)", n);
        continue;
      }
      std::size_t used = 0;
      std::optional<Endpoint> src;
      try {
        src = parseSocksAddress(std::span<const std::uint8_t>(rbuf_.data() + 3, n - 3), used);
      } catch (const OutboundError& e) {
        spdlog::debug("socks5: dropped a UDP packet: {}", e.what());
        continue;
      }
      if (!src) continue;
      std::size_t len = std::min(buf.size(), n - 3 - used);
      std::memcpy(buf.data(), rbuf_.data() + 3 + used, len);
      from = *src;
      co_return len;
    }
  }

  void close() noexcept override {
    st_->control->close();
    st_->udp->close();
  }

 private:
  std::shared_ptr<Socks5UdpState> st_;
  Bytes rbuf_;
};

class Socks5Dialer final : public Dialer {
 public:
  Socks5Dialer(NodeConfig node, std::shared_ptr<Dialer> via, DialOptions opts)
      : node_(std::move(node)), via_(std::move(via)), opts_(std::move(opts)) {}

  awaitable<std::unique_ptr<Stream>> dialTcp(const Endpoint& target) override {
    auto s = co_await via_->dialTcp(node_.server);
    Stream* raw = s.get();
    Deadline deadline(co_await asio::this_coro::executor, opts_.handshakeTimeout, [raw] { raw->close(); });
    co_await underDeadline(socks5Request(*s, node_, 1, target), deadline, "SOCKS5 handshake");
    co_return s;
  }

  awaitable<std::unique_ptr<Datagram>> dialUdp() override {
    auto st = std::make_shared<Socks5UdpState>();
    st->control = co_await via_->dialTcp(node_.server);
    Stream* raw = st->control.get();
    Deadline deadline(co_await asio::this_coro::executor, opts_.handshakeTimeout, [raw] { raw->close(); });
    // Dante relays only datagrams from the address in the request; we do not
    // know our UDP source before sending, so ask for "any" (0.0.0.0:0 / [::]:0).
    auto serverIp = node_.server.address();
    Endpoint any(serverIp && serverIp->is_v6() ? "::" : "0.0.0.0", 0);
    Socks5Reply reply = co_await underDeadline(socks5Request(*st->control, node_, 3, any), deadline,
                                               "SOCKS5 UDP ASSOCIATE");
    st->relay = reply.bound;
    auto boundIp = reply.bound.address();
    if (boundIp && boundIp->is_unspecified()) st->relay.host = node_.server.host;  // "the proxy's own address"
    if (st->relay.port == 0) fail(Errc::Handshake, "SOCKS5 UDP ASSOCIATE reply has port 0");
    st->udp = co_await via_->dialUdp();
    spdlog::debug("socks5: UDP relay at {}", st->relay.toString());
    co_return std::make_unique<Socks5Datagram>(std::move(st));
  }

  bool supportsUdp() const override { return via_->supportsUdp(); }
  std::string describe() const override { return "socks5 " + node_.server.toString(); }

 private:
  NodeConfig node_;
  std::shared_ptr<Dialer> via_;
  DialOptions opts_;
};

class Socks4Dialer final : public Dialer {
 public:
  Socks4Dialer(NodeConfig node, std::shared_ptr<Dialer> via, DialOptions opts)
      : node_(std::move(node)), via_(std::move(via)), opts_(std::move(opts)) {}

  awaitable<std::unique_ptr<Stream>> dialTcp(const Endpoint& target) override {
    bool v4a = node_.protocol == Protocol::Socks4a;
    Bytes req{4, 1, static_cast<std::uint8_t>(target.port >> 8), static_cast<std::uint8_t>(target.port & 0xff)};
    auto addr = target.address();
    if (addr && addr->is_v6()) fail(Errc::Unsupported, "SOCKS4 cannot reach the IPv6 address " + target.host);
    if (!addr && !v4a) addr = co_await resolveV4(target.host);
    if (addr) {
      auto b = addr->to_v4().to_bytes();
      req.insert(req.end(), b.begin(), b.end());
    } else {
      req.insert(req.end(), {0, 0, 0, 1});  // SOCKS4a: 0.0.0.x, the name follows the user id
    }
    req.insert(req.end(), node_.username.begin(), node_.username.end());
    req.push_back(0);
    if (!addr) {
      req.insert(req.end(), target.host.begin(), target.host.end());
      req.push_back(0);
    }
    auto s = co_await via_->dialTcp(node_.server);
    Stream* raw = s.get();
    Deadline deadline(co_await asio::this_coro::executor, opts_.handshakeTimeout, [raw] { raw->close(); });
    co_await underDeadline(request(*s, std::move(req)), deadline, "SOCKS4 handshake");
    co_return s;
  }

  awaitable<std::unique_ptr<Datagram>> dialUdp() override {
    fail(Errc::Unsupported, "SOCKS4 has no UDP");
    co_return nullptr;
  }
  bool supportsUdp() const override { return false; }
  std::string describe() const override {
    return std::string(protocolName(node_.protocol)) + " " + node_.server.toString();
  }

 private:
  static awaitable<void> request(Stream& s, Bytes req) {
    co_await s.writeAll(asio::buffer(req));
    std::uint8_t reply[8];
    co_await readExactly(s, asio::buffer(reply), "the SOCKS4 reply");
    checkSocks4Reply(reply);
  }

  awaitable<boost::asio::ip::address> resolveV4(const std::string& host) {
    asio::ip::tcp::resolver resolver(co_await asio::this_coro::executor);
    boost::system::error_code ec;
    auto results = co_await resolver.async_resolve(asio::ip::tcp::v4(), host, "",
                                                   asio::redirect_error(asio::use_awaitable, ec));
    if (ec || results.empty()) fail(Errc::Resolve, "SOCKS4 needs an IPv4 address: cannot resolve '" + host + "'");
    co_return results.begin()->endpoint().address();
  }

  NodeConfig node_;
  std::shared_ptr<Dialer> via_;
  DialOptions opts_;
};

}  // namespace

std::shared_ptr<Dialer> makeSocks5Dialer(const NodeConfig& node, std::shared_ptr<Dialer> via,
                                         const DialOptions& opts) {
  return std::make_shared<Socks5Dialer>(node, std::move(via), opts);
}

std::shared_ptr<Dialer> makeSocks4Dialer(const NodeConfig& node, std::shared_ptr<Dialer> via,
                                         const DialOptions& opts) {
  return std::make_shared<Socks4Dialer>(node, std::move(via), opts);
}

}  // namespace dae::outbound
