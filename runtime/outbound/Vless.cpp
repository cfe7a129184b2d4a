// VLESS dialer (no flow): TCP and UDP over tcp / tls / ws / ws+tls.
//
// Request: version 0, uuid(16), addons length 0, command (1 TCP, 2 UDP), port,
// address type (1 IPv4, 2 domain, 3 IPv6), address; then the payload.
// Response: version, addons length, addons; then the payload. UDP packets
// are framed by a 2-byte big-endian length.
#include <utility>  // before Boost.Asio 1.74 headers (std::exchange)
#include <boost/asio/this_coro.hpp>
#include <cstring>

#include "outbound/Crypto.h"
#include "outbound/PacketFlows.h"
#include "outbound/Protocols.h"
#include "outbound/Transport.h"

namespace dae::outbound {

namespace asio = boost::asio;
using Bytes = std::vector<std::uint8_t>;

namespace {

// Reads the response header before the first payload bytes.
class VlessConn {
 public:
  explicit VlessConn(std::unique_ptr<Stream> lower) : lower_(std::move(lower)), rbuf_(32 * 1024) {}
  Stream& lower() { return *lower_; }

  // Payload bytes after the response header; 0 at end of stream.
  awaitable<std::size_t> readSome(asio::mutable_buffer buf) {
    while (!headerDone_) {
      std::size_t n = co_await lower_->readSome(asio::buffer(rbuf_));
      if (n == 0)
        fail(Errc::Closed, "vless: the server closed the connection without a response (wrong id, or it could not "
                           "reach the target)");
      head_.insert(head_.end(), rbuf_.begin(), rbuf_.begin() + static_cast<std::ptrdiff_t>(n));
      if (head_.size() >= 1 && head_[0] != 0)
        fail(Errc::Protocol, "vless: unexpected response version " + std::to_string(head_[0]));
      if (head_.size() >= 2 && head_.size() >= 2u + head_[1]) {
        headerDone_ = true;
        head_.erase(head_.begin(), head_.begin() + 2 + head_[1]);  // addons are ignored
      }
    }
    if (headOff_ < head_.size()) {
      std::size_t n = std::min(buf.size(), head_.size() - headOff_);
      std::memcpy(buf.data(), head_.data() + headOff_, n);
      headOff_ += n;
      co_return n;
    }
    co_return co_await lower_->readSome(buf);
  }

 private:
  std::unique_ptr<Stream> lower_;
  Bytes rbuf_, head_;
  std::size_t headOff_ = 0;
  bool headerDone_ = false;
};

class VlessStream final : public Stream {
 public:
  explicit VlessStream(std::unique_ptr<VlessConn> c) : conn_(std::move(c)) {}
  asio::any_io_executor executor() const override { return conn_->lower().executor(); }
  awaitable<std::size_t> readSome(asio::mutable_buffer buf) override { co_return co_await conn_->readSome(buf); }
  awaitable<void> writeAll(asio::const_buffer buf) override { co_await conn_->lower().writeAll(buf); }
  awaitable<void> shutdownWrite() override { co_await conn_->lower().shutdownWrite(); }
  void close() noexcept override { conn_->lower().close(); }

 private:
  std::unique_ptr<VlessConn> conn_;
};

class VlessFlow final : public PacketFlow {
 public:
  explicit VlessFlow(std::unique_ptr<VlessConn> c) : conn_(std::move(c)), rbuf_(65536) {}

  awaitable<void> send(asio::const_buffer packet) override {
    if (packet.size() > 0xffff) fail(Errc::InvalidArgument, "UDP packet too large for VLESS");
    Bytes out;
    out.reserve(2 + packet.size());
    out.push_back(static_cast<std::uint8_t>(packet.size() >> 8));
    out.push_back(static_cast<std::uint8_t>(packet.size() & 0xff));
    auto p = static_cast<const std::uint8_t*>(packet.data());
    out.insert(out.end(), p, p + packet.size());
    co_await conn_->lower().writeAll(asio::buffer(out));
  }

