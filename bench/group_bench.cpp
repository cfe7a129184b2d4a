// bench_group: the cost of choosing a node per new flow (GroupManager::pick)
// for groups of 1,000 nodes, per policy, and the cost of one check result
// (which is where the policy work happens). Prints; never fails.
//
//   bench_group [NODES] [PICKS]
#include <time.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <spdlog/spdlog.h>

#include "artifact.pb.h"
#include "group/Groups.h"

using namespace dae::group;
using Clock = std::chrono::steady_clock;

namespace {

double nsPer(Clock::duration d, std::size_t n) {
  return static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count()) / static_cast<double>(n);
}

// CPU time of this thread: on a busy machine wall time also counts the time
// the thread was not running.
double cpuNow() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t nodes = argc > 1 ? std::stoul(argv[1]) : 1000;
  const std::size_t picks = argc > 2 ? std::stoul(argv[2]) : 2000000;
  spdlog::set_level(spdlog::level::warn);  // switches are logged at info

  dae::artifact::ConfigData config;
  for (std::size_t i = 0; i < nodes; ++i) {
    auto* n = config.add_nodes();
    n->set_name("node-" + std::to_string(i));
    n->set_link("ss://aes-128-gcm:bench-" + std::to_string(i) + "@198.18.1." + std::to_string(i % 250 + 1) + ":" +
                std::to_string(10000 + i));
  }
  const std::vector<std::pair<std::string, std::string>> policies = {
      {"random", "random"}, {"fixed", "fixed"}, {"min", "min"}, {"min_avg10", "min_avg10"}, {"min_moving_avg", "min_moving_avg"}};
  for (const auto& [name, policy] : policies) {
    auto* g = config.add_groups();
    g->set_name(name);
    g->set_policy(policy);
    g->set_fixed_index(static_cast<std::uint32_t>(nodes / 2));
  }

  boost::asio::io_context io;
  auto t0 = Clock::now();
  ManagerOptions opts;
  opts.seed = 1;
  GroupManager gm(io.get_executor(), config, {}, opts);  // not started: no network
  auto built = Clock::now() - t0;

  // Scripted latencies: 12 rounds for every node and kind (fills the avg10 windows).
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int> ms(5, 500);
  std::size_t results = 0;
  double c0 = cpuNow();
  for (int round = 0; round < 12; ++round)
    for (std::size_t i = 0; i < nodes; ++i)
      for (Kind k : kAllKinds) {
        gm.recordCheck("node-" + std::to_string(i), k, std::chrono::milliseconds(ms(rng)));
        ++results;
      }
  double recordedNs = cpuNow() - c0;

  std::printf("bench_group: %zu nodes in %zu groups (one per policy, every node in each)\n", nodes, policies.size());
  std::printf("  build (parse %zu links, dialers, filters, selectors): %.1f ms\n", nodes,
              std::chrono::duration<double, std::milli>(built).count());
  std::printf("  one check result (book + re-selection in %zu groups): %.0f ns cpu\n", policies.size(),
              recordedNs / static_cast<double>(results));
  std::printf("  %-16s %14s %14s %18s\n", "policy", "ns/pick (cpu)", "ns/pick (wall)", "ns/pick (2 thr, wall)");
  const Kind kinds[] = {Kind::Tcp4, Kind::Udp4, Kind::Tcp6, Kind::Udp6};
  for (const auto& [name, policy] : policies) {
    std::atomic<std::size_t> sink{0};
    t0 = Clock::now();
    double c1 = cpuNow();
    for (std::size_t i = 0; i < picks; ++i) sink += gm.pick(name, kinds[i & 3]) != nullptr;
    double cpu = (cpuNow() - c1) / static_cast<double>(picks);
    double one = nsPer(Clock::now() - t0, picks);
    // Two threads picking at once (the GroupManager's mutex under contention).
    t0 = Clock::now();
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; ++t)
      threads.emplace_back([&, name = name] {
        for (std::size_t i = 0; i < picks / 2; ++i) sink += gm.pick(name, kinds[i & 3]) != nullptr;
      });
    for (auto& t : threads) t.join();
    double two = nsPer(Clock::now() - t0, picks);
    std::printf("  %-16s %14.1f %14.1f %18.1f\n", name.c_str(), cpu, one, two);
    if (sink.load() != picks * 2) std::printf("  (unexpected: %zu picks returned nothing)\n", picks * 2 - sink.load());
  }
  return 0;
}
