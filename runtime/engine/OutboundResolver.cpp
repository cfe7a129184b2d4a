#include "engine/OutboundResolver.h"

#include <boost/asio/ip/address.hpp>

#include "outbound/Error.h"

namespace dae::engine {
namespace {

// outbound::Stream as the engine's ByteStream.
class NodeStream final : public ByteStream {
 public:
  explicit NodeStream(std::unique_ptr<outbound::Stream> s) : s_(std::move(s)) {}
  asio::awaitable<size_t> readSome(asio::mutable_buffer buf) override { co_return co_await s_->readSome(buf); }
  asio::awaitable<void> writeAll(asio::const_buffer buf) override { co_await s_->writeAll(buf); }
  asio::awaitable<void> shutdownWrite() override { co_await s_->shutdownWrite(); }
  void close() override { s_->close(); }

 private:
  std::unique_ptr<outbound::Stream> s_;
};

class NodeDatagram final : public DatagramSession {
 public:
  explicit NodeDatagram(std::unique_ptr<outbound::Datagram> d) : d_(std::move(d)) {}
  asio::awaitable<void> sendTo(asio::const_buffer buf, const asio::ip::udp::endpoint& to) override {
    outbound::Endpoint target(to.address().to_string(), to.port());
    co_await d_->sendTo(buf, target);
  }
  asio::awaitable<size_t> receiveFrom(asio::mutable_buffer buf, asio::ip::udp::endpoint& from) override {
    for (;;) {
      outbound::Endpoint source;
      size_t n = co_await d_->receiveFrom(buf, source);
      // The client can only be answered from an address: replies named by a domain
      // (which a node may send for a domain target) have no address to answer from.
      if (auto addr = source.address()) {
        from = {*addr, source.port};
        co_return n;
      }
    }
  }
  void close() override { d_->close(); }

 private:
  std::unique_ptr<outbound::Datagram> d_;
};

class OutboundResolver final : public UpstreamResolver {
 public:
  OutboundResolver(asio::any_io_executor ex, uint32_t soMark, NodePicker picker, DialFailure onFailure,
                   NodeNamer namer)
      : ex_(ex),
        soMark_(soMark),
        picker_(std::move(picker)),
        onFailure_(std::move(onFailure)),
        namer_(std::move(namer)),
        direct_(makeDirectResolver(ex, soMark)) {}

  asio::awaitable<std::unique_ptr<ByteStream>> connect(const Route& route, const Destination& dst,
                                                       std::string& via) override {
    if (route.outbound == "direct") {
      via = "direct";
      asio::ip::tcp::endpoint to(dst.address, dst.port);
      auto s = co_await dialDirect(ex_, to, route.mark ? route.mark : soMark_);
      co_return wrapSocket(std::move(s));
    }
    if (route.outbound == "block") throw DialError("blocked");
    std::shared_ptr<outbound::Dialer> node = picker_(route.outbound, false, dst.address.is_v6());
    via = describe(node);
    outbound::Endpoint target(dst.domain.empty() ? dst.address.to_string() : dst.domain, dst.port);
    std::unique_ptr<outbound::Stream> stream;
    try {
      stream = co_await node->dialTcp(target);
    } catch (const std::exception& e) {
      if (onFailure_) onFailure_(route.outbound, node);
      throw DialError(via + ": " + e.what());
    }
    co_return std::make_unique<NodeStream>(std::move(stream));
  }

  asio::awaitable<std::unique_ptr<DatagramSession>> openUdp(const Route& route, bool ipv6, std::string& via) override {
    if (route.outbound == "direct") co_return co_await direct_->openUdp(route, ipv6, via);
    if (route.outbound == "block") throw DialError("blocked");
    std::shared_ptr<outbound::Dialer> node = picker_(route.outbound, true, ipv6);
    via = describe(node);
    std::unique_ptr<outbound::Datagram> session;
    try {
      session = co_await node->dialUdp();
    } catch (const std::exception& e) {
      if (onFailure_) onFailure_(route.outbound, node);
      throw DialError(via + ": " + e.what());
    }
    co_return std::make_unique<NodeDatagram>(std::move(session));
  }

 private:
  std::string describe(const std::shared_ptr<outbound::Dialer>& node) const {
    std::string name = namer_ ? namer_(node) : std::string();
    return name.empty() ? node->describe() : name;
  }

  asio::any_io_executor ex_;
  uint32_t soMark_;
  NodePicker picker_;
  DialFailure onFailure_;
  NodeNamer namer_;
  std::shared_ptr<UpstreamResolver> direct_;
};

}  // namespace

std::shared_ptr<UpstreamResolver> makeOutboundResolver(asio::any_io_executor ex, uint32_t soMark, NodePicker picker,
                                                       DialFailure onFailure, NodeNamer namer) {
  return std::make_shared<OutboundResolver>(ex, soMark, std::move(picker), std::move(onFailure), std::move(namer));
}

}  // namespace dae::engine
