#include "group/Groups.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <unordered_map>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include "artifact.pb.h"
#include "group/Filter.h"
#include "group/HealthCheck.h"
#include "group/LatencyBook.h"
#include "group/Selector.h"
#include "outbound/ShareLink.h"
#include "outbound/Transport.h"

namespace dae::group {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

std::vector<FilterLine> filterLines(const artifact::Group& g) {
  std::vector<FilterLine> lines;
  for (const auto& f : g.filters()) {
    FilterLine line;
    line.addLatency = std::chrono::nanoseconds(f.add_latency_ns());
    for (const auto& c : f.calls()) {
      FilterCall call{c.function(), c.negated(), {}};
      for (const auto& a : c.args()) call.args.push_back({a.key(), a.value()});
      line.calls.push_back(std::move(call));
    }
    lines.push_back(std::move(line));
  }
  return lines;
}

std::string exceptionText(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  }
}

void logLoopEnd(std::exception_ptr e) {
  if (e) spdlog::error("groups: a health-check loop ended with an error: {}", exceptionText(e));
}

struct LogLine {
  spdlog::level::level_enum level;
  std::string text;
};

}  // namespace

struct GroupManager::Impl : std::enable_shared_from_this<Impl> {
  struct Node {
    PoolNode pool;
    std::shared_ptr<outbound::Dialer> dialer, checkDialer;
    std::string invalid;  // why the link is unusable
    std::vector<std::size_t> entries;
  };
  // Groups with the same check settings share the checks of their nodes.
  struct Profile {
    CheckSettings settings;
    std::vector<std::size_t> entries;
    // strand only:
    std::optional<asio::ip::address> tcp4, tcp6, dns4, dns6;
    std::string resolveError;
    std::unique_ptr<asio::steady_timer> timer;
    bool spawned = false;
  };
  // One node checked with one profile's settings (a LatencyBook entry).
  struct Entry {
    std::size_t node, profile;
    std::vector<std::pair<std::size_t, std::size_t>> members;  // (group, member index)
    bool capable[kKinds] = {true, true, true, true};
    std::uint64_t rounds = 0;  // under mu
    // strand only:
    std::unique_ptr<asio::steady_timer> timer;
    Clock::time_point nextDue{}, lastStart{};
    bool checking = false;
  };
  struct Group {
    std::string name;
    std::size_t profile;
    std::vector<FilterLine> filters;
    Selector selector;
    std::vector<std::size_t> memberNode;
  };

  Impl(asio::any_io_executor e, outbound::DialOptions d, ManagerOptions o)
      : ex(e), strand(asio::make_strand(e)), dialOptions(std::move(d)), options(std::move(o)),
        book(options.checkTimeout), rng(options.seed ? *options.seed : std::random_device{}()) {}

  asio::any_io_executor ex;
  asio::strand<asio::any_io_executor> strand;
  outbound::DialOptions dialOptions;
  ManagerOptions options;
  std::shared_ptr<asio::ssl::context> tls;
  std::vector<Node> nodes;
  std::unordered_map<const outbound::Dialer*, std::size_t> byDialer;
  std::unordered_multimap<std::string, std::size_t> byName;
  std::vector<Profile> profiles;
  std::vector<Entry> entries;
  std::unordered_map<std::string, std::size_t> groupIndex;
  std::atomic<bool> started{false}, stopped{false};
  Rng jitterRng{std::random_device{}()};  // strand only

  mutable std::mutex mu;  // book, groups' selectors, rng, Entry::rounds
  LatencyBook book;
  std::vector<Group> groups;
  Rng rng;

  void build(const artifact::ConfigData& config);
  void addNode(PoolNode p);
  const Group& group(const std::string& name) const;
  void record(std::size_t e, Kind k, const CheckResult& r);

  asio::awaitable<void> profileLoop(std::size_t p);
  asio::awaitable<void> resolve(Profile& pr);
  asio::awaitable<void> lookup(std::string host, bool fixed, std::optional<asio::ip::address>& out4,
                               std::optional<asio::ip::address>& out6, std::string& error);
  asio::awaitable<void> entryLoop(std::size_t e);
  asio::awaitable<void> checkEntry(std::size_t e);
  asio::awaitable<CheckResult> runCheck(std::size_t e, Kind k);
};

