// dae-runtime: loads a compiled rules.o (or compiles a config in-process) and runs
// it. A thin command line over the runtime libraries.
//   dae-runtime --program rules.o | -c CONFIG.dae [--cgroup PATH] [--control ADDR] [--config-dir DIR]
//   dae-runtime --program rules.o --route 'SPEC' [--route ...] [--verbose] [--hits]
//   dae-runtime --program rules.o --route -        (SPECs from stdin, one per line)
//   dae-runtime --program rules.o --check          (load into the verifier and exit)
//   dae-runtime reload|status|metrics [--control ADDR]   (ask the running instance)
// Exit status: 0 ok, 1 a bad SPEC, a refused program or a failed reload, 2 usage or
// internal error.
#include <csignal>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "control/ControlSocket.h"
#include "dae-runtime/Runtime.h"
#include "datapath/RouteTester.h"
#include "loader/Loader.h"

namespace {

void usage(std::ostream& out) {
  out << "usage: dae-runtime (--program rules.o | -c CONFIG.dae) [options]\n"
         "       dae-runtime reload|status|metrics [--control ADDR]\n"
         "\n"
         "  --program FILE   a rules.o compiled by daec\n"
         "  -c FILE          compile FILE in-process (same compiler as daec)\n"
         "  -L DIR           geodata directory (with -c)\n"
         "  --check          load the program into the kernel verifier and exit\n"
         "  --route SPEC     decide SPEC with the real kernel program and print\n"
         "                   'outbound=NAME mark=0xHEX must=0|1'; '-' reads SPECs from stdin\n"
         "                   SPEC: tcp|udp SRCIP:SPORT -> DSTIP:DPORT [mac=..] [dscp=N]\n"
         "                         [pname=NAME] [domain=NAME] [hook=lan|wan]\n"
         "  --verbose        with --route: also print rule=FILE:LINE\n"
         "  --hits           with --route: print per-rule hit counters at the end\n"
         "  --cgroup PATH    attach the socket hooks (pname) to this cgroup v2 directory\n"
         "                   instead of the root\n"
         "  --config-dir DIR where file:// subscriptions and persisted copies (persist.d/)\n"
         "                   live; default: the directory of -c FILE or of --program FILE\n"
         "  --control ADDR   the control socket: a path, or @NAME for an abstract socket\n"
         "                   of the network namespace (default @dae-runtime)\n"
         "\n"
         "Without --route or --check it runs: attaches to lan_interface / wan_interface,\n"
         "opens the transparent listeners on tproxy_port and proxies until SIGINT/SIGTERM,\n"
         "which detach everything. SIGHUP or `dae-runtime reload` recompiles (-c) or\n"
         "re-reads (--program) the source and swaps the new program in without dropping\n"
         "established connections; a source with errors leaves the running one in place.\n"
         "`dae-runtime status` prints attachments, groups, per-rule hits and connections.\n";
}

// Runs the proxy until SIGINT or SIGTERM; SIGHUP reloads.
int runProxy(dae::runtime::ProgramSource source, std::shared_ptr<const dae::loader::Artifact> artifact,
             dae::runtime::RuntimeOptions options) {
  boost::asio::io_context io;
  dae::runtime::Runtime runtime(io, std::move(source), std::move(artifact), std::move(options));
  runtime.start();
  boost::asio::signal_set stopSignals(io, SIGINT, SIGTERM);
  stopSignals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    spdlog::info("signal {}: detaching and exiting", sig);
    runtime.stop();
    io.stop();
  });
  boost::asio::signal_set hangup(io, SIGHUP);
  std::function<void()> waitHangup = [&]() {
    hangup.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      spdlog::info("SIGHUP: reloading");
      // The outcome is logged by the reload itself.
      runtime.reload([](const dae::control::ControlReply&) {});
      waitHangup();
    });
  };
  waitHangup();
  io.run();
  return 0;
}

// `dae-runtime reload|status|metrics`: asks the running instance, prints its answer.
int askRunning(const std::string& command, const std::string& address) {
  // A reload compiles the config: allow for a large one.
  auto timeout = command == "reload" ? std::chrono::minutes(5) : std::chrono::minutes(1);
  dae::control::ControlReply reply = dae::control::sendControlCommand(
      address, command, std::chrono::duration_cast<std::chrono::milliseconds>(timeout));
  (reply.exitCode == 0 ? std::cout : std::cerr) << reply.text << std::flush;
  return reply.exitCode;
}

