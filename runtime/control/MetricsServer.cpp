#include "control/MetricsServer.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <stdexcept>

#include <spdlog/spdlog.h>

namespace dae::control {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;

constexpr auto kIdleTimeout = std::chrono::seconds(10);

}  // namespace

tcp::endpoint parseListenAddress(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size())
    throw std::invalid_argument("'" + text + "' is not ip:port");
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) throw std::invalid_argument("'" + host + "' is not an IP address");
  unsigned long port = 0;
  try {
    size_t used = 0;
    port = std::stoul(text.substr(colon + 1), &used);
    if (used != text.size() - colon - 1) throw std::invalid_argument("trailing characters");
  } catch (const std::exception&) {
    throw std::invalid_argument("'" + text.substr(colon + 1) + "' is not a port");
  }
  if (port > 65535) throw std::invalid_argument("port " + std::to_string(port) + " is out of range");
  return {address, static_cast<uint16_t>(port)};
}

struct MetricsServer::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::any_io_executor ex, std::function<std::string()> r) : ex(ex), acceptor(ex), render(std::move(r)) {}
  asio::any_io_executor ex;
  tcp::acceptor acceptor;
  std::function<std::string()> render;
  bool closed = false;

  asio::awaitable<void> acceptLoop() {
    auto self = shared_from_this();
    for (;;) {
      boost::system::error_code ec;
      tcp::socket s = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (closed || ec == asio::error::operation_aborted) co_return;
        spdlog::warn("metrics: accept: {}", ec.message());
        continue;
      }
      asio::co_spawn(ex, serve(std::make_shared<tcp::socket>(std::move(s))), asio::detached);
    }
  }

  asio::awaitable<void> serve(std::shared_ptr<tcp::socket> s) {
    auto self = shared_from_this();
    boost::beast::flat_buffer buffer;
    asio::steady_timer idle(ex);
    auto arm = [&idle, s]() {
      idle.expires_after(kIdleTimeout);
      idle.async_wait([s](const boost::system::error_code& ec) {
        boost::system::error_code ignored;
        if (!ec) s->close(ignored);
      });
    };
    for (;;) {
      arm();
      http::request<http::string_body> req;
      boost::system::error_code ec;
      co_await http::async_read(*s, buffer, req, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      http::response<http::string_body> res;
      res.version(req.version());
      res.keep_alive(req.keep_alive());
      std::string target(req.target());
      std::string body;
      if (req.method() != http::verb::get && req.method() != http::verb::head) {
        res.result(http::status::method_not_allowed);
        res.set(http::field::allow, "GET, HEAD");
      } else if (target == "/metrics" || target.rfind("/metrics?", 0) == 0) {
        res.result(http::status::ok);
        res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
        body = render();
      } else {
        res.result(http::status::not_found);
        res.set(http::field::content_type, "text/plain");
        body = "dae-runtime serves /metrics\n";
      }
      // HEAD: the headers of the GET answer, without its body.
      if (req.method() == http::verb::head) {
        res.content_length(body.size());
      } else {
        res.body() = std::move(body);
        res.prepare_payload();
      }
      co_await http::async_write(*s, res, asio::redirect_error(asio::use_awaitable, ec));
      if (ec || !res.keep_alive()) break;
    }
    idle.cancel();
    boost::system::error_code ignored;
    s->shutdown(tcp::socket::shutdown_both, ignored);
    s->close(ignored);
  }
};

MetricsServer::MetricsServer(asio::any_io_executor ex, const tcp::endpoint& at, std::function<std::string()> render)
    : impl_(std::make_shared<Impl>(ex, std::move(render))) {
  auto& a = impl_->acceptor;
  boost::system::error_code ec;
  a.open(at.protocol(), ec);
  if (!ec) a.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) a.bind(at, ec);
  if (!ec) a.listen(64, ec);
  if (ec) {
    std::string where = at.address().is_v6() ? "[" + at.address().to_string() + "]:" + std::to_string(at.port())
                                             : at.address().to_string() + ":" + std::to_string(at.port());
    throw std::runtime_error("cannot serve metrics on " + where + ": " + ec.message());
  }
  asio::co_spawn(ex, impl_->acceptLoop(), asio::detached);
}

MetricsServer::~MetricsServer() { close(); }

tcp::endpoint MetricsServer::endpoint() const {
  boost::system::error_code ec;
  return impl_->acceptor.local_endpoint(ec);
}

void MetricsServer::close() {
  if (!impl_ || impl_->closed) return;
  impl_->closed = true;
  boost::system::error_code ec;
  impl_->acceptor.close(ec);
}

}  // namespace dae::control