void GroupManager::Impl::addNode(PoolNode p) {
  Node n;
  n.pool = std::move(p);
  try {
    std::vector<outbound::NodeConfig> hops = outbound::parseChain(n.pool.link);
    if (hops.empty()) throw outbound::LinkError("empty link");
    hops.back().name = n.pool.name;
    outbound::DialOptions checkOpts = dialOptions;
    checkOpts.connectTimeout = std::min(checkOpts.connectTimeout, options.checkTimeout);
    checkOpts.handshakeTimeout = std::min(checkOpts.handshakeTimeout, options.checkTimeout);
    if (hops.size() == 1) {
      n.dialer = outbound::makeDialer(hops[0], dialOptions);
      n.checkDialer = outbound::makeDialer(hops[0], checkOpts);
    } else {
      n.dialer = outbound::makeChainDialer(hops, dialOptions);
      n.checkDialer = outbound::makeChainDialer(hops, checkOpts);
    }
  } catch (const outbound::LinkError& e) {
    n.invalid = std::string("invalid link: ") + e.what();
  } catch (const outbound::OutboundError& e) {
    n.invalid = std::string("cannot build a dialer: ") + e.what();
  }
  byName.emplace(n.pool.name, nodes.size());
  if (!n.invalid.empty()) spdlog::warn("node '{}': {}; it will never be chosen", n.pool.name, n.invalid);
  else byDialer[n.dialer.get()] = nodes.size();
  nodes.push_back(std::move(n));
}

void GroupManager::Impl::build(const artifact::ConfigData& config) {
  for (const auto& n : config.nodes()) addNode(PoolNode{n.name(), n.link(), ""});
  for (auto& n : options.extraNodes) addNode(std::move(n));
  options.extraNodes.clear();
  std::vector<PoolNodeInfo> info;
  for (const auto& n : nodes) info.push_back({n.pool.name, n.pool.tag});

  const CheckSettings global = globalSettings(config);
  std::map<std::pair<std::size_t, std::size_t>, std::size_t> entryOf;  // (profile, node) -> entry
  for (const auto& g : config.groups()) {
    if (groupIndex.count(g.name())) throw GroupError("duplicate group '" + g.name() + "'");
    CheckSettings settings = groupSettings(global, g);
    Policy policy = parsePolicy(g.policy(), g.name());
    std::vector<FilterLine> lines = filterLines(g);
    std::vector<SelectedMember> selected = selectMembers(g.name(), lines, info);

    std::size_t p = 0;
    while (p < profiles.size() && !profiles[p].settings.sameChecks(settings)) ++p;
    if (p == profiles.size()) {
      Profile pr;
      pr.settings = settings;
      profiles.push_back(std::move(pr));
    }
    if (settings.tcp.tls && !tls) tls = outbound::makeTlsContext(dialOptions);

    std::size_t gi = groups.size();
    std::vector<Member> members;
    std::vector<std::size_t> memberNode;
    for (const auto& s : selected) {
      auto [it, fresh] = entryOf.try_emplace({p, s.node}, entries.size());
      if (fresh) {
        Entry en;
        en.node = s.node;
        en.profile = p;
        entries.push_back(std::move(en));
        book.addEntry();
        profiles[p].entries.push_back(it->second);
        nodes[s.node].entries.push_back(it->second);
      }
      entries[it->second].members.emplace_back(gi, members.size());
      members.push_back(Member{it->second, s.addLatency, nodes[s.node].pool.name});
      memberNode.push_back(s.node);
    }
    if (selected.empty())
      spdlog::warn("group '{}': its filter matches none of the {} node(s) of the pool", g.name(), nodes.size());
    groups.push_back(Group{g.name(), p, std::move(lines),
                           Selector(g.name(), policy, g.fixed_index(), settings.tolerance, std::move(members)),
                           std::move(memberNode)});
    groupIndex[g.name()] = gi;
  }
  for (std::size_t e = 0; e < entries.size(); ++e) {
    const Node& n = nodes[entries[e].node];
    for (Kind k : kAllKinds) {
      std::string why;
      if (!n.invalid.empty()) why = n.invalid;
      else if (isUdp(k) && !n.dialer->supportsUdp()) why = "no UDP support (" + n.dialer->describe() + ")";
      if (why.empty()) continue;
      book.setIncapable(e, k, why);
      entries[e].capable[kindIndex(k)] = false;
    }
  }
  for (auto& g : groups) g.selector.refreshAll(book);
}

