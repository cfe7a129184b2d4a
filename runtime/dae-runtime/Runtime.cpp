#include "dae-runtime/Runtime.h"

#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <sstream>

#include <spdlog/spdlog.h>

#include "artifact.pb.h"
#include "control/KernelEvents.h"
#include "control/MetricsServer.h"
#include "datapath/Datapath.h"
#include "driver/Pipeline.h"
#include "engine/Engine.h"
#include "engine/OutboundResolver.h"
#include "group/Groups.h"
#include "subscription/Subscriptions.h"

namespace dae::runtime {
namespace {

namespace asio = boost::asio;

// Older programs' tables are kept this long (in reloads) for the flows they decided.
constexpr size_t kKeptGenerations = 16;
// A refused program's verifier log is long; the caller sees its end.
constexpr size_t kVerifierLogLines = 40;

std::string globalOption(const loader::Artifact& a, const std::string& key) {
  for (const auto& kv : a.config.global())
    if (kv.key() == key) return kv.value();
  return "";
}

// What the groups are built from: two configs (and subscription node lists) with
// the same identity give the same groups, so a reload keeps the running ones (and
// their check history).
std::string groupsIdentity(const loader::Artifact& a, const std::vector<group::PoolNode>& subscriptionNodes) {
  static const char* unrelated[] = {"log_level",         "lan_interface",    "wan_interface",
                                    "tproxy_port_protect", "auto_config_kernel_parameter", "metrics_listen",
                                    "dial_mode",         "sniffing_timeout", "pprof_port"};
  artifact::ConfigData c = a.config;
  c.clear_dns();
  c.clear_global();
  for (const auto& kv : a.config.global())
    if (std::find(std::begin(unrelated), std::end(unrelated), kv.key()) == std::end(unrelated))
      *c.add_global() = kv;
  for (const auto& n : subscriptionNodes) {
    auto* node = c.add_nodes();
    node->set_name(n.tag + "\x1f" + n.name);
    node->set_link(n.link);
  }
  return c.SerializeAsString();
}

// Replaced domain-map fds kept open for answers still in flight in an old module.
constexpr size_t kRetiredDomainMaps = 4;

std::string lastLines(const std::string& text, size_t n) {
  size_t pos = text.size();
  for (size_t i = 0; i <= n && pos > 0; ++i) {
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) return text;
  }
  return "...\n" + text.substr(pos + 1);
}

std::string endpointText(const asio::ip::address& a, uint16_t port) {
  return a.is_v6() ? "[" + a.to_string() + "]:" + std::to_string(port) : a.to_string() + ":" + std::to_string(port);
}

std::string firstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

}  // namespace

ArtifactLoad loadArtifact(const ProgramSource& source) {
  ArtifactLoad out;
  if (!source.configPath.empty()) {
    driver::PipelineOptions opts;
    opts.geodataDirs = source.geodataDirs;
    driver::Compilation c(opts);
    bool ok = c.run(source.configPath);
    std::ostringstream diags;
    c.diags.print(diags);
    out.diagnostics = diags.str();
    if (!ok) {
      if (out.diagnostics.empty()) out.diagnostics = source.configPath + ": error: the compilation failed\n";
      return out;
    }
    try {
      out.artifact = std::make_shared<const loader::Artifact>(loader::Artifact::fromBytes(std::move(c.object)));
    } catch (const loader::LoadError& e) {
      out.diagnostics += source.configPath + ": error: " + e.what() + "\n";
    }
    return out;
  }
  try {
    out.artifact = std::make_shared<const loader::Artifact>(loader::Artifact::fromFile(source.programPath));
  } catch (const loader::LoadError& e) {
    out.diagnostics = std::string("error: ") + e.what() + "\n";
  }
  return out;
}

// A reload between the worker thread and the io thread.
struct Runtime::Prepared {
  uint16_t generation = 0;
  std::vector<group::PoolNode> subscriptionNodes;
  std::shared_ptr<const loader::Artifact> artifact;  // null: failed, see diagnostics
  std::string diagnostics;
  datapath::PreparedProgram program;
};

