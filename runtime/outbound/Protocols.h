// Internal: the dialer of each proxy protocol (makeDialer picks one).
#pragma once

#include <memory>

#include <boost/asio/ssl/context.hpp>

#include "outbound/Dialer.h"

namespace dae::outbound {

using SslContextPtr = std::shared_ptr<boost::asio::ssl::context>;

std::shared_ptr<Dialer> makeSocks5Dialer(const NodeConfig& node, std::shared_ptr<Dialer> via, const DialOptions& opts);
std::shared_ptr<Dialer> makeSocks4Dialer(const NodeConfig& node, std::shared_ptr<Dialer> via, const DialOptions& opts);
std::shared_ptr<Dialer> makeHttpDialer(const NodeConfig& node, std::shared_ptr<Dialer> via, const DialOptions& opts,
                                       SslContextPtr ssl);
std::shared_ptr<Dialer> makeShadowsocksDialer(const NodeConfig& node, std::shared_ptr<Dialer> via,
                                              const DialOptions& opts);
std::shared_ptr<Dialer> makeVmessDialer(const NodeConfig& node, std::shared_ptr<Dialer> via, const DialOptions& opts,
                                        SslContextPtr ssl);
std::shared_ptr<Dialer> makeVlessDialer(const NodeConfig& node, std::shared_ptr<Dialer> via, const DialOptions& opts,
                                        SslContextPtr ssl);
std::shared_ptr<Dialer> makeTrojanDialer(const NodeConfig& node, std::shared_ptr<Dialer> via, const DialOptions& opts,
                                         SslContextPtr ssl);

}  // namespace dae::outbound
