#include "group/Selector.h"

namespace dae::group {

Selector::Selector(std::string group, Policy policy, std::size_t fixedIndex, std::chrono::nanoseconds tolerance,
                   std::vector<Member> members)
    : group_(std::move(group)),
      policy_(policy),
      fixedIndex_(fixedIndex),
      tolerance_(tolerance.count() < 0 ? std::chrono::nanoseconds(0) : tolerance),
      members_(std::move(members)) {
  for (auto& p : pos_) p.assign(members_.size(), -1);
}

std::optional<std::int64_t> Selector::effectiveNs(const LatencyBook& book, std::size_t member, Kind kind) const {
  const Member& m = members_[member];
  auto metric = book.stats(m.entry, kind).metricNs(policy_);
  if (!metric) return std::nullopt;
  return *metric + m.addLatency.count();
}

std::vector<Switch> Selector::refreshAll(const LatencyBook& book) {
  std::vector<Switch> out;
  for (Kind k : kAllKinds)
    if (auto s = refresh(book, k)) out.push_back(std::move(*s));
  return out;
}

void Selector::setUsable(Kind kind, std::size_t m, bool usable) {
  auto& list = usable_[kindIndex(kind)];
  auto& pos = pos_[kindIndex(kind)];
  if (usable == (pos[m] >= 0)) return;
  if (usable) {
    pos[m] = static_cast<std::int32_t>(list.size());
    list.push_back(m);
    return;
  }
  std::size_t at = static_cast<std::size_t>(pos[m]);  // swap-remove: order does not matter
  list[at] = list.back();
  pos[list[at]] = static_cast<std::int32_t>(at);
  list.pop_back();
  pos[m] = -1;
}

std::optional<Switch> Selector::refresh(const LatencyBook& book, Kind kind) {
  usable_[kindIndex(kind)].clear();
  pos_[kindIndex(kind)].assign(members_.size(), -1);
  for (std::size_t i = 0; i < members_.size(); ++i) setUsable(kind, i, book.usable(members_[i].entry, kind));
  switch (policy_) {
    case Policy::Random: return std::nullopt;
    case Policy::Fixed: return refreshFixed(book, kind);
    default: return refreshMin(book, kind);
  }
}

std::optional<Switch> Selector::refreshMember(const LatencyBook& book, Kind kind, std::size_t m) {
  const bool usable = book.usable(members_[m].entry, kind);
  setUsable(kind, m, usable);
  switch (policy_) {
    case Policy::Random: return std::nullopt;
    case Policy::Fixed: return m == fixedIndex_ ? refreshFixed(book, kind) : std::nullopt;
    default: break;
  }
  // min policies: only a change of the chosen member, or a member that now
  // beats the chosen one by the tolerance, needs a look at every member.
  const auto cur = chosen_[kindIndex(kind)];
  if (!cur || *cur == m || !book.usable(members_[*cur].entry, kind)) return refreshMin(book, kind);
  auto curNs = effectiveNs(book, *cur, kind);
  if (!usable) return std::nullopt;
  auto mNs = effectiveNs(book, m, kind);
  if (!mNs) return std::nullopt;
  if (!curNs || (*mNs < *curNs && *curNs - *mNs >= tolerance_.count())) return refreshMin(book, kind);
  return std::nullopt;
}

std::optional<Switch> Selector::refreshFixed(const LatencyBook& book, Kind kind) {
  std::optional<std::size_t> next;
  if (fixedIndex_ < members_.size() && book.usable(members_[fixedIndex_].entry, kind)) next = fixedIndex_;
  auto& cur = chosen_[kindIndex(kind)];
  if (next == cur) return std::nullopt;
  Switch s{kind, cur, next, std::nullopt, std::nullopt, ""};
  if (cur && book.usable(members_[*cur].entry, kind)) s.fromNs = effectiveNs(book, *cur, kind);
  if (next) s.toNs = effectiveNs(book, *next, kind);
  s.reason = next ? "the fixed node is usable" : unusableReason(book, kind);
  cur = next;
  return s;
}

std::optional<Switch> Selector::refreshMin(const LatencyBook& book, Kind kind) {
  const auto& usable = usable_[kindIndex(kind)];
  std::optional<std::size_t> best;
  std::int64_t bestNs = 0;
  std::optional<std::size_t> first;  // the lowest usable member index
  for (std::size_t i : usable) {
    if (!first || i < *first) first = i;
    auto eff = effectiveNs(book, i, kind);
    if (eff && (!best || *eff < bestNs || (*eff == bestNs && i < *best))) {
      best = i;
      bestNs = *eff;
    }
  }
  auto& cur = chosen_[kindIndex(kind)];
  std::optional<std::size_t> next = cur;
  std::string reason;
  if (cur && book.usable(members_[*cur].entry, kind)) {
    auto curNs = effectiveNs(book, *cur, kind);
    if (best && *best != *cur) {
      if (!curNs) {
        next = best;
        reason = "the first measured node replaces an unmeasured one";
      } else if (bestNs < *curNs && *curNs - bestNs >= tolerance_.count()) {
        next = best;
        reason = "lower latency by " + formatLatencyNs(*curNs - bestNs) + " (tolerance " + formatLatency(tolerance_) + ")";
      }
    }
  } else {
    if (cur) {
      const KindStats& st = book.stats(members_[*cur].entry, kind);
      reason = "'" + members_[*cur].name + "' is not usable (" +
               (st.capable ? "check failed: " + st.lastError : st.incapableWhy) + ")";
    } else {
      reason = "initial choice";
    }
    if (best) next = best;
    else if (first) next = first;
    else {
      next = std::nullopt;
      reason += "; " + unusableReason(book, kind);
    }
  }
  if (next == cur) return std::nullopt;
  Switch s{kind, cur, next, std::nullopt, std::nullopt, std::move(reason)};
  // (the latency of a node that is down is only the failure penalty: not shown)
  if (cur && book.usable(members_[*cur].entry, kind)) s.fromNs = effectiveNs(book, *cur, kind);
  if (next) s.toNs = effectiveNs(book, *next, kind);
  cur = next;
  return s;
}

std::optional<std::size_t> Selector::pick(Kind kind, Rng& rng) const {
  if (policy_ != Policy::Random) return chosen_[kindIndex(kind)];
  const auto& usable = usable_[kindIndex(kind)];
  if (usable.empty()) return std::nullopt;
  std::uniform_int_distribution<std::size_t> dist(0, usable.size() - 1);
  return usable[dist(rng)];
}

std::string Selector::unusableReason(const LatencyBook& book, Kind kind) const {
  if (members_.empty()) return "the group has no nodes (its filter matched none of the pool)";
  if (policy_ == Policy::Fixed && fixedIndex_ >= members_.size())
    return "fixed(" + std::to_string(fixedIndex_) + ") but the group has only " + std::to_string(members_.size()) +
           " node(s)";
  std::string out;
  std::size_t shown = 0;
  for (std::size_t i = 0; i < members_.size(); ++i) {
    if (policy_ == Policy::Fixed && i != fixedIndex_) continue;
    const KindStats& st = book.stats(members_[i].entry, kind);
    if (st.usable()) continue;
    if (shown == 5) {
      out += "; ...";
      break;
    }
    if (shown++) out += "; ";
    out += "'" + members_[i].name + "': " +
           (st.capable ? std::string(kindName(kind)) + " check failed: " + st.lastError : st.incapableWhy);
  }
  return out.empty() ? "no usable node" : out;
}

std::string Selector::describe(const Switch& s) const {
  auto named = [&](std::optional<std::size_t> m, std::optional<std::int64_t> ns) {
    std::string t = "'" + members_[*m].name + "'";
    if (ns) {
      t += " (" + std::string(policyName(policy_)) + " " + formatLatencyNs(*ns);
      if (members_[*m].addLatency.count() != 0)
        t += std::string(" incl. add_latency ") + (members_[*m].addLatency.count() > 0 ? "+" : "") +
             formatLatency(members_[*m].addLatency);
      t += ")";
    }
    return t;
  };
  std::string line = "group '" + group_ + "' [" + std::string(kindName(s.kind)) + "]: ";
  if (!s.to) return line + "no usable node (was " + named(s.from, s.fromNs) + "): " + s.reason;
  if (!s.from) return line + "selects " + named(s.to, s.toNs) + ": " + s.reason;
  return line + "switches " + named(s.from, s.fromNs) + " -> " + named(s.to, s.toNs) + ": " + s.reason;
}

}  // namespace dae::group
