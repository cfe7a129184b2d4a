// Node groups: the global node pool (`node { }`, later subscriptions), the
// groups' filters and selection policies, and health checks per node and kind
// of traffic (tcp4, tcp6, udp4, udp6) so that each flow gets the best node for
// its own kind. See docs/groups.md.
//
// Thread safety: every public method may be called from any thread. pick() is
// cheap (a lock, a lookup and a copy of a shared_ptr): the policy work happens
// when a check result arrives, not per flow.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <utility>  // before Boost.Asio 1.74 headers (std::exchange)
#include <boost/asio/any_io_executor.hpp>

#include "group/Options.h"
#include "outbound/Dialer.h"

namespace dae::artifact {
class ConfigData;
}

namespace dae::group {

// A node of the pool: from `node { name: 'link' }` (tag "") or a subscription.
struct PoolNode {
  std::string name;
  std::string link;  // share link, or a chain "LINK -> LINK"
  std::string tag;   // subscription tag, for subtag()
};

struct ManagerOptions {
  // Bounds one check (dial included); a failed check counts as this latency
  // in min_avg10 / min_moving_avg (upstream: 10s).
  std::chrono::milliseconds checkTimeout{10000};
  // A dial failure re-checks the node at once, but not sooner than this after
  // the start of its previous check.
  std::chrono::milliseconds minRecheckGap{250};
  // Spread the first checks of the nodes over min(check_interval, 5s).
  bool jitterFirstCheck = true;
  // Seed of the random policy; nullopt: from std::random_device.
  std::optional<std::uint64_t> seed;
  // Nodes in addition to config.nodes (e.g. from subscriptions).
  std::vector<PoolNode> extraNodes;
};

// One node of one group for one kind of traffic, for status and metrics.
struct NodeKindStatus {
  std::string group, node;
  Kind kind;
  bool usable = false;  // can carry the kind and its last check succeeded (or none yet)
  bool chosen = false;  // the group's current choice for the kind (min/fixed policies)
  std::optional<std::chrono::nanoseconds> latency;  // the policy's metric, when measured
};

class GroupManager {
 public:
  // Builds the pool, the groups and their selectors. Throws GroupError for a
  // bad option, filter or policy. Links that do not parse make unusable nodes
  // (logged), as upstream skips them.
  GroupManager(boost::asio::any_io_executor ex, const artifact::ConfigData& config,
               outbound::DialOptions dialOptions, ManagerOptions options = {});
  ~GroupManager();
  GroupManager(const GroupManager&) = delete;
  GroupManager& operator=(const GroupManager&) = delete;

  // Launches the health checks (on a strand of the executor).
  void start();
  // Stops them; checks in flight end within checkTimeout.
  void stop();

  // The node for a new flow of `kind` in `group`. Throws GroupError naming the
  // group, the kind and why each node is unusable.
  std::shared_ptr<outbound::Dialer> pick(const std::string& group, Kind kind);
  // A dial through `node` failed in a way that says something about the node
  // (OutboundError::nodeUnhealthy()): re-check it now.
  void reportFailure(const std::string& group, const std::shared_ptr<outbound::Dialer>& node);

  // Groups, nodes, latencies per kind and the chosen node per kind.
  std::string describe() const;
  // The same as data: every member of every group, per kind.
  std::vector<NodeKindStatus> nodeStatus() const;

  // ---- introspection, tools and tests ----
  std::vector<std::string> groupNames() const;
  std::vector<std::string> memberNames(const std::string& group) const;
  // The pool name of a dialer pick() returned ("" if unknown).
  std::string nodeName(const std::shared_ptr<outbound::Dialer>& node) const;
  // The current choice of a min/fixed group for kind (nullopt: none, or random).
  std::optional<std::string> chosen(const std::string& group, Kind kind) const;
  // Feeds a check result for every check entry of the node named `node`, as if
  // a health check had produced it (latency nullopt: a failed check).
  void recordCheck(const std::string& node, Kind kind, std::optional<std::chrono::nanoseconds> latency,
                   const std::string& error = "scripted failure");
  // Every node of every group has completed at least `rounds` check rounds.
  bool checkedAtLeast(std::uint64_t rounds) const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace dae::group
