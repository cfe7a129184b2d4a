#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <thread>

#include "control/MetricsServer.h"

namespace {

using namespace dae::control;
namespace asio = boost::asio;

// One HTTP/1.0 exchange with a blocking socket; returns the whole response.
std::string get(const asio::ip::tcp::endpoint& at, const std::string& request) {
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  s.connect(at);
  asio::write(s, asio::buffer(request));
  std::string response;
  boost::system::error_code ec;
  asio::read(s, asio::dynamic_buffer(response), ec);  // until the server closes
  return response;
}

TEST(MetricsServer, ServesMetricsAnd404) {
  asio::io_context io;
  int renders = 0;
  MetricsServer server(io.get_executor(), parseListenAddress("127.0.0.1:0"), [&] {
    ++renders;
    return std::string("dae_up 1\n");
  });
  auto at = server.endpoint();
  std::thread t([&] { io.run(); });
  std::string ok = get(at, "GET /metrics HTTP/1.0\r\n\r\n");
  std::string missing = get(at, "GET /other HTTP/1.0\r\n\r\n");
  std::string head = get(at, "HEAD /metrics HTTP/1.0\r\n\r\n");
  std::string post = get(at, "POST /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
  asio::post(io, [&] { server.close(); });
  t.join();
  EXPECT_EQ(ok.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << ok;
  EXPECT_NE(ok.find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"), std::string::npos) << ok;
  EXPECT_NE(ok.find("\r\n\r\ndae_up 1\n"), std::string::npos) << ok;
  EXPECT_EQ(missing.rfind("HTTP/1.0 404", 0), 0u) << missing;
  EXPECT_EQ(head.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << head;
  EXPECT_NE(head.find("Content-Length: 9\r\n"), std::string::npos) << head;
  EXPECT_EQ(head.substr(head.find("\r\n\r\n") + 4), "");
  EXPECT_EQ(post.rfind("HTTP/1.0 405", 0), 0u) << post;
  EXPECT_EQ(renders, 2);
}

TEST(MetricsServer, ParsesListenAddresses) {
  EXPECT_EQ(parseListenAddress("127.0.0.1:9100").port(), 9100);
  EXPECT_TRUE(parseListenAddress("[::1]:9100").address().is_v6());
  EXPECT_THROW(parseListenAddress("127.0.0.1"), std::invalid_argument);
  EXPECT_THROW(parseListenAddress("host:80"), std::invalid_argument);
  EXPECT_THROW(parseListenAddress("127.0.0.1:0x50"), std::invalid_argument);
  EXPECT_THROW(parseListenAddress("127.0.0.1:70000"), std::invalid_argument);
}

TEST(MetricsServer, AnAddressInUseIsAClearError) {
  asio::io_context io;
  MetricsServer first(io.get_executor(), parseListenAddress("127.0.0.1:0"), [] { return std::string(); });
  try {
    MetricsServer second(io.get_executor(), first.endpoint(), [] { return std::string(); });
    FAIL() << "bound twice";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot serve metrics on 127.0.0.1:"), std::string::npos) << e.what();
  }
}

}  // namespace
