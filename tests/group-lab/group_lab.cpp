// group_lab: drives a GroupManager with real dialers for tests/group-lab/run.sh.
//
//   group_lab --config CONFIG.txtpb --http4 IP:PORT --http6 [IP]:PORT --echo4 IP:PORT --echo6 [IP]:PORT
//             [--check-timeout-ms N] [-v]
//
// CONFIG is an artifact::ConfigData in protobuf text format (what rules.o
// carries in .dae.config). Commands on stdin, one answer line on stdout each
// ("ok ..." or "fail ..."); logs go to stderr:
//   wait-checked ROUNDS TIMEOUT_MS         every node checked ROUNDS times
//   chosen GROUP KIND                      the current choice (min/fixed)
//   wait-chosen GROUP KIND NODE TIMEOUT_MS until the choice is NODE
//   picks GROUP KIND N                     N picks, counted per node (no dial)
//   dial GROUP KIND N                      N flows: pick, dial the target, exchange data
//   dial-until GROUP KIND NODE TIMEOUT_MS  flows until one through NODE succeeds
//   mark                                   remember now; wait-chosen also reports since-mark=MS
//   describe                               GroupManager::describe() to stderr
//   sleep MS | quit
// KIND is tcp4, tcp6, udp4 or udp6. A failed flow whose error says something
// about the node is reported with reportFailure(), as the engine does.
#include <google/protobuf/text_format.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include <utility>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "artifact.pb.h"
#include "group/Groups.h"
#include "outbound/Deadline.h"

namespace asio = boost::asio;
namespace ob = dae::outbound;
using dae::group::GroupManager;
using dae::group::Kind;
using Clock = std::chrono::steady_clock;

namespace {

struct Targets {
  ob::Endpoint http4, http6, echo4, echo6;
};

std::optional<Kind> parseKind(const std::string& s) {
  for (Kind k : dae::group::kAllKinds)
    if (dae::group::kindName(k) == s) return k;
  return std::nullopt;
}

long msSince(Clock::time_point t) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count());
}

// GET / through the node; the target answers "src=IP ...". An error before the
// first byte of the answer is the node's (a dead server behind an accepting
// front end shows up only there).
asio::awaitable<std::string> httpGet(std::shared_ptr<ob::Dialer> d, ob::Endpoint target) {
  auto ex = co_await asio::this_coro::executor;
  std::unique_ptr<ob::Stream> s;
  auto holder = std::make_shared<ob::Stream*>(nullptr);
  ob::Deadline deadline(ex, std::chrono::seconds(5), [holder] {
    if (*holder) (*holder)->close();
  });
  std::string answer;
  std::exception_ptr failure;
  try {
    auto dial = d->dialTcp(target);
    s = co_await std::move(dial);
    *holder = s.get();
    const std::string req = "GET / HTTP/1.1\r\nHost: " + target.hostForUrl() + "\r\nConnection: close\r\n\r\n";
    co_await s->writeAll(asio::buffer(req));
    std::array<char, 4096> buf{};
    while (true) {
      std::size_t n = co_await s->readSome(asio::buffer(buf));
      if (n == 0) break;
      answer.append(buf.data(), n);
    }
  } catch (const std::exception&) {
    failure = std::current_exception();
  }
  *holder = nullptr;
  if (failure && answer.empty()) {
    try {
      std::rethrow_exception(failure);
    } catch (const ob::OutboundError&) {
      throw;
    } catch (const std::exception& e) {
      throw ob::OutboundError(ob::Errc::Closed, std::string("before the HTTP answer: ") + e.what());
    }
  }
  if (failure) std::rethrow_exception(failure);
  if (answer.empty()) throw ob::OutboundError(ob::Errc::Closed, "the connection closed before an HTTP answer");
  if (answer.rfind("HTTP/1.1 200", 0) != 0 || answer.find("src=") == std::string::npos)
    throw std::runtime_error("unexpected HTTP answer: " + answer.substr(0, 60));
  co_return answer.substr(answer.find("src="), answer.find('\n', answer.find("src=")) - answer.find("src="));
}