const GroupManager::Impl::Group& GroupManager::Impl::group(const std::string& name) const {
  auto it = groupIndex.find(name);
  if (it != groupIndex.end()) return groups[it->second];
  std::string known;
  for (const auto& g : groups) known += (known.empty() ? "" : ", ") + g.name;
  throw GroupError("unknown group '" + name + "'" + (known.empty() ? " (no groups are defined)" : "; groups: " + known));
}

void GroupManager::Impl::record(std::size_t e, Kind k, const CheckResult& r) {
  std::vector<LogLine> lines;
  const std::string& name = nodes[entries[e].node].pool.name;
  {
    std::lock_guard lock(mu);
    bool flipped = r.ok ? book.recordSuccess(e, k, r.latency) : book.recordFailure(e, k, r.error);
    if (flipped && r.ok)
      lines.push_back({spdlog::level::info, fmt::format("node '{}' [{}] is up again ({})", name, kindName(k),
                                                        formatLatency(r.latency))});
    else if (flipped)
      lines.push_back({spdlog::level::warn, fmt::format("node '{}' [{}] is down: {}", name, kindName(k), r.error)});
    for (auto [g, member] : entries[e].members) {
      Selector& sel = groups[g].selector;
      if (auto sw = sel.refreshMember(book, k, member))
        lines.push_back({sw->to ? spdlog::level::info : spdlog::level::warn, sel.describe(*sw)});
    }
  }
  if (spdlog::should_log(spdlog::level::debug)) {
    if (r.ok) spdlog::debug("check node '{}' [{}]: {}", name, kindName(k), formatLatency(r.latency));
    else spdlog::debug("check node '{}' [{}] failed: {}", name, kindName(k), r.error);
  }
  for (const auto& l : lines) spdlog::log(l.level, "{}", l.text);
}

asio::awaitable<void> GroupManager::Impl::lookup(std::string host, bool fixed, std::optional<asio::ip::address>& out4,
                                                 std::optional<asio::ip::address>& out6, std::string& error) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  if (!ec || fixed) co_return;  // an address, or fixed addresses given: no lookup (as upstream)
  asio::ip::tcp::resolver resolver(strand);
  const std::string service;
  auto results = co_await resolver.async_resolve(host, service, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    error = "cannot resolve '" + host + "': " + ec.message();
    spdlog::warn("groups: health checks: {}", error);
    co_return;
  }
  for (const auto& r : results) {
    auto a = r.endpoint().address();
    if (a.is_v4() && !out4) out4 = a;
    if (a.is_v6() && !out6) out6 = a;
  }
}

asio::awaitable<void> GroupManager::Impl::resolve(Profile& pr) {
  pr.resolveError.clear();
  pr.tcp4 = pr.settings.tcp.ip4;
  pr.tcp6 = pr.settings.tcp.ip6;
  pr.dns4 = pr.settings.dns.ip4;
  pr.dns6 = pr.settings.dns.ip6;
  auto tcp = lookup(pr.settings.tcp.host, pr.tcp4 || pr.tcp6, pr.tcp4, pr.tcp6, pr.resolveError);
  co_await std::move(tcp);
  auto dns = lookup(pr.settings.dns.host, pr.dns4 || pr.dns6, pr.dns4, pr.dns6, pr.resolveError);
  co_await std::move(dns);
}

