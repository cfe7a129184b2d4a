// makeDialer / makeChainDialer, and the wrapper that names the node in errors.
#include "outbound/Dialer.h"

#include <boost/system/system_error.hpp>

#include "outbound/Protocols.h"
#include "outbound/Transport.h"

namespace dae::outbound {

namespace {

// Prefixes every dial error with the node's name and address, so a log line
// or a health-check record says which node failed and why.
class NamedDialer final : public Dialer {
 public:
  NamedDialer(std::shared_ptr<Dialer> inner, std::string label) : inner_(std::move(inner)), label_(std::move(label)) {}

  awaitable<std::unique_ptr<Stream>> dialTcp(const Endpoint& target) override {
    std::exception_ptr failure;
    try {
      co_return co_await inner_->dialTcp(target);
    } catch (const std::exception&) {
      failure = std::current_exception();
    }
    rethrowNamed(failure);
  }

  awaitable<std::unique_ptr<Datagram>> dialUdp() override {
    std::exception_ptr failure;
    try {
      co_return co_await inner_->dialUdp();
    } catch (const std::exception&) {
      failure = std::current_exception();
    }
    rethrowNamed(failure);
  }

  bool supportsUdp() const override { return inner_->supportsUdp(); }
  std::string describe() const override { return label_; }

 private:
  [[noreturn]] void rethrowNamed(std::exception_ptr failure) const {
    try {
      std::rethrow_exception(failure);
    } catch (const OutboundError& e) {
      throw OutboundError(e.code(), label_ + ": " + e.what());
    } catch (const boost::system::system_error& e) {
      // A socket error in the middle of a handshake (reset, broken pipe).
      throw OutboundError(Errc::Handshake, label_ + ": " + e.what());
    }
  }

  std::shared_ptr<Dialer> inner_;
  std::string label_;
};

}  // namespace

std::shared_ptr<Dialer> makeDialer(const NodeConfig& node, const DialOptions& opts, std::shared_ptr<Dialer> via) {
  if (node.protocol == Protocol::Direct) return via ? via : makeDirectDialer(opts);
  if (node.protocol == Protocol::Block) return makeBlockDialer();
  if (!via) via = makeDirectDialer(opts);
  SslContextPtr ssl = node.tls.enabled ? makeTlsContext(opts) : nullptr;
  std::shared_ptr<Dialer> d;
  switch (node.protocol) {
    case Protocol::Socks5: d = makeSocks5Dialer(node, via, opts); break;
    case Protocol::Socks4:
    case Protocol::Socks4a: d = makeSocks4Dialer(node, via, opts); break;
    case Protocol::Http: d = makeHttpDialer(node, via, opts, ssl); break;
    case Protocol::Shadowsocks: d = makeShadowsocksDialer(node, via, opts); break;
    case Protocol::Vmess: d = makeVmessDialer(node, via, opts, ssl); break;
    case Protocol::Vless: d = makeVlessDialer(node, via, opts, ssl); break;
    case Protocol::Trojan: d = makeTrojanDialer(node, via, opts, ssl); break;
    default: fail(Errc::InvalidArgument, "no dialer for protocol " + std::string(protocolName(node.protocol)));
  }
  std::string label = d->describe();
  if (!node.name.empty()) label = "node '" + node.name + "' (" + label + ")";
  return std::make_shared<NamedDialer>(std::move(d), std::move(label));
}

std::shared_ptr<Dialer> makeChainDialer(const std::vector<NodeConfig>& hops, const DialOptions& opts) {
  std::shared_ptr<Dialer> via = makeDirectDialer(opts);
  for (const auto& hop : hops) via = makeDialer(hop, opts, via);
  return via;
}

}  // namespace dae::outbound
