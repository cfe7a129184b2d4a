// Transports under the proxy protocols: TLS (OpenSSL through Boost.Asio SSL)
// and WebSocket (Boost.Beast), each layered on any Stream.
#pragma once

#include <memory>
#include <string>

#include <boost/asio/ssl/context.hpp>

#include "outbound/Dialer.h"

namespace dae::outbound {

// A client TLS context: the system trust store plus opts.extraCaFile (or
// $DAE_EXTRA_CA). Throws OutboundError(InvalidArgument) if that file cannot
// be loaded.
std::shared_ptr<boost::asio::ssl::context> makeTlsContext(const DialOptions& opts);

// TLS client handshake on lower. SNI is tls.sni, else serverHost when it is a
// name; the certificate is verified against that name (or the IP literal)
// unless tls.allowInsecure. Throws OutboundError(Tls).
awaitable<std::unique_ptr<Stream>> tlsHandshake(std::unique_ptr<Stream> lower, boost::asio::ssl::context& ctx,
                                                const TlsSettings& tls, const std::string& serverHost);

// WebSocket client handshake (binary messages) on lower. Throws
// OutboundError(Handshake). A WebSocket has no half-close: shutdownWrite()
// of the returned stream does nothing (the protocol above signals its end).
awaitable<std::unique_ptr<Stream>> wsHandshake(std::unique_ptr<Stream> lower, const std::string& host,
                                               const std::string& path);

// Reaches a node's server: via.dialTcp(node.server), then TLS if
// node.tls.enabled, then WebSocket if node.network == Ws, all within
// opts.handshakeTimeout. ctx may be null when TLS is off.
awaitable<std::unique_ptr<Stream>> openTransport(Dialer& via, const NodeConfig& node, boost::asio::ssl::context* ctx,
                                                 const DialOptions& opts);

}  // namespace dae::outbound