asio::awaitable<std::string> udpEcho(std::shared_ptr<ob::Dialer> d, ob::Endpoint target, std::string payload) {
  auto ex = co_await asio::this_coro::executor;
  std::unique_ptr<ob::Datagram> dg;
  auto holder = std::make_shared<ob::Datagram*>(nullptr);
  ob::Deadline deadline(ex, std::chrono::seconds(3), [holder] {
    if (*holder) (*holder)->close();
  });
  std::string reply;
  std::exception_ptr failure;
  try {
    auto dial = d->dialUdp();
    dg = co_await std::move(dial);
    *holder = dg.get();
    co_await dg->sendTo(asio::buffer(payload), target);
    std::array<char, 2048> buf{};
    ob::Endpoint from;
    std::size_t n = co_await dg->receiveFrom(asio::buffer(buf), from);
    reply.assign(buf.data(), n);
  } catch (const std::exception&) {
    failure = std::current_exception();
  }
  *holder = nullptr;
  if (failure && deadline.expired()) throw ob::OutboundError(ob::Errc::Timeout, "no UDP echo within 3s");
  if (failure) std::rethrow_exception(failure);
  if (reply.find(payload) == std::string::npos) throw std::runtime_error("unexpected UDP answer: " + reply.substr(0, 60));
  co_return reply.substr(0, reply.find('\n'));
}

struct Outcome {
  std::string node;
  bool ok = false;
  std::string detail;  // the target's view of the source, or the error
};

asio::awaitable<Outcome> flow(GroupManager& gm, std::string group, Kind kind, Targets t, int seq) {
  Outcome o;
  std::shared_ptr<ob::Dialer> d;
  try {
    d = gm.pick(group, kind);
  } catch (const dae::group::GroupError& e) {
    o.detail = e.what();
    co_return o;
  }
  o.node = gm.nodeName(d);
  bool report = false;
  try {
    const bool v6 = dae::group::isIpv6(kind);
    if (dae::group::isUdp(kind)) {
      auto op = udpEcho(d, v6 ? t.echo6 : t.echo4, "group-lab-" + std::to_string(seq));
      o.detail = co_await std::move(op);
    } else {
      auto op = httpGet(d, v6 ? t.http6 : t.http4);
      o.detail = co_await std::move(op);
    }
    o.ok = true;
  } catch (const ob::OutboundError& e) {
    o.detail = e.what();
    report = e.nodeUnhealthy();
  } catch (const std::exception& e) {
    o.detail = e.what();
  }
  if (report) gm.reportFailure(group, d);
  co_return o;
}

class Lab {
 public:
  Lab(asio::io_context& io, GroupManager& gm, Targets t) : io_(io), gm_(gm), t_(std::move(t)) {}