Runtime::Runtime(asio::io_context& io, ProgramSource source, std::shared_ptr<const loader::Artifact> artifact,
                 RuntimeOptions options)
    : io_(io),
      source_(std::move(source)),
      options_(std::move(options)),
      started_(std::chrono::steady_clock::now()),
      initial_(std::move(artifact)) {
  programs_[generation_] = initial_;
}

Runtime::~Runtime() {
  stop();
  worker_.join();  // a reload still compiling finishes first: it refers to this
  engine_.reset();
  groups_.reset();
  datapath_.reset();
}

void Runtime::applyLogLevel(const loader::Artifact& artifact) {
  std::string level = globalOption(artifact, "log_level");
  if (level.empty()) level = "info";
  if (level == "warning") level = "warn";
  if (level == "panic" || level == "fatal") level = "critical";
  spdlog::set_level(spdlog::level::from_str(level));
}

std::shared_ptr<group::GroupManager> Runtime::makeGroups(const loader::Artifact& artifact,
                                                         std::vector<group::PoolNode> subscriptionNodes) const {
  outbound::DialOptions dialOptions;
  dialOptions.soMark = datapath::optionsFromConfig(artifact).soMarkFromDae;
  group::ManagerOptions managerOptions;
  // The subscriptions' nodes join the pool (with their tags, for subtag()).
  managerOptions.extraNodes = std::move(subscriptionNodes);
  return std::make_shared<group::GroupManager>(io_.get_executor(), artifact.config, dialOptions,
                                               std::move(managerOptions));
}

void Runtime::openMetrics(const loader::Artifact& artifact) {
  std::string address = globalOption(artifact, "metrics_listen");
  if (address == metricsAddress_ && (metrics_ || address.empty())) return;
  metrics_.reset();
  metricsAddress_.clear();
  if (address.empty()) return;
  auto endpoint = control::parseListenAddress(address);
  metrics_ = std::make_unique<control::MetricsServer>(io_.get_executor(), endpoint,
                                                      [this] { return control::formatMetrics(snapshot()); });
  metricsAddress_ = address;
  spdlog::info("metrics: serving Prometheus text on http://{}/metrics", address);
}

const loader::Artifact* Runtime::program(uint16_t generation) const {
  auto it = programs_.find(generation);
  return it == programs_.end() ? nullptr : it->second.get();
}

std::string Runtime::outboundName(uint16_t generation, uint8_t outbound) const {
  const loader::Artifact* a = program(generation);
  if (a && outbound < a->outbounds.names_size()) return a->outbounds.names(outbound);
  return "#" + std::to_string(outbound) + "@" + std::to_string(generation);
}

std::string Runtime::ruleName(uint16_t generation, uint16_t ruleIndex) const {
  const loader::Artifact* a = program(generation);
  if (!a) return "#" + std::to_string(ruleIndex) + "@" + std::to_string(generation);
  std::string where = control::ruleLocation(*a, ruleIndex);
  if (ruleIndex >= a->meta.rule_count()) return where.empty() ? "fallback" : where + "(fallback)";
  return where.empty() ? "#" + std::to_string(ruleIndex) : where;
}

void Runtime::logConnection(const engine::ConnectionRecord& r) {
  std::string flow = std::string(r.udp ? "udp " : "tcp ") + endpointText(r.source, r.sourcePort) + " -> " +
                     endpointText(r.destination, r.destinationPort);
  std::string rule = ruleName(r.route.generation, r.route.rule);
  std::string domain = r.domain.empty() ? "-" : r.domain;
  auto ms = std::chrono::duration_cast<std::chrono::microseconds>(r.dialTime).count() / 1000.0;
  if (!r.error.empty()) {
    spdlog::warn("{} domain={} rule={} outbound={} node={} failed after {:.1f}ms: {}", flow, domain, rule,
                 r.route.outbound, r.via.empty() ? "-" : r.via, ms, r.error);
    return;
  }
  spdlog::info("{} domain={} rule={} outbound={} node={} latency={:.1f}ms", flow, domain, rule, r.route.outbound,
               r.via.empty() ? "-" : r.via, ms);
}

