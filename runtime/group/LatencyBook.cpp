#include "group/LatencyBook.h"

namespace dae::group {

Policy parsePolicy(const std::string& name, const std::string& group) {
  if (name == "random") return Policy::Random;
  if (name == "fixed") return Policy::Fixed;
  if (name == "min" || name == "min_last_latency") return Policy::Min;
  if (name == "min_avg10") return Policy::MinAvg10;
  if (name == "min_moving_avg") return Policy::MinMovingAvg;
  throw GroupError("group '" + group + "': unknown policy '" + name +
                   "'; expected random, fixed, min, min_avg10 or min_moving_avg");
}

std::string_view policyName(Policy p) noexcept {
  switch (p) {
    case Policy::Random: return "random";
    case Policy::Fixed: return "fixed";
    case Policy::Min: return "min";
    case Policy::MinAvg10: return "min_avg10";
    case Policy::MinMovingAvg: return "min_moving_avg";
  }
  return "?";
}

std::optional<std::int64_t> KindStats::avg10Ns() const {
  if (windowSize == 0) return std::nullopt;
  std::int64_t sum = 0;
  for (std::uint8_t i = 0; i < windowSize; ++i) sum += window[i];
  return sum / windowSize;
}

std::optional<std::int64_t> KindStats::metricNs(Policy p) const {
  if (checks == 0) return std::nullopt;
  switch (p) {
    case Policy::MinAvg10: return avg10Ns();
    case Policy::MinMovingAvg: return movingAvgNs;
    default: return lastNs;
  }
}

LatencyBook::LatencyBook(std::chrono::nanoseconds failurePenalty) : penaltyNs_(failurePenalty.count()) {}

std::size_t LatencyBook::addEntry() {
  entries_.emplace_back();
  return entries_.size() - 1;
}

void LatencyBook::setIncapable(std::size_t entry, Kind kind, std::string why) {
  KindStats& s = entries_.at(entry)[kindIndex(kind)];
  s.capable = false;
  s.incapableWhy = std::move(why);
}

void LatencyBook::push(KindStats& s, std::int64_t ns) {
  ++s.checks;
  s.lastNs = ns;
  s.movingAvgNs = s.movingAvgNs < 0 ? ns : (s.movingAvgNs + ns) / 2;
  s.window[s.windowNext] = ns;
  s.windowNext = static_cast<std::uint8_t>((s.windowNext + 1) % s.window.size());
  if (s.windowSize < s.window.size()) ++s.windowSize;
}

bool LatencyBook::recordSuccess(std::size_t entry, Kind kind, std::chrono::nanoseconds latency) {
  KindStats& s = entries_.at(entry)[kindIndex(kind)];
  push(s, latency.count() < 0 ? 0 : latency.count());
  bool changed = !s.alive;
  s.alive = true;
  return changed;
}

bool LatencyBook::recordFailure(std::size_t entry, Kind kind, std::string error) {
  KindStats& s = entries_.at(entry)[kindIndex(kind)];
  push(s, penaltyNs_);
  ++s.failures;
  s.lastError = std::move(error);
  bool changed = s.alive;
  s.alive = false;
  return changed;
}

}  // namespace dae::group