asio::awaitable<void> GroupManager::Impl::profileLoop(std::size_t p) {
  auto self = shared_from_this();
  Profile& pr = profiles[p];
  pr.timer = std::make_unique<asio::steady_timer>(strand);
  while (!stopped) {
    co_await resolve(pr);
    if (!pr.spawned) {
      pr.spawned = true;
      for (std::size_t e : pr.entries) asio::co_spawn(strand, entryLoop(e), logLoopEnd);
    }
    auto needsLookup = [](const std::string& host, bool fixed) {
      boost::system::error_code ec;
      asio::ip::make_address(host, ec);
      return ec && !fixed;
    };
    if (!needsLookup(pr.settings.tcp.host, pr.settings.tcp.ip4 || pr.settings.tcp.ip6) &&
        !needsLookup(pr.settings.dns.host, pr.settings.dns.ip4 || pr.settings.dns.ip6))
      co_return;
    pr.timer->expires_after(std::chrono::seconds(pr.resolveError.empty() ? 300 : 10));
    boost::system::error_code ec;
    co_await pr.timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

asio::awaitable<void> GroupManager::Impl::entryLoop(std::size_t e) {
  auto self = shared_from_this();
  Entry& en = entries[e];
  en.timer = std::make_unique<asio::steady_timer>(strand);
  const auto interval = std::chrono::duration_cast<Clock::duration>(profiles[en.profile].settings.interval);
  en.nextDue = Clock::now();
  if (options.jitterFirstCheck) {
    auto spread = std::min<Clock::duration>(interval, std::chrono::seconds(5));
    std::uniform_int_distribution<Clock::rep> dist(0, std::max<Clock::rep>(spread.count() - 1, 0));
    en.nextDue += Clock::duration(dist(jitterRng));
  }
  while (!stopped) {
    while (!stopped && Clock::now() < en.nextDue) {
      en.timer->expires_at(en.nextDue);
      boost::system::error_code ec;
      co_await en.timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (stopped) break;
    en.lastStart = Clock::now();
    en.checking = true;
    co_await checkEntry(e);
    en.checking = false;
    en.nextDue = std::max(en.lastStart + interval, Clock::now());
  }
}

asio::awaitable<void> GroupManager::Impl::checkEntry(std::size_t e) {
  struct Join {
    explicit Join(asio::strand<asio::any_io_executor> s) : done(s) {}
    std::size_t remaining = 0;
    asio::steady_timer done;
  };
  auto self = shared_from_this();
  auto join = std::make_shared<Join>(strand);
  join->done.expires_at(Clock::time_point::max());
  for (Kind k : kAllKinds) {
    if (!entries[e].capable[kindIndex(k)]) continue;
    ++join->remaining;
    auto op = runCheck(e, k);
    asio::co_spawn(strand, std::move(op), [self, e, k, join](std::exception_ptr ep, CheckResult r) {
      if (ep) r = CheckResult{false, {}, "internal error: " + exceptionText(ep)};
      self->record(e, k, r);
      if (--join->remaining == 0) join->done.cancel();
    });
  }
  while (join->remaining > 0) {
    boost::system::error_code ec;
    co_await join->done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  std::lock_guard lock(mu);
  ++entries[e].rounds;
}

asio::awaitable<CheckResult> GroupManager::Impl::runCheck(std::size_t e, Kind k) {
  auto self = shared_from_this();
  const Profile& pr = profiles[entries[e].profile];
  const Node& node = nodes[entries[e].node];
  const bool udp = isUdp(k);
  const auto& addr = udp ? (isIpv6(k) ? pr.dns6 : pr.dns4) : (isIpv6(k) ? pr.tcp6 : pr.tcp4);
  if (!addr) {
    CheckResult r;
    const std::string& host = udp ? pr.settings.dns.host : pr.settings.tcp.host;
    r.error = std::string("no ") + (isIpv6(k) ? "IPv6" : "IPv4") + " address for the check host '" + host + "'" +
              (pr.resolveError.empty() ? "" : " (" + pr.resolveError + ")");
    co_return r;
  }
  if (!udp) {
    auto op = checkTcp(node.checkDialer, pr.settings.tcp, pr.settings.method, *addr, options.checkTimeout, tls);
    co_return co_await std::move(op);
  }
  auto op = checkUdp(node.checkDialer, pr.settings.dns, *addr, options.checkTimeout);
  co_return co_await std::move(op);
}

// ---- GroupManager ----------------------------------------------------------------

GroupManager::GroupManager(asio::any_io_executor ex, const artifact::ConfigData& config,
                           outbound::DialOptions dialOptions, ManagerOptions options)
    : impl_(std::make_shared<Impl>(ex, std::move(dialOptions), std::move(options))) {
  impl_->build(config);
}

GroupManager::~GroupManager() { stop(); }

void GroupManager::start() {
  if (impl_->stopped) throw GroupError("GroupManager::start() after stop()");
  if (impl_->started.exchange(true)) return;
  for (std::size_t p = 0; p < impl_->profiles.size(); ++p)
    asio::co_spawn(impl_->strand, impl_->profileLoop(p), logLoopEnd);
}

void GroupManager::stop() {
  if (impl_->stopped.exchange(true) || !impl_->started) return;
  asio::post(impl_->strand, [self = impl_] {
    for (auto& p : self->profiles)
      if (p.timer) p.timer->cancel();
    for (auto& e : self->entries)
      if (e.timer) e.timer->cancel();
  });
}

std::shared_ptr<outbound::Dialer> GroupManager::pick(const std::string& group, Kind kind) {
  std::lock_guard lock(impl_->mu);
  const Impl::Group& g = impl_->group(group);
  auto m = g.selector.pick(kind, impl_->rng);
  if (!m)
    throw GroupError("group '" + group + "': no usable node for " + std::string(kindName(kind)) + ": " +
                     g.selector.unusableReason(impl_->book, kind));
  return impl_->nodes[g.memberNode[*m]].dialer;
}

void GroupManager::reportFailure(const std::string& group, const std::shared_ptr<outbound::Dialer>& node) {
  auto it = impl_->byDialer.find(node.get());
  if (it == impl_->byDialer.end()) {
    spdlog::debug("group '{}': reportFailure for a dialer that is not a node of the pool", group);
    return;
  }
  if (!impl_->started || impl_->stopped) return;
  asio::post(impl_->strand, [self = impl_, n = it->second, group] {
    const auto gap = std::chrono::duration_cast<Clock::duration>(self->options.minRecheckGap);
    for (std::size_t e : self->nodes[n].entries) {
      Impl::Entry& en = self->entries[e];
      if (!en.timer || en.checking) continue;
      auto due = std::max(Clock::now(), en.lastStart + gap);
      if (due >= en.nextDue) continue;
      spdlog::info("group '{}': a dial through node '{}' failed; re-checking it", group, self->nodes[n].pool.name);
      en.nextDue = due;
      en.timer->cancel();
    }
  });
}

namespace {

std::string pad(std::string s, std::size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s + ' ';
}

}  // namespace

std::string GroupManager::describe() const {
  const Impl& im = *impl_;
  std::lock_guard lock(im.mu);
  std::string out = fmt::format("pool: {} node(s), {} group(s)\n", im.nodes.size(), im.groups.size());
  for (const auto& n : im.nodes)
    if (!n.invalid.empty()) out += fmt::format("  node '{}': {}\n", n.pool.name, n.invalid);
  for (const auto& g : im.groups) {
    const Selector& sel = g.selector;
    const CheckSettings& cs = im.profiles[g.profile].settings;
    std::string policy(policyName(sel.policy()));
    if (sel.policy() == Policy::Fixed) policy += "(" + std::to_string(sel.fixedIndex()) + ")";
    out += fmt::format("group '{}': policy {}, tolerance {}, {} node(s); checks every {}: {} {} (tcp), {} (udp)\n",
                       g.name, policy, formatLatency(sel.tolerance()), sel.members().size(),
                       formatLatency(cs.interval), cs.method, cs.tcp.raw.substr(0, cs.tcp.raw.find(',')),
                       cs.dns.raw.substr(0, cs.dns.raw.find(',')));
    for (const auto& f : g.filters) out += "  filter: " + describeLine(f) + "\n";
    out += "  chosen:";
    for (Kind k : kAllKinds) {
      if (sel.policy() == Policy::Random) {
        out += fmt::format(" {} random of {}", kindName(k), sel.usableCount(k));
      } else {
        auto c = sel.chosen(k);
        out += fmt::format(" {} {}", kindName(k), c ? "'" + sel.members()[*c].name + "'" : std::string("none"));
      }
      out += k == Kind::Udp6 ? "\n" : ",";
    }
    std::size_t width = 4;
    for (const auto& m : sel.members()) width = std::max(width, std::min<std::size_t>(m.name.size() + 10, 40));
    out += "  " + pad("node", width);
    for (Kind k : kAllKinds) out += pad(std::string(kindName(k)), 12);
    out += "\n";
    std::string errors;
    for (std::size_t i = 0; i < sel.members().size(); ++i) {
      const Member& m = sel.members()[i];
      std::string label = m.name;
      if (m.addLatency.count() != 0)
        label += std::string(" [") + (m.addLatency.count() > 0 ? "+" : "") + formatLatency(m.addLatency) + "]";
      out += "  " + pad(label, width);
      for (Kind k : kAllKinds) {
        const KindStats& st = im.book.stats(m.entry, k);
        std::string cell = sel.chosen(k) == i ? "*" : "";
        if (!st.capable) cell += "n/a";
        else if (st.checks == 0) cell += "?";
        else if (!st.alive) cell += "down";
        else if (auto ns = st.metricNs(usesLatency(sel.policy()) ? sel.policy() : Policy::Min)) cell += formatLatencyNs(*ns);
        out += pad(cell, 12);
        if (st.capable && st.checks > 0 && !st.alive)
          errors += fmt::format("    {} {}: {}\n", m.name, kindName(k), st.lastError);
      }
      out += "\n";
    }
    out += errors;
  }
  return out;
}

std::vector<NodeKindStatus> GroupManager::nodeStatus() const {
  const Impl& im = *impl_;
  std::lock_guard lock(im.mu);
  std::vector<NodeKindStatus> out;
  for (const auto& g : im.groups) {
    const Selector& sel = g.selector;
    for (std::size_t i = 0; i < sel.members().size(); ++i) {
      const Member& m = sel.members()[i];
      for (Kind k : kAllKinds) {
        const KindStats& st = im.book.stats(m.entry, k);
        NodeKindStatus n{g.name, m.name, k, st.usable(), sel.chosen(k) == i, std::nullopt};
        if (st.capable && st.checks > 0 && st.alive)
          if (auto ns = st.metricNs(usesLatency(sel.policy()) ? sel.policy() : Policy::Min))
            n.latency = std::chrono::nanoseconds(*ns);
        out.push_back(std::move(n));
      }
    }
  }
  return out;
}

std::vector<std::string> GroupManager::groupNames() const {
  std::vector<std::string> out;
  for (const auto& g : impl_->groups) out.push_back(g.name);
  return out;
}

std::vector<std::string> GroupManager::memberNames(const std::string& group) const {
  std::vector<std::string> out;
  for (const auto& m : impl_->group(group).selector.members()) out.push_back(m.name);
  return out;
}

std::string GroupManager::nodeName(const std::shared_ptr<outbound::Dialer>& node) const {
  auto it = impl_->byDialer.find(node.get());
  return it == impl_->byDialer.end() ? std::string() : impl_->nodes[it->second].pool.name;
}

std::optional<std::string> GroupManager::chosen(const std::string& group, Kind kind) const {
  std::lock_guard lock(impl_->mu);
  const Impl::Group& g = impl_->group(group);
  auto m = g.selector.chosen(kind);
  if (!m) return std::nullopt;
  return g.selector.members()[*m].name;
}

void GroupManager::recordCheck(const std::string& node, Kind kind, std::optional<std::chrono::nanoseconds> latency,
                               const std::string& error) {
  auto [first, last] = impl_->byName.equal_range(node);
  if (first == last) throw GroupError("recordCheck: no node named '" + node + "' in the pool");
  const CheckResult r{latency.has_value(), latency.value_or(std::chrono::nanoseconds(0)), latency ? "" : error};
  for (auto it = first; it != last; ++it)
    for (std::size_t e : impl_->nodes[it->second].entries)
      if (impl_->entries[e].capable[kindIndex(kind)]) impl_->record(e, kind, r);
}

bool GroupManager::checkedAtLeast(std::uint64_t rounds) const {
  std::lock_guard lock(impl_->mu);
  for (const auto& e : impl_->entries)
    if (e.rounds < rounds) return false;
  return true;
}

}  // namespace dae::group
