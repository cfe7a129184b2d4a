// A running dae-runtime: the datapath, the engine, the groups, the control socket,
// the metrics endpoint and the kernel event log, and hot reload across them.
//
// Reload (SIGHUP or `dae-runtime reload`): the source (the config of -c, or the
// rules.o of --program) is compiled or read again and loaded into the kernel next
// to the running program on a worker thread, taking over the maps that hold flow
// state; back on the io thread the new program is swapped into every attachment
// in place, the groups are rebuilt when their configuration changed, and the
// engine names new flows with the new tables. Flows decided by older programs keep
// their decisions (their dae_flow_info says which program decided). A source with
// errors changes nothing: the diagnostics go to the caller and the log.
#pragma once
#include <utility>  // before Boost.Asio 1.74 headers (std::exchange)

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "control/ControlSocket.h"
#include "control/Status.h"
#include "loader/Loader.h"

namespace dae::datapath {
class Datapath;
}
namespace dae::engine {
class Engine;
struct ConnectionRecord;
}
namespace dae::group {
class GroupManager;
struct PoolNode;
}
namespace dae::subscription {
class Subscriptions;
}
namespace dae::control {
class MetricsServer;
class KernelEvents;
}

namespace dae::runtime {

// Where the program comes from: a rules.o (--program) or a config (-c).
struct ProgramSource {
  std::string programPath;
  std::string configPath;
  std::vector<std::string> geodataDirs;  // -L, with -c
  const std::string& path() const { return configPath.empty() ? programPath : configPath; }
};

struct ArtifactLoad {
  std::shared_ptr<const loader::Artifact> artifact;  // null when the source has errors
  std::string diagnostics;  // the compiler's errors and warnings, or why the file is unusable
};

// Compiles the config or reads the rules.o. Never throws for a bad source.
ArtifactLoad loadArtifact(const ProgramSource& source);

struct RuntimeOptions {
  std::string cgroupPath;  // --cgroup
  std::filesystem::path configDir;  // --config-dir: file:// subscriptions and persisted copies
  std::string controlAddress = control::kDefaultControlAddress;
};

class Runtime {
 public:
  Runtime(boost::asio::io_context& io, ProgramSource source, std::shared_ptr<const loader::Artifact> artifact,
          RuntimeOptions options);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Attaches the program, starts groups and engine, opens the control socket and
  // the metrics endpoint. Throws with a clear message.
  void start();
  // Closes everything start() opened; the destructor detaches the datapath.
  void stop();
  // Reloads from the source; `done` receives the answer for the caller (exit 0
  // and a summary, or exit 1 and the diagnostics), on the io thread.
  void reload(std::function<void(control::ControlReply)> done);
  control::StatusSnapshot snapshot() const;

 private:
  struct Prepared;
  void finishReload(std::shared_ptr<Prepared> prepared, std::function<void(control::ControlReply)> done);
  void failReload(const std::string& diagnostics, std::function<void(control::ControlReply)> done);
  void handleCommand(const std::string& command, std::function<void(control::ControlReply)> reply);
  std::shared_ptr<group::GroupManager> makeGroups(const loader::Artifact& artifact,
                                                  std::vector<group::PoolNode> subscriptionNodes) const;
  void applyLogLevel(const loader::Artifact& artifact);
  void openMetrics(const loader::Artifact& artifact);
  void logConnection(const engine::ConnectionRecord& record);
  // The artifact of program `generation` (older ones too, for flows they decided).
  const loader::Artifact* program(uint16_t generation) const;
  std::string outboundName(uint16_t generation, uint8_t outbound) const;
  std::string ruleName(uint16_t generation, uint16_t ruleIndex) const;

  boost::asio::io_context& io_;
  ProgramSource source_;
  RuntimeOptions options_;
  std::chrono::steady_clock::time_point started_;
  // The first artifact lives as long as the engine, which was built with it.
  std::shared_ptr<const loader::Artifact> initial_;
  std::map<uint16_t, std::shared_ptr<const loader::Artifact>> programs_;  // recent generations
  uint16_t generation_ = 1;
  std::unique_ptr<datapath::Datapath> datapath_;
  // The DNS module's dae_domain_map (a reference of our own) and the ones of the
  // modules before it: answers in flight in a replaced module may still write there.
  loader::UniqueFd domainMap_;
  std::deque<loader::UniqueFd> retiredDomainMaps_;
  std::unique_ptr<subscription::Subscriptions> subscriptions_;
  std::shared_ptr<group::GroupManager> groups_;
  std::string groupsIdentity_;
  std::unique_ptr<engine::Engine> engine_;
  std::unique_ptr<control::ControlServer> control_;
  std::unique_ptr<control::MetricsServer> metrics_;
  std::string metricsAddress_;
  std::unique_ptr<control::KernelEvents> events_;
  boost::asio::thread_pool worker_{1};  // compiles and loads reloads off the io thread
  bool reloading_ = false;
  bool stopped_ = false;
  uint64_t reloadsOk_ = 0, reloadsFailed_ = 0;
  std::string lastReloadError_;
};

}  // namespace dae::runtime