  awaitable<bool> receive(std::vector<std::uint8_t>& packet) override {
    while (true) {
      if (pending_.size() - off_ >= 2) {
        std::size_t len = (std::size_t(pending_[off_]) << 8) | pending_[off_ + 1];
        if (pending_.size() - off_ >= 2 + len) {
          auto first = pending_.begin() + static_cast<std::ptrdiff_t>(off_ + 2);
          packet.assign(first, first + static_cast<std::ptrdiff_t>(len));
          off_ += 2 + len;
          co_return true;
        }
      }
      if (off_ > 0) {
        pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(off_));
        off_ = 0;
      }
      std::size_t n = co_await conn_->readSome(asio::buffer(rbuf_));
      if (n == 0) {
        if (!pending_.empty()) fail(Errc::Protocol, "vless: the server closed the connection inside a UDP packet");
        co_return false;
      }
      pending_.insert(pending_.end(), rbuf_.begin(), rbuf_.begin() + static_cast<std::ptrdiff_t>(n));
    }
  }
  void close() noexcept override { conn_->lower().close(); }

 private:
  std::unique_ptr<VlessConn> conn_;
  Bytes rbuf_, pending_;
  std::size_t off_ = 0;
};

class VlessDialer final : public Dialer, public std::enable_shared_from_this<VlessDialer> {
 public:
  VlessDialer(NodeConfig node, std::shared_ptr<Dialer> via, DialOptions opts, SslContextPtr ssl)
      : node_(std::move(node)), via_(std::move(via)), opts_(std::move(opts)), ssl_(std::move(ssl)) {
    auto id = crypto::parseUuid(node_.uuid);
    if (!id) fail(Errc::InvalidArgument, "vless id '" + node_.uuid + "' is not a UUID");
    uuid_ = *id;
  }

  awaitable<std::unique_ptr<Stream>> dialTcp(const Endpoint& target) override {
    co_return std::make_unique<VlessStream>(co_await open(1, target));
  }

  awaitable<std::unique_ptr<Datagram>> dialUdp() override {
    auto self = shared_from_this();
    PacketFlowFactory factory = [self](const Endpoint& to) { return self->openFlow(to); };
    co_return makePerDestinationDatagram(co_await asio::this_coro::executor, std::move(factory));
  }

  bool supportsUdp() const override { return true; }
  std::string describe() const override {
    std::string t = node_.network == Network::Ws ? "ws" : "tcp";
    if (node_.tls.enabled) t += "+tls";
    return "vless " + t + " " + node_.server.toString();
  }

 private:
  awaitable<std::unique_ptr<VlessConn>> open(std::uint8_t cmd, Endpoint target) {
    auto lower = co_await openTransport(*via_, node_, ssl_.get(), opts_);
    Bytes req;
    req.reserve(64 + target.host.size());
    req.push_back(0);  // version
    req.insert(req.end(), uuid_.begin(), uuid_.end());
    req.push_back(0);  // no addons
    req.push_back(cmd);
    appendPortThenAddress(req, target);
    co_await lower->writeAll(asio::buffer(req));
    co_return std::make_unique<VlessConn>(std::move(lower));
  }

  awaitable<std::unique_ptr<PacketFlow>> openFlow(Endpoint to) {
    co_return std::make_unique<VlessFlow>(co_await open(2, to));
  }

  NodeConfig node_;
  std::shared_ptr<Dialer> via_;
  DialOptions opts_;
  SslContextPtr ssl_;
  std::array<std::uint8_t, 16> uuid_{};
};

}  // namespace

std::shared_ptr<Dialer> makeVlessDialer(const NodeConfig& node, std::shared_ptr<Dialer> via, const DialOptions& opts,
                                        SslContextPtr ssl) {
  return std::make_shared<VlessDialer>(node, std::move(via), opts, std::move(ssl));
}

}  // namespace dae::outbound
