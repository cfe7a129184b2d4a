#include "outbound/Transport.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <utility>  // before Boost.Asio 1.74 headers (std::exchange)
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <cstdint>
#include <cstdlib>
#include <vector>
#include <spdlog/spdlog.h>

#include "outbound/AsioAdapter.h"
#include "outbound/Deadline.h"

namespace dae::outbound {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace websocket = boost::beast::websocket;
using boost::system::error_code;

void teardown(boost::beast::role_type, StreamAdapter& s, error_code& ec) {
  s.stream().close();
  ec = {};
}

// Beast closes the lowest layer with this when a WebSocket operation fails.
void beast_close_socket(StreamAdapter& s) { s.stream().close(); }

namespace {

[[noreturn]] void rethrowInner(StreamAdapter& adapter, const error_code& ec, const char* what) {
  if (auto e = adapter.takeError()) std::rethrow_exception(e);
  throw boost::system::system_error(ec, what);
}

class TlsStream final : public Stream {
 public:
  TlsStream(std::unique_ptr<Stream> lower, ssl::context& ctx) : ssl_(StreamAdapter(std::move(lower)), ctx) {}

  ssl::stream<StreamAdapter>& ssl() { return ssl_; }
  asio::any_io_executor executor() const override {
    return const_cast<ssl::stream<StreamAdapter>&>(ssl_).get_executor();
  }

  awaitable<std::size_t> readSome(asio::mutable_buffer buf) override {
    error_code ec;
    std::size_t n = co_await ssl_.async_read_some(buf, asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) co_return n;
    // Many servers close without close_notify; treat it as the end of stream.
    if (ec == asio::error::eof || ec == ssl::error::stream_truncated) co_return 0;
    rethrowInner(ssl_.next_layer(), ec, "TLS read");
  }
  awaitable<void> writeAll(asio::const_buffer buf) override {
    error_code ec;
    co_await asio::async_write(ssl_, buf, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) rethrowInner(ssl_.next_layer(), ec, "TLS write");
  }
  // Half-close: a close_notify alert ends our direction only (RFC 8446 6.1),
  // then the layer below half-closes too (TCP FIN). Asio's async_shutdown would
  // also wait for the peer's close_notify, stalling the read side, so the alert
  // is produced by one SSL_shutdown() into a memory BIO and written below
  // directly; OpenSSL keeps reading application data after it.
  awaitable<void> shutdownWrite() override {
    std::vector<std::uint8_t> alert = takeCloseNotify();
    Stream& lower = ssl_.next_layer().stream();
    if (!alert.empty()) co_await lower.writeAll(asio::buffer(alert));
    co_await lower.shutdownWrite();
  }
  void close() noexcept override { ssl_.next_layer().stream().close(); }

 private:
  // The close_notify record, made while the SSL object writes into a memory BIO
  // instead of Asio's BIO pair (whose output only Asio's own operations flush).
  // Empty when it was sent before or OpenSSL refuses (then only the FIN goes).
  std::vector<std::uint8_t> takeCloseNotify() {
    SSL* ssl = ssl_.native_handle();
    if (SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN) return {};
    BIO* mem = BIO_new(BIO_s_mem());
    BIO* asioBio = SSL_get_wbio(ssl);
    if (!mem || !asioBio || BIO_up_ref(asioBio) != 1) {
      BIO_free(mem);
      return {};
    }
    SSL_set0_wbio(ssl, mem);  // drops the SSL's reference to asioBio; ours keeps it alive
    int rc = SSL_shutdown(ssl);  // 0: sent, the peer's not received yet; 1: both
    std::vector<std::uint8_t> alert;
    if (rc >= 0) {
      char* data = nullptr;
      long n = BIO_get_mem_data(mem, &data);
      if (n > 0) alert.assign(data, data + n);
    } else {
      spdlog::debug("TLS: no close_notify (SSL_shutdown: {})", SSL_get_error(ssl, rc));
      ERR_clear_error();
    }
    SSL_set0_wbio(ssl, asioBio);  // frees mem, hands our reference back
    return alert;
  }

  ssl::stream<StreamAdapter> ssl_;
};

class WsStream final : public Stream {
 public:
  explicit WsStream(std::unique_ptr<Stream> lower) : ws_(StreamAdapter(std::move(lower))) {}

  websocket::stream<StreamAdapter>& ws() { return ws_; }
  asio::any_io_executor executor() const override {
    return const_cast<websocket::stream<StreamAdapter>&>(ws_).get_executor();
  }

  awaitable<std::size_t> readSome(asio::mutable_buffer buf) override {
    while (true) {
      error_code ec;
      std::size_t n = co_await ws_.async_read_some(buf, asio::redirect_error(asio::use_awaitable, ec));
      if (ec == websocket::error::closed || ec == asio::error::eof) co_return 0;
      if (ec) rethrowInner(ws_.next_layer(), ec, "WebSocket read");
      if (n > 0 || buf.size() == 0) co_return n;  // empty frames carry nothing: read on
    }
  }
  awaitable<void> writeAll(asio::const_buffer buf) override {
    error_code ec;
    co_await ws_.async_write(buf, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) rethrowInner(ws_.next_layer(), ec, "WebSocket write");
  }
  awaitable<void> shutdownWrite() override { co_return; }
  void close() noexcept override { ws_.next_layer().stream().close(); }