void Runtime::start() {
  applyLogLevel(*initial_);
  auto dpOptions = datapath::optionsFromConfig(*initial_);
  dpOptions.cgroupPath = options_.cgroupPath;
  // Subscriptions before anything is attached (as upstream): their nodes join the
  // pool of the groups; a failing one falls back to its persisted copy.
  subscription::Options subscriptionOptions;
  subscriptionOptions.configDir = options_.configDir;
  subscriptionOptions.soMark = dpOptions.soMarkFromDae;
  subscriptions_ = std::make_unique<subscription::Subscriptions>(subscriptionOptions);
  std::vector<group::PoolNode> subscriptionNodes = subscriptions_->refresh(subscription::sourcesOf(initial_->config));
  datapath_ = std::make_unique<datapath::Datapath>(*initial_, dpOptions, generation_);
  for (const auto& line : datapath_->describe()) spdlog::info("attached: {}", line);

  groupsIdentity_ = groupsIdentity(*initial_, subscriptionNodes);
  groups_ = makeGroups(*initial_, std::move(subscriptionNodes));
  groups_->start();

  // The groups may be replaced by a reload: every call goes to the current ones.
  auto picker = [this](const std::string& group, bool udp, bool ipv6) {
    using group::Kind;
    std::shared_ptr<group::GroupManager> groups = groups_;
    return groups->pick(group, udp ? (ipv6 ? Kind::Udp6 : Kind::Udp4) : (ipv6 ? Kind::Tcp6 : Kind::Tcp4));
  };
  auto onFailure = [this](const std::string& group, const std::shared_ptr<outbound::Dialer>& node) {
    std::shared_ptr<group::GroupManager> groups = groups_;
    groups->reportFailure(group, node);
  };
  auto nodeName = [this](const std::shared_ptr<outbound::Dialer>& node) {
    std::shared_ptr<group::GroupManager> groups = groups_;
    return groups->nodeName(node);
  };

  const auto& options = datapath_->options();
  engine::EngineOptions engineOptions;
  engineOptions.tproxyPort = options.tproxyPort;
  engineOptions.soMark = options.soMarkFromDae;
  // Kept by the datapath across reloads: the fds stay valid.
  engineOptions.routingMapFd = datapath_->stateMapFd("dae_routing_result");
  // The DNS module writes answers here. A reference of our own: the object that
  // created the map is closed by the first reload that does not hand it over.
  domainMap_ = datapath_->object().dupMap("dae_domain_map");
  engineOptions.domainMapFd = domainMap_.get();
  engineOptions.dns.pickNode = picker;
  engineOptions.dns.geodataDirs = source_.geodataDirs;  // geosite:/geoip: of the dns section
  engineOptions.outboundName = [this](uint16_t generation, uint8_t outbound) {
    return outboundName(generation, outbound);
  };
  engineOptions.onConnection = [this](const engine::ConnectionRecord& r) { logConnection(r); };
  engine_ = std::make_unique<engine::Engine>(
      io_, *initial_, engineOptions,
      engine::makeOutboundResolver(io_.get_executor(), options.soMarkFromDae, picker, onFailure, nodeName));
  engine_->start();

  if (int fd = datapath_->stateMapFd("dae_events"); fd >= 0) {
    events_ = std::make_unique<control::KernelEvents>(io_.get_executor(), fd, [this](const dae_event& e) {
      if (e.type == DAE_EVENT_DROP) {
        spdlog::debug("{}", control::formatEvent(e, "", ""));
        return;
      }
      spdlog::debug("{}", control::formatEvent(e, ruleName(e.generation, e.res.rule_index),
                                               outboundName(e.generation, e.res.outbound)));
    });
  }
  control_ = std::make_unique<control::ControlServer>(
      io_.get_executor(), options_.controlAddress,
      [this](const std::string& command, std::function<void(control::ControlReply)> reply) {
        handleCommand(command, std::move(reply));
      });
  openMetrics(*initial_);
  spdlog::info("dae-runtime running: {} rules ({}), tproxy_port {}, control socket {}", initial_->meta.rule_count(),
               initial_->meta.backend(), options.tproxyPort, options_.controlAddress);
}

void Runtime::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (control_) control_->close();
  if (metrics_) metrics_->close();
  if (events_) events_->stop();
  if (engine_) engine_->stop();
  if (groups_) groups_->stop();
}

