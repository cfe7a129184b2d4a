// dae-runtime: loads a compiled rules.o (or compiles a config in-process) and runs
// it. A thin command line over the runtime libraries.
//   dae-runtime --program rules.o --route 'SPEC' [--route ...] [--verbose] [--hits]
//   dae-runtime --program rules.o --route -        (SPECs from stdin, one per line)
//   dae-runtime --program rules.o --check          (load into the verifier and exit)
//   dae-runtime -c CONFIG.dae ...                  (compile in-process first)
// Exit status: 0 ok, 1 a bad SPEC or a refused program, 2 usage or internal error.
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "datapath/Datapath.h"
#include "datapath/RouteTester.h"
#include "driver/Pipeline.h"
#include "engine/Engine.h"
#include "engine/OutboundResolver.h"
#include "group/Groups.h"
#include "loader/Loader.h"

namespace {

void usage(std::ostream& out) {
  out << "usage: dae-runtime (--program rules.o | -c CONFIG.dae) [options]\n"
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
         "\n"
         "Without --route or --check it runs: attaches to lan_interface / wan_interface,\n"
         "opens the transparent listeners on tproxy_port and proxies until SIGINT/SIGTERM,\n"
         "which detach everything.\n";
}

// Runs the proxy until SIGINT or SIGTERM.
int runProxy(const dae::loader::Artifact& artifact, const std::string& cgroupPath) {
  std::string level = "info";
  for (const auto& kv : artifact.config.global())
    if (kv.key() == "log_level") level = kv.value();
  spdlog::set_level(spdlog::level::from_str(level == "warning" ? "warn" : level));
  auto options = dae::datapath::optionsFromConfig(artifact);
  options.cgroupPath = cgroupPath;
  boost::asio::io_context io;
  dae::datapath::Datapath datapath(artifact, options);
  for (const auto& line : datapath.describe()) spdlog::info("attached: {}", line);
  dae::engine::EngineOptions engineOptions;
  engineOptions.tproxyPort = options.tproxyPort;
  engineOptions.soMark = options.soMarkFromDae;
  engineOptions.routingMapFd = datapath.object().mapFd("dae_routing_result");
  dae::outbound::DialOptions dialOptions;
  dialOptions.soMark = options.soMarkFromDae;
  dae::group::GroupManager groups(io.get_executor(), artifact.config, dialOptions);
  groups.start();
  auto picker = [&groups](const std::string& group, bool udp, bool ipv6) {
    using dae::group::Kind;
    return groups.pick(group, udp ? (ipv6 ? Kind::Udp6 : Kind::Udp4) : (ipv6 ? Kind::Tcp6 : Kind::Tcp4));
  };
  auto onFailure = [&groups](const std::string& group, const std::shared_ptr<dae::outbound::Dialer>& node) {
    groups.reportFailure(group, node);
  };
  // The DNS module (inside the engine) writes answers to dae_domain_map and dials
  // upstreams routed to a group through the group's node.
  engineOptions.domainMapFd = datapath.object().mapFd("dae_domain_map");
  engineOptions.dns.pickNode = picker;
  dae::engine::Engine engine(io, artifact, engineOptions,
                             dae::engine::makeOutboundResolver(io.get_executor(), options.soMarkFromDae, picker,
                                                               onFailure));
  engine.start();
  spdlog::info("dae-runtime running: {} rules ({}), tproxy_port {}", artifact.meta.rule_count(),
               artifact.meta.backend(), options.tproxyPort);
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    spdlog::info("signal {}: detaching and exiting", sig);
    engine.stop();
    groups.stop();
    io.stop();
  });
  io.run();
  return 0;
}

int run(int argc, char** argv) {
  std::string program, config, cgroupPath;
  std::vector<std::string> routes;
  std::vector<std::string> geodataDirs;
  bool check = false, verbose = false, hits = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      usage(std::cout);
      return 0;
    } else if (a == "--program") program = value();
    else if (a == "-c") config = value();
    else if (a == "-L") geodataDirs.push_back(value());
    else if (a == "--route") routes.push_back(value());
    else if (a == "--check") check = true;
    else if (a == "--verbose" || a == "-v") verbose = true;
    else if (a == "--hits") hits = true;
    else if (a == "--cgroup") cgroupPath = value();
    else {
      std::cerr << "dae-runtime: error: unknown argument '" << a << "' (see --help)\n";
      return 2;
    }
  }
  if (program.empty() == config.empty()) {
    std::cerr << "dae-runtime: error: give exactly one of --program FILE or -c CONFIG\n";
    return 2;
  }

  std::optional<dae::loader::Artifact> artifact;
  if (!config.empty()) {
    dae::driver::PipelineOptions opts;
    opts.geodataDirs = geodataDirs;
    dae::driver::Compilation c(opts);
    bool ok = c.run(config);
    c.diags.print(std::cerr);
    if (!ok) return 1;
    artifact = dae::loader::Artifact::fromBytes(c.object);
  } else {
    artifact = dae::loader::Artifact::fromFile(program);
  }

  if (check) {
    dae::loader::BpfObject obj(*artifact);
    uint64_t total = 0;
    for (const auto& p : obj.programs()) total += p.verifiedInsns;
    std::cout << "ok: " << artifact->meta.rule_count() << " rules (" << artifact->meta.backend()
              << "), verifier processed " << total << " instructions\n";
    return 0;
  }
  if (routes.empty()) return runProxy(*artifact, cgroupPath);

  dae::datapath::RouteTester tester(*artifact);
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