 private:
  websocket::stream<StreamAdapter> ws_;
};

std::string extraCaFile(const DialOptions& opts) {
  if (!opts.extraCaFile.empty()) return opts.extraCaFile;
  const char* env = std::getenv("DAE_EXTRA_CA");
  return env ? env : "";
}

}  // namespace

std::shared_ptr<ssl::context> makeTlsContext(const DialOptions& opts) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  error_code ec;
  ctx->set_default_verify_paths(ec);
  if (ec) spdlog::warn("TLS: cannot load the system trust store: {}", ec.message());
  std::string extra = extraCaFile(opts);
  if (!extra.empty()) {
    ctx->load_verify_file(extra, ec);
    if (ec) fail(Errc::InvalidArgument, "cannot load the extra CA file '" + extra + "': " + ec.message());
  }
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  return ctx;
}

awaitable<std::unique_ptr<Stream>> tlsHandshake(std::unique_ptr<Stream> lower, ssl::context& ctx,
                                                const TlsSettings& tls, const std::string& serverHost) {
  auto stream = std::make_unique<TlsStream>(std::move(lower), ctx);
  SSL* ssl = stream->ssl().native_handle();
  const std::string& name = tls.sni.empty() ? serverHost : tls.sni;
  Endpoint probe(name, 1);
  bool nameIsIp = probe.isIp();
  if (!nameIsIp && !name.empty()) SSL_set_tlsext_host_name(ssl, name.c_str());
  if (!tls.alpn.empty()) {
    std::string wire;
    for (const auto& p : tls.alpn) {
      wire.push_back(static_cast<char>(p.size()));
      wire += p;
    }
    SSL_set_alpn_protos(ssl, reinterpret_cast<const unsigned char*>(wire.data()), static_cast<unsigned>(wire.size()));
  }
  if (tls.allowInsecure) {
    stream->ssl().set_verify_mode(ssl::verify_none);
  } else {
    stream->ssl().set_verify_mode(ssl::verify_peer);
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    int ok = nameIsIp ? X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str())
                      : X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
    if (ok != 1) fail(Errc::InvalidArgument, "TLS: cannot verify against the name '" + name + "'");
  }
  error_code ec;
  co_await stream->ssl().async_handshake(ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    if (auto e = stream->ssl().next_layer().takeError()) std::rethrow_exception(e);
    std::string detail = ec.message();
    long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK) detail = std::string("certificate verify failed: ") + X509_verify_cert_error_string(verify);
    if (ec == asio::error::eof || ec == ssl::error::stream_truncated) detail = "the server closed the connection";
    fail(Errc::Tls, "TLS handshake with " + (name.empty() ? std::string("server") : name) + " failed: " + detail);
  }
  co_return stream;
}

awaitable<std::unique_ptr<Stream>> wsHandshake(std::unique_ptr<Stream> lower, const std::string& host,
                                               const std::string& path) {
  auto stream = std::make_unique<WsStream>(std::move(lower));
  auto& ws = stream->ws();
  ws.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
    req.set(boost::beast::http::field::user_agent, "Mozilla/5.0");
  }));
  ws.auto_fragment(false);
  ws.binary(true);
  error_code ec;
  // (no conditional expression inside co_await: GCC 12 destroys its temporary twice)
  const std::string target = path.empty() ? std::string("/") : path;
  co_await ws.async_handshake(host, target, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    if (auto e = ws.next_layer().takeError()) std::rethrow_exception(e);
    fail(Errc::Handshake, "WebSocket handshake with " + host + path + " failed: " + ec.message());
  }
  co_return stream;
}

awaitable<std::unique_ptr<Stream>> openTransport(Dialer& via, const NodeConfig& node, ssl::context* ctx,
                                                 const DialOptions& opts) {
  std::unique_ptr<Stream> s = co_await via.dialTcp(node.server);
  if (!node.tls.enabled && node.network == Network::Tcp) co_return s;
  auto ex = co_await asio::this_coro::executor;
  Stream* raw = s.get();
  Deadline deadline(ex, opts.handshakeTimeout, [raw] { raw->close(); });
  if (node.tls.enabled) {
    if (!ctx) fail(Errc::InvalidArgument, "TLS requested without a TLS context");
    s = co_await underDeadline(tlsHandshake(std::move(s), *ctx, node.tls, node.server.host), deadline,
                               "TLS handshake with " + node.server.toString());
  }
  if (node.network == Network::Ws) {
    std::string host = !node.ws.host.empty() ? node.ws.host : !node.tls.sni.empty() ? node.tls.sni : node.server.host;
    Endpoint hostEp(host, node.server.port);
    s = co_await underDeadline(wsHandshake(std::move(s), hostEp.hostForUrl(), node.ws.path), deadline,
                               "WebSocket handshake with " + node.server.toString());
  }
  co_return s;
}

}  // namespace dae::outbound