void Runtime::handleCommand(const std::string& command, std::function<void(control::ControlReply)> reply) {
  if (command == "reload") {
    spdlog::info("reload requested over the control socket");
    reload(std::move(reply));
  } else if (command == "status") {
    reply({0, control::formatStatus(snapshot())});
  } else if (command == "metrics") {
    reply({0, control::formatMetrics(snapshot())});
  } else {
    reply({2, "dae-runtime: error: unknown command '" + command + "' (reload, status, metrics)\n"});
  }
}

void Runtime::reload(std::function<void(control::ControlReply)> done) {
  if (stopped_) {
    done({1, "dae-runtime: error: the runtime is stopping\n"});
    return;
  }
  if (reloading_) {
    done({1, "dae-runtime: error: a reload is already in progress\n"});
    return;
  }
  reloading_ = true;
  auto prepared = std::make_shared<Prepared>();
  prepared->generation = static_cast<uint16_t>(generation_ + 1 == 0 ? 1 : generation_ + 1);
  std::shared_ptr<const loader::Artifact> running = programs_.at(generation_);
  spdlog::info("reload: {} {}", source_.configPath.empty() ? "reading" : "compiling", source_.path());
  asio::post(worker_, [this, prepared, running, done = std::move(done)]() mutable {
    ArtifactLoad load = loadArtifact(source_);
    prepared->diagnostics = load.diagnostics;
    if (load.artifact) {
      try {
        // Blocking fetches are fine here; a failing one falls back (persisted copy,
        // or the nodes of the previous refresh) and never fails the reload.
        prepared->subscriptionNodes = subscriptions_->refresh(subscription::sourcesOf(load.artifact->config));
        if (load.artifact->meta.abi_version() != running->meta.abi_version())
          throw loader::LoadError("the new program was built for datapath ABI " +
                                      std::to_string(load.artifact->meta.abi_version()) + ", the running one for " +
                                      std::to_string(running->meta.abi_version()) + ": restart dae-runtime",
                                  "");
        auto options = datapath::optionsFromConfig(*load.artifact);
        options.cgroupPath = options_.cgroupPath;
        prepared->program = datapath_->prepare(*load.artifact, options, prepared->generation);
        prepared->artifact = load.artifact;
      } catch (const loader::LoadError& e) {
        prepared->diagnostics += source_.path() + ": error: " + e.what() + "\n";
        if (!e.log().empty()) prepared->diagnostics += lastLines(e.log(), kVerifierLogLines) + "\n";
      } catch (const std::exception& e) {
        prepared->diagnostics += source_.path() + ": error: " + e.what() + "\n";
      }
    }
    asio::post(io_, [this, prepared, done = std::move(done)]() mutable { finishReload(prepared, std::move(done)); });
  });
}

void Runtime::failReload(const std::string& diagnostics, std::function<void(control::ControlReply)> done) {
  ++reloadsFailed_;
  lastReloadError_ = firstLine(diagnostics);
  std::istringstream lines(diagnostics);
  for (std::string line; std::getline(lines, line);) spdlog::error("reload: {}", line);
  std::string text = diagnostics + "dae-runtime: reload failed; the running program (generation " +
                     std::to_string(generation_) + ") is unchanged\n";
  spdlog::error("reload failed; the running program (generation {}) is unchanged", generation_);
  done({1, std::move(text)});
}