int run(int argc, char** argv) {
  std::string program, config, cgroupPath, configDir, command;
  std::string controlAddress = dae::control::kDefaultControlAddress;
  std::vector<std::string> routes;
  std::vector<std::string> geodataDirs;
  bool check = false, verbose = false, hits = false;
  int first = 1;
  if (argc > 1 && (std::string(argv[1]) == "reload" || std::string(argv[1]) == "status" ||
                   std::string(argv[1]) == "metrics")) {
    command = argv[1];
    first = 2;
  }
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      usage(std::cout);
      return 0;
    } else if (a == "--control") controlAddress = value();
    else if (!command.empty()) {
      std::cerr << "dae-runtime: error: '" << command << "' takes only --control (see --help)\n";
      return 2;
    } else if (a == "--program") program = value();
    else if (a == "-c") config = value();
    else if (a == "-L") geodataDirs.push_back(value());
    else if (a == "--route") routes.push_back(value());
    else if (a == "--check") check = true;
    else if (a == "--verbose" || a == "-v") verbose = true;
    else if (a == "--hits") hits = true;
    else if (a == "--cgroup") cgroupPath = value();
    else if (a == "--config-dir") configDir = value();
    else {
      std::cerr << "dae-runtime: error: unknown argument '" << a << "' (see --help)\n";
      return 2;
    }
  }
  if (!command.empty()) return askRunning(command, controlAddress);
  if (program.empty() == config.empty()) {
    std::cerr << "dae-runtime: error: give exactly one of --program FILE or -c CONFIG\n";
    return 2;
  }

  dae::runtime::ProgramSource source{program, config, geodataDirs};
  dae::runtime::ArtifactLoad load = dae::runtime::loadArtifact(source);
  std::cerr << load.diagnostics;
  if (!load.artifact) return 1;
  const dae::loader::Artifact& artifact = *load.artifact;

  if (check) {
    dae::loader::BpfObject obj(artifact);
    uint64_t total = 0;
    for (const auto& p : obj.programs()) total += p.verifiedInsns;
    std::cout << "ok: " << artifact.meta.rule_count() << " rules (" << artifact.meta.backend()
              << "), verifier processed " << total << " instructions\n";
    return 0;
  }
  if (routes.empty()) {
    if (configDir.empty())
      configDir = std::filesystem::absolute(config.empty() ? program : config).parent_path().string();
    return runProxy(source, load.artifact, {cgroupPath, configDir, controlAddress});
  }

  dae::datapath::RouteTester tester(artifact);
  int status = 0;
  auto answer = [&](const std::string& line) {
    try {
      auto spec = dae::datapath::parseRouteSpec(line);
      auto a = tester.route(spec);
      char mark[16];
      std::snprintf(mark, sizeof mark, "0x%x", a.mark);
      std::cout << "outbound=" << a.outbound << " mark=" << mark << " must=" << (a.must ? 1 : 0);
      if (verbose) std::cout << " rule=" << a.rule;
      std::cout << '\n';
    } catch (const std::invalid_argument& e) {
      std::cout << "error: " << e.what() << '\n';
      std::cerr << "dae-runtime: bad route spec '" << line << "': " << e.what() << '\n';
      status = 1;
    }
  };
  for (const auto& r : routes) {
    if (r != "-") {
      answer(r);
      continue;
    }
    for (std::string line; std::getline(std::cin, line);) {
      auto first = line.find_first_not_of(" \t");
      if (first == std::string::npos || line[first] == '#') continue;
      answer(line);
    }
  }
  if (hits) {
    auto counts = tester.ruleHits();
    for (size_t i = 0; i < counts.size(); ++i)
      std::cout << "hits " << (i + 1 == counts.size() ? std::string("fallback") : "r" + std::to_string(i)) << " = "
                << counts[i] << '\n';
  }
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const dae::loader::LoadError& e) {
    std::cerr << "dae-runtime: error: " << e.what() << '\n';
    if (!e.log().empty()) std::cerr << e.log() << '\n';
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "dae-runtime: error: " << e.what() << '\n';
    return 2;
  }
}
