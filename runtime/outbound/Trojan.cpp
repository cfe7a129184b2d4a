// Trojan dialer (trojan-gfw protocol): TCP and UDP over TLS (optionally ws).
//
// Request: hex(SHA-224(password)) CRLF command(1 CONNECT, 3 UDP ASSOCIATE)
// SOCKS5-address CRLF, then the payload. UDP packets, both ways:
// SOCKS5-address length(2) CRLF payload — one stream carries every
// destination, so a session is full-cone by itself.
#include <utility>  // before Boost.Asio 1.74 headers (std::exchange)
#include <boost/asio/this_coro.hpp>
#include <cstring>
#include <spdlog/spdlog.h>

#include "outbound/Crypto.h"
#include "outbound/Protocols.h"
#include "outbound/Transport.h"

namespace dae::outbound {

namespace asio = boost::asio;
using Bytes = std::vector<std::uint8_t>;

namespace {

Bytes requestHeader(const std::string& passwordHex, std::uint8_t cmd, const Endpoint& addr) {
  Bytes h(passwordHex.begin(), passwordHex.end());
  h.insert(h.end(), {'\r', '\n', cmd});
  appendSocksAddress(h, addr);
  h.insert(h.end(), {'\r', '\n'});
  return h;
}

class TrojanDatagram final : public Datagram {
 public:
  TrojanDatagram(std::unique_ptr<Stream> s, std::string passwordHex)
      : s_(std::move(s)), passwordHex_(std::move(passwordHex)), rbuf_(65536) {}
  ~TrojanDatagram() override { close(); }
  asio::any_io_executor executor() const override { return s_->executor(); }

  awaitable<void> sendTo(asio::const_buffer payload, const Endpoint& to) override {
    if (payload.size() > 0xffff) fail(Errc::InvalidArgument, "UDP packet too large for trojan");
    Bytes out;
    if (!headerSent_) {  // the request names the first destination
      out = requestHeader(passwordHex_, 3, to);
      headerSent_ = true;
    }
    appendSocksAddress(out, to);
    out.insert(out.end(), {static_cast<std::uint8_t>(payload.size() >> 8),
                           static_cast<std::uint8_t>(payload.size() & 0xff), '\r', '\n'});
    auto p = static_cast<const std::uint8_t*>(payload.data());
    out.insert(out.end(), p, p + payload.size());
    co_await s_->writeAll(asio::buffer(out));
  }

  awaitable<std::size_t> receiveFrom(asio::mutable_buffer buf, Endpoint& from) override {
    while (true) {
      std::span<const std::uint8_t> avail(pending_.data() + off_, pending_.size() - off_);
      std::size_t used = 0;
      auto src = parseSocksAddress(avail, used);
      if (src && avail.size() >= used + 4) {
        std::size_t len = (std::size_t(avail[used]) << 8) | avail[used + 1];
        if (avail[used + 2] != '\r' || avail[used + 3] != '\n')
          fail(Errc::Protocol, "trojan: malformed UDP packet (missing CRLF)");
        if (avail.size() >= used + 4 + len) {
          std::size_t n = std::min(buf.size(), len);
          std::memcpy(buf.data(), avail.data() + used + 4, n);
          off_ += used + 4 + len;
          from = *src;
          co_return n;
        }
      }
      if (off_ > 0) {
        pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(off_));
        off_ = 0;
      }
      std::size_t n = co_await s_->readSome(asio::buffer(rbuf_));
      if (n == 0)
        fail(Errc::Closed, pending_.empty() ? "trojan: the server closed the UDP session"
                                            : "trojan: the server closed the connection inside a UDP packet");
      pending_.insert(pending_.end(), rbuf_.begin(), rbuf_.begin() + static_cast<std::ptrdiff_t>(n));
    }
  }

  void close() noexcept override { s_->close(); }

 private:
  std::unique_ptr<Stream> s_;
  std::string passwordHex_;
  bool headerSent_ = false;
  Bytes rbuf_, pending_;
  std::size_t off_ = 0;
};

class TrojanDialer final : public Dialer {
 public:
  TrojanDialer(NodeConfig node, std::shared_ptr<Dialer> via, DialOptions opts, SslContextPtr ssl)
      : node_(std::move(node)), via_(std::move(via)), opts_(std::move(opts)), ssl_(std::move(ssl)) {
    if (!node_.tls.enabled) fail(Errc::InvalidArgument, "trojan needs TLS");
    passwordHex_ = crypto::toHex(crypto::sha224(crypto::asBytes(node_.password)));
  }

  awaitable<std::unique_ptr<Stream>> dialTcp(const Endpoint& target) override {
    auto s = co_await openTransport(*via_, node_, ssl_.get(), opts_);
    Bytes h = requestHeader(passwordHex_, 1, target);
    co_await s->writeAll(asio::buffer(h));
    co_return s;  // no response: the payload follows in both directions
  }

  awaitable<std::unique_ptr<Datagram>> dialUdp() override {
    auto s = co_await openTransport(*via_, node_, ssl_.get(), opts_);
    co_return std::make_unique<TrojanDatagram>(std::move(s), passwordHex_);
  }

  bool supportsUdp() const override { return true; }
  std::string describe() const override {
    return std::string("trojan ") + (node_.network == Network::Ws ? "ws+tls " : "tls ") + node_.server.toString();
  }

 private:
  NodeConfig node_;
  std::shared_ptr<Dialer> via_;
  DialOptions opts_;
  SslContextPtr ssl_;
  std::string passwordHex_;
};

}  // namespace

std::shared_ptr<Dialer> makeTrojanDialer(const NodeConfig& node, std::shared_ptr<Dialer> via, const DialOptions& opts,
                                         SslContextPtr ssl) {
  return std::make_shared<TrojanDialer>(node, std::move(via), opts, std::move(ssl));
}

}  // namespace dae::outbound
