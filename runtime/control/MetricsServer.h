// The Prometheus endpoint: a small HTTP/1.1 server (Boost.Beast) that answers
// GET /metrics with the text exposition format and anything else with 404.
// Served on the runtime's io_context; each scrape renders a fresh snapshot.
#pragma once
#include <utility>  // before Boost.Asio 1.74 headers (std::exchange)

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <string>

namespace dae::control {

// "ip:port" or "[v6]:port"; throws std::invalid_argument.
boost::asio::ip::tcp::endpoint parseListenAddress(const std::string& text);

class MetricsServer {
 public:
  // Binds and listens (throws std::runtime_error naming the address).
  MetricsServer(boost::asio::any_io_executor ex, const boost::asio::ip::tcp::endpoint& at,
                std::function<std::string()> render);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  boost::asio::ip::tcp::endpoint endpoint() const;
  void close();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace dae::control
