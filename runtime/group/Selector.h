// The choice of one group, per kind of traffic, from the latencies in a
// LatencyBook. No I/O and no locking: the GroupManager serialises access.
//
// A member is usable for a kind when it can carry it (UDP support) and its
// last check of that kind succeeded (a node not yet checked counts as usable,
// as upstream). Policies:
//   random          uniform over the usable members, per pick;
//   fixed(n)        member n, when usable;
//   min             least last latency;
//   min_avg10       least average of the last 10 checks (a failure counts as the timeout);
//   min_moving_avg  least moving average (avg = (avg + latest) / 2).
// Latencies are compared after the member's add_latency. The min policies keep
// their choice until another member is better by at least `tolerance`, or the
// chosen one stops being usable. Before any latency is known they use the first
// usable member; a measured member beats an unmeasured chosen one.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "group/LatencyBook.h"

namespace dae::group {

using Rng = std::mt19937_64;

struct Member {
  std::size_t entry;  // in the LatencyBook
  std::chrono::nanoseconds addLatency{0};
  std::string name;
};

// A change of the chosen member of one kind (min policies and fixed).
struct Switch {
  Kind kind;
  std::optional<std::size_t> from, to;    // member indices; nullopt: none
  std::optional<std::int64_t> fromNs, toNs;  // their effective latencies, when known
  std::string reason;
};

class Selector {
 public:
  Selector(std::string group, Policy policy, std::size_t fixedIndex, std::chrono::nanoseconds tolerance,
           std::vector<Member> members);

  // Re-evaluates one kind from scratch (O(members)). Returns the switch, if any.
  std::optional<Switch> refresh(const LatencyBook& book, Kind kind);
  // The same after only member m's entry changed: O(1) unless the choice may
  // change (then as refresh()).
  std::optional<Switch> refreshMember(const LatencyBook& book, Kind kind, std::size_t m);
  std::vector<Switch> refreshAll(const LatencyBook& book);

  // The member for a new flow of `kind`; nullopt when none is usable.
  std::optional<std::size_t> pick(Kind kind, Rng& rng) const;
  // The current choice of a min/fixed policy (nullopt for random).
  std::optional<std::size_t> chosen(Kind kind) const { return chosen_[kindIndex(kind)]; }
  // metric + add_latency of a member.
  std::optional<std::int64_t> effectiveNs(const LatencyBook& book, std::size_t member, Kind kind) const;

  // Why pick() finds nothing, for the error message.
  std::string unusableReason(const LatencyBook& book, Kind kind) const;
  // One log line for a switch.
  std::string describe(const Switch& s) const;

  const std::string& group() const { return group_; }
  Policy policy() const { return policy_; }
  std::size_t fixedIndex() const { return fixedIndex_; }
  std::chrono::nanoseconds tolerance() const { return tolerance_; }
  const std::vector<Member>& members() const { return members_; }
  std::size_t usableCount(Kind kind) const { return usable_[kindIndex(kind)].size(); }

 private:
  std::optional<Switch> refreshMin(const LatencyBook& book, Kind kind);
  std::optional<Switch> refreshFixed(const LatencyBook& book, Kind kind);
  void setUsable(Kind kind, std::size_t m, bool usable);

  std::string group_;
  Policy policy_;
  std::size_t fixedIndex_;
  std::chrono::nanoseconds tolerance_;
  std::vector<Member> members_;
  std::optional<std::size_t> chosen_[kKinds];
  std::vector<std::size_t> usable_[kKinds];  // member indices, in no particular order
  std::vector<std::int32_t> pos_[kKinds];    // member -> index in usable_, or -1
};

}  // namespace dae::group