void Runtime::finishReload(std::shared_ptr<Prepared> prepared, std::function<void(control::ControlReply)> done) {
  reloading_ = false;
  if (stopped_) {
    done({1, "dae-runtime: error: the runtime is stopping\n"});
    return;
  }
  if (!prepared->artifact) {
    failReload(prepared->diagnostics, std::move(done));
    return;
  }
  const loader::Artifact& next = *prepared->artifact;

  // Groups before the swap: a bad group option fails the reload while nothing has changed.
  std::shared_ptr<group::GroupManager> newGroups;
  std::string identity = groupsIdentity(next, prepared->subscriptionNodes);
  if (identity != groupsIdentity_) {
    try {
      newGroups = makeGroups(next, std::move(prepared->subscriptionNodes));
    } catch (const std::exception& e) {
      failReload(prepared->diagnostics + source_.path() + ": error: " + e.what() + "\n", std::move(done));
      return;
    }
  }

  std::unique_ptr<loader::BpfObject> previous;
  try {
    previous = datapath_->commit(std::move(prepared->program));
  } catch (const std::exception& e) {
    failReload(prepared->diagnostics + source_.path() + ": error: cannot swap the program in: " + e.what() + "\n",
               std::move(done));
    return;
  }
  uint16_t before = generation_;
  generation_ = prepared->generation;
  programs_[generation_] = prepared->artifact;
  // Ids wrap at 65536: age is the distance back from the running generation.
  for (auto it = programs_.begin(); it != programs_.end();)
    it = static_cast<uint16_t>(generation_ - it->first) >= kKeptGenerations ? programs_.erase(it) : std::next(it);
  if (newGroups) {
    newGroups->start();
    std::shared_ptr<group::GroupManager> old = std::exchange(groups_, newGroups);
    old->stop();
    groupsIdentity_ = identity;
  }
  applyLogLevel(next);
  std::string warnings;
  // The DNS module follows the new program: its dns section, its rules (which route
  // the module's own upstream connections) and its dae_domain_map.
  try {
    loader::UniqueFd domainMap = datapath_->object().dupMap("dae_domain_map");
    engine_->reloadDns(next, domainMap.get());
    retiredDomainMaps_.push_back(std::exchange(domainMap_, std::move(domainMap)));
    while (retiredDomainMaps_.size() > kRetiredDomainMaps) retiredDomainMaps_.pop_front();
  } catch (const std::exception& e) {
    warnings += std::string("warning: ") + e.what() + "; DNS keeps the previous configuration\n";
    spdlog::error("reload: {}; DNS keeps the previous configuration", e.what());
  }
  try {
    openMetrics(next);
  } catch (const std::exception& e) {
    warnings += std::string("warning: metrics endpoint: ") + e.what() + "\n";
    spdlog::warn("reload: metrics endpoint: {}", e.what());
  }
  // Nothing is attached to the old program any more; its state maps live on in the new one.
  previous.reset();

  ++reloadsOk_;
  std::string summary = "reloaded: generation " + std::to_string(before) + " -> " + std::to_string(generation_) +
                        ", " + std::to_string(next.meta.rule_count()) + " rules + fallback (" + next.meta.backend() +
                        ") from " + source_.path() + "; groups " + (newGroups ? "rebuilt" : "kept") + "\n";
  spdlog::info("{}", summary.substr(0, summary.size() - 1));
  done({0, prepared->diagnostics + warnings + summary});
}

control::StatusSnapshot Runtime::snapshot() const {
  control::StatusSnapshot s;
  s.pid = static_cast<int>(getpid());
  s.uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_);
  s.source = source_.path();
  s.generation = generation_;
  const loader::Artifact& a = *programs_.at(generation_);
  s.backend = a.meta.backend();
  s.reloadsOk = reloadsOk_;
  s.reloadsFailed = reloadsFailed_;
  s.lastReloadError = lastReloadError_;
  if (datapath_) {
    for (const auto& at : datapath_->attachments())
      s.attachments.push_back({at.interface, at.hook, at.mode, at.program, at.programId});
    auto hits = loader::readRuleHits(datapath_->object().mapFd("dae_rule_hits"), a.meta.rule_count() + 1);
    s.rules = control::ruleRows(a, hits);
  }
  if (subscriptions_) s.subscriptions = subscriptions_->describe();
  if (groups_) {
    s.groups = groups_->describe();
    for (const auto& n : groups_->nodeStatus()) {
      control::NodeKindRow row{n.group, n.node, std::string(group::kindName(n.kind)), n.usable, n.chosen, std::nullopt};
      if (n.latency) row.latencySeconds = std::chrono::duration<double>(*n.latency).count();
      s.nodes.push_back(std::move(row));
    }
  }
  if (engine_) {
    const auto& c = engine_->counters();
    s.connections.tcpActive = c.tcpActive;
    s.connections.tcpTotal = c.tcpAccepted;
    s.connections.tcpFailed = c.tcpFailed;
    s.connections.udpActive = c.udpActive;
    s.connections.udpTotal = c.udpSessions;
    s.connections.udpPackets = c.udpPackets;
  }
  if (events_) s.kernelEvents = events_->count();
  return s;
}

}  // namespace dae::runtime
