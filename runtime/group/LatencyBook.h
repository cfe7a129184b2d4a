// The results of health checks, per checked node and kind of traffic. Pure
// data with no I/O: the health checker (or a test) records results, the
// selectors read them.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "group/Options.h"

namespace dae::group {

enum class Policy { Random, Fixed, Min, MinAvg10, MinMovingAvg };

// "random", "fixed", "min" (also "min_last_latency"), "min_avg10", "min_moving_avg".
Policy parsePolicy(const std::string& name, const std::string& group);
std::string_view policyName(Policy p) noexcept;
inline bool usesLatency(Policy p) { return p == Policy::Min || p == Policy::MinAvg10 || p == Policy::MinMovingAvg; }

struct KindStats {
  bool capable = true;    // false: the node can never carry this kind (e.g. no UDP)
  std::string incapableWhy;
  bool alive = true;      // the last check succeeded, or there was none yet
  std::uint64_t checks = 0;
  std::uint64_t failures = 0;
  std::int64_t lastNs = -1;       // last latency (a failure counts as the penalty); -1: none
  std::int64_t movingAvgNs = -1;  // (previous + latest) / 2; the first sample itself
  std::array<std::int64_t, 10> window{};  // last 10 latencies (ring)
  std::uint8_t windowSize = 0;
  std::uint8_t windowNext = 0;
  std::string lastError;  // of the last failed check

  bool usable() const { return capable && alive; }
  std::optional<std::int64_t> avg10Ns() const;
  // The latency the policy compares; nullopt when there is none yet.
  std::optional<std::int64_t> metricNs(Policy p) const;
};

class LatencyBook {
 public:
  // A failed check enters the averages as `failurePenalty` (upstream: the
  // check timeout), so a node that just recovered does not win at once.
  explicit LatencyBook(std::chrono::nanoseconds failurePenalty = std::chrono::seconds(10));

  std::size_t addEntry();
  std::size_t size() const { return entries_.size(); }

  void setIncapable(std::size_t entry, Kind kind, std::string why);
  // Returns true when the entry's alive state for kind changed.
  bool recordSuccess(std::size_t entry, Kind kind, std::chrono::nanoseconds latency);
  bool recordFailure(std::size_t entry, Kind kind, std::string error);

  const KindStats& stats(std::size_t entry, Kind kind) const { return entries_.at(entry)[kindIndex(kind)]; }
  bool usable(std::size_t entry, Kind kind) const { return stats(entry, kind).usable(); }

 private:
  void push(KindStats& s, std::int64_t ns);

  std::int64_t penaltyNs_;
  std::vector<std::array<KindStats, kKinds>> entries_;
};

}  // namespace dae::group