  std::string run(const std::string& line) {
    std::istringstream in(line);
    std::string cmd;
    in >> cmd;
    if (cmd == "mark") {
      mark_ = Clock::now();
      return "ok";
    }
    if (cmd == "describe") {
      std::cerr << gm_.describe();
      return "ok";
    }
    if (cmd == "sleep") {
      long ms = 0;
      in >> ms;
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
      return "ok";
    }
    if (cmd == "wait-checked") {
      std::uint64_t rounds = 1;
      long timeout = 0;
      in >> rounds >> timeout;
      auto start = Clock::now();
      while (!gm_.checkedAtLeast(rounds)) {
        if (msSince(start) > timeout) return "fail not every node was checked " + std::to_string(rounds) + " time(s)";
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      return "ok after " + std::to_string(msSince(start)) + " ms";
    }
    std::string group, kindText;
    in >> group >> kindText;
    auto kind = parseKind(kindText);
    if (!kind) return "fail bad kind '" + kindText + "'";
    if (cmd == "chosen") {
      auto c = gm_.chosen(group, *kind);
      return "ok " + c.value_or("none");
    }
    if (cmd == "wait-chosen") {
      std::string node;
      long timeout = 0;
      in >> node >> timeout;
      auto start = Clock::now();
      while (gm_.chosen(group, *kind).value_or("none") != node) {
        if (msSince(start) > timeout)
          return "fail chosen is '" + gm_.chosen(group, *kind).value_or("none") + "' after " +
                 std::to_string(msSince(start)) + " ms";
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      return "ok " + node + " after " + std::to_string(msSince(start)) + " ms since-mark=" + std::to_string(msSince(mark_));
    }
    if (cmd == "picks") {
      int n = 0;
      in >> n;
      std::map<std::string, int> counts;
      for (int i = 0; i < n; ++i) {
        try {
          ++counts[gm_.nodeName(gm_.pick(group, *kind))];
        } catch (const dae::group::GroupError&) {
          ++counts["<none>"];
        }
      }
      return "ok " + summary(counts);
    }
    if (cmd == "dial") {
      int n = 0;
      in >> n;
      std::map<std::string, int> counts;
      int failed = 0;
      std::string firstError, seen;
      for (int i = 0; i < n; ++i) {
        Outcome o = runFlow(group, *kind);
        ++counts[o.node.empty() ? "<none>" : o.node];
        if (!o.ok) {
          ++failed;
          if (firstError.empty()) firstError = o.detail;
        } else if (seen.empty()) {
          seen = o.detail;
        }
      }
      return std::string(failed ? "fail" : "ok") + " dials=" + std::to_string(n) + " failed=" + std::to_string(failed) +
             " nodes=" + summary(counts) + (seen.empty() ? "" : " target-saw='" + seen + "'") +
             (firstError.empty() ? "" : " first-error='" + firstError + "'");
    }
    if (cmd == "dial-until") {
      std::string node;
      long timeout = 0;
      in >> node >> timeout;
      auto start = Clock::now();
      int failed = 0, dials = 0;
      std::string firstError;
      while (msSince(start) <= timeout) {
        Outcome o = runFlow(group, *kind);
        ++dials;
        if (o.ok && o.node == node)
          return "ok through " + node + " after " + std::to_string(msSince(start)) + " ms, dials=" +
                 std::to_string(dials) + " failed=" + std::to_string(failed) +
                 (firstError.empty() ? "" : " first-error='" + firstError + "'");
        if (!o.ok) {
          ++failed;
          if (firstError.empty()) firstError = o.detail;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      return "fail no flow through " + node + " within " + std::to_string(timeout) + " ms (dials=" +
             std::to_string(dials) + " failed=" + std::to_string(failed) + ")";
    }
    return "fail unknown command '" + cmd + "'";
  }

 private:
  Outcome runFlow(const std::string& group, Kind kind) {
    auto op = flow(gm_, group, kind, t_, ++seq_);
    return asio::co_spawn(io_, std::move(op), asio::use_future).get();
  }
  static std::string summary(const std::map<std::string, int>& counts) {
    std::string out;
    for (const auto& [k, v] : counts) out += (out.empty() ? "" : ",") + k + ":" + std::to_string(v);
    return out;
  }

  asio::io_context& io_;
  GroupManager& gm_;
  Targets t_;
  int seq_ = 0;
  Clock::time_point mark_ = Clock::now();
};

int usage() {
  std::cerr << "usage: group_lab --config FILE --http4 EP --http6 EP --echo4 EP --echo6 EP "
               "[--check-timeout-ms N] [-v]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_default_logger(spdlog::stderr_color_mt("group_lab"));
  std::map<std::string, std::string> args;
  bool verbose = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-v") verbose = true;
    else if (a.rfind("--", 0) == 0 && i + 1 < argc) args[a.substr(2)] = argv[++i];
    else return usage();
  }
  for (const char* k : {"config", "http4", "http6", "echo4", "echo6"})
    if (!args.count(k)) return usage();
  if (verbose) spdlog::set_level(spdlog::level::debug);
  try {
    std::ifstream f(args["config"]);
    std::stringstream text;
    text << f.rdbuf();
    dae::artifact::ConfigData config;
    if (!f || !google::protobuf::TextFormat::ParseFromString(text.str(), &config)) {
      std::cerr << "group_lab: cannot read " << args["config"] << " as a ConfigData text proto\n";
      return 2;
    }
    Targets t{ob::Endpoint::parse(args["http4"]), ob::Endpoint::parse(args["http6"]), ob::Endpoint::parse(args["echo4"]),
              ob::Endpoint::parse(args["echo6"])};
    asio::io_context io;
    auto work = asio::make_work_guard(io);
    std::thread runner([&io] { io.run(); });
    {
      ob::DialOptions dial;
      dial.connectTimeout = std::chrono::seconds(3);
      dial.handshakeTimeout = std::chrono::seconds(3);
      dae::group::ManagerOptions opts;
      if (args.count("check-timeout-ms")) opts.checkTimeout = std::chrono::milliseconds(std::stol(args["check-timeout-ms"]));
      GroupManager gm(io.get_executor(), config, dial, opts);
      gm.start();
      Lab lab(io, gm, t);
      std::string line;
      while (std::getline(std::cin, line)) {
        if (line.empty()) continue;
        if (line == "quit") break;
        std::cout << lab.run(line) << std::endl;
      }
      gm.stop();
    }
    // Let the loops wind down (checks in flight end within their timeout).
    work.reset();
    for (int i = 0; i < 100 && !io.stopped(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    io.stop();
    runner.join();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "group_lab: " << e.what() << "\n";
    return 1;
  }
}
