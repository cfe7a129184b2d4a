#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <filesystem>
#include <future>
#include <thread>

#include "control/ControlSocket.h"

namespace {

using namespace dae::control;
using namespace std::chrono_literals;

// Runs a server on its own io_context thread for the length of a test.
class Served {
 public:
  Served(const std::string& address, ControlHandler handler) {
    server_ = std::make_unique<ControlServer>(io_.get_executor(), address, std::move(handler));
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Served() {
    boost::asio::post(io_, [this] { server_->close(); io_.stop(); });
    thread_.join();
  }
  boost::asio::io_context& io() { return io_; }

 private:
  boost::asio::io_context io_;
  std::unique_ptr<ControlServer> server_;
  std::thread thread_;
};

std::string uniqueName(const char* what) { return std::string("@dae-test-") + what + "-" + std::to_string(getpid()); }

TEST(ControlSocket, AnswersACommandOnAnAbstractSocket) {
  std::string address = uniqueName("abstract");
  Served s(address, [](const std::string& command, std::function<void(ControlReply)> reply) {
    reply({command == "status" ? 0 : 2, "got " + command + "\nsecond line\n"});
  });
  ControlReply r = sendControlCommand(address, "status", 5s);
  EXPECT_EQ(r.exitCode, 0);
  EXPECT_EQ(r.text, "got status\nsecond line\n");
  r = sendControlCommand(address, "bogus", 5s);
  EXPECT_EQ(r.exitCode, 2);
}

TEST(ControlSocket, AnswersLater) {
  std::string address = uniqueName("later");
  Served* served = nullptr;
  Served s(address, [&](const std::string&, std::function<void(ControlReply)> reply) {
    // Owned by its own handler: it lives exactly as long as the wait.
    auto timer = std::make_shared<boost::asio::steady_timer>(served->io(), 200ms);
    timer->async_wait([timer, reply](const boost::system::error_code&) { reply({1, "late\n"}); });
  });
  served = &s;
  auto start = std::chrono::steady_clock::now();
  ControlReply r = sendControlCommand(address, "reload", 5s);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 150ms);
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_EQ(r.text, "late\n");
}

TEST(ControlSocket, FilesystemPathReplacesAStaleSocketAndIsRemoved) {
  auto path = std::filesystem::temp_directory_path() / ("dae-control-test-" + std::to_string(getpid()) + ".sock");
  {
    // A stale socket file, as a killed instance leaves it.
    Served first(path.string(), [](const std::string&, std::function<void(ControlReply)> reply) { reply({0, ""}); });
  }
  std::filesystem::remove(path);
  {
    boost::asio::io_context io;
    boost::asio::local::stream_protocol::acceptor stale(io, boost::asio::local::stream_protocol::endpoint(path.string()));
    stale.close();  // the file stays, nobody listens
  }
  ASSERT_TRUE(std::filesystem::exists(path));
  {
    Served s(path.string(), [](const std::string& c, std::function<void(ControlReply)> reply) { reply({0, c}); });
    EXPECT_EQ(sendControlCommand(path.string(), "status", 5s).text, "status");
    EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::others_all,
              std::filesystem::perms::none);
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(ControlSocket, ASecondServerOnTheSameAddressIsRefused) {
  std::string address = uniqueName("twice");
  Served s(address, [](const std::string&, std::function<void(ControlReply)> reply) { reply({0, ""}); });
  boost::asio::io_context io;
  try {
    ControlServer second(io.get_executor(), address, [](const std::string&, std::function<void(ControlReply)>) {});
    FAIL() << "a second server bound " << address;
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("another dae-runtime is running"), std::string::npos) << e.what();
  }
}

TEST(ControlSocket, NobodyListening) {
  try {
    sendControlCommand(uniqueName("nobody"), "status", 1s);
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("no dae-runtime answers"), std::string::npos) << e.what();
  }
}

}  // namespace
