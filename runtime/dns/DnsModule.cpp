#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <algorithm>
#include <fstream>
#include <sstream>

#include "dns/Geo.h"
#include "dns/ModuleImpl.h"

namespace dae::dns {
namespace {

std::set<std::string> upstreamNames(const artifact::Dns& dns) {
  std::set<std::string> out;
  for (const auto& u : dns.upstreams()) out.insert(u.name());
  return out;
}

// Whether an encoded name (followed by type and class) uses a compression pointer.
bool hasPointer(const std::string& wire) {
  size_t pos = 0;
  while (pos < wire.size() && wire[pos] != 0) {
    uint8_t len = static_cast<uint8_t>(wire[pos]);
    if ((len & 0xC0) != 0) return true;
    pos += 1u + len;
  }
  return false;
}

// The question bytes of the reply are made those of the client (0x20 case, cached
// answers asked with another case).
void patchQuestion(std::string& wire, const std::string& question) {
  if (wire.size() < kHeaderSize + question.size()) return;
  for (size_t i = 0; i < question.size(); ++i) {
    char a = wire[kHeaderSize + i], b = question[i];
    if (a != b && (a | 0x20) != (b | 0x20)) return;
  }
  wire.replace(kHeaderSize, question.size(), question);
}

std::string queryFor(uint16_t id, const std::string& question) {
  std::string q;
  q.reserve(kHeaderSize + question.size() + 11);
  const char head[kHeaderSize] = {static_cast<char>(id >> 8), static_cast<char>(id & 0xFF), 0x01, 0, 0, 1, 0, 0, 0, 0,
                                  0, 1};
  q.append(head, kHeaderSize);
  q += question;
  const char opt[11] = {0, 0, static_cast<char>(kTypeOPT), 0x04, static_cast<char>(0xD0), 0, 0, 0, 0, 0, 0};  // 1232
  q.append(opt, sizeof opt);
  return q;
}

QuestionKey makeKey(std::string_view name, uint16_t type) {
  QuestionKey q;
  q.name = canonicalName(name);
  if (!appendName(q.wire, q.name)) throw UpstreamError("'" + std::string(name) + "' is not a valid DNS name");
  q.wire.push_back(static_cast<char>(type >> 8));
  q.wire.push_back(static_cast<char>(type & 0xFF));
  q.wire.push_back(0);
  q.wire.push_back(static_cast<char>(kClassIN));
  q.type = type;
  q.key = cacheKey(q.name, type, kClassIN);
  return q;
}

std::vector<asio::ip::udp::endpoint> parseServers(const std::vector<std::string>& texts) {
  std::vector<asio::ip::udp::endpoint> out;
  for (const auto& t : texts) {
    std::string host = t;
    uint16_t port = 53;
    if (!t.empty() && t[0] == '[') {
      auto close = t.find(']');
      host = t.substr(1, close == std::string::npos ? std::string::npos : close - 1);
      if (close != std::string::npos && close + 2 < t.size() && t[close + 1] == ':')
        port = static_cast<uint16_t>(std::stoi(t.substr(close + 2)));
    } else if (std::count(t.begin(), t.end(), ':') == 1) {
      host = t.substr(0, t.find(':'));
      port = static_cast<uint16_t>(std::stoi(t.substr(t.find(':') + 1)));
    }
    if (auto pct = host.find('%'); pct != std::string::npos) host.resize(pct);  // fe80::1%eth0
    boost::system::error_code ec;
    auto a = asio::ip::make_address(host, ec);
    if (ec) throw std::invalid_argument("bootstrap resolver '" + t + "' is not an IP address");
    out.emplace_back(a, port);
  }
  return out;
}

DnsOptions withGeodata(DnsOptions o) {
  if (!o.geo.site && !o.geo.ip) o.geo = geodataResolvers(geodataSearchPath(o.geodataDirs));
  return o;
}

std::vector<std::string> resolvConfServers() {
  std::vector<std::string> out;
  std::ifstream in("/etc/resolv.conf");
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string key, value;
    if (words >> key >> value && key == "nameserver") out.push_back(value);
  }
  return out;
}

}  // namespace

void logDetached(const char* what, std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    spdlog::warn("DNS {}: {}", what, x.what());
  }
}

BindSpec parseBind(const std::string& text) {
  BindSpec b;
  std::string rest = text;
  if (rest.rfind("udp://", 0) == 0) {
    b.tcp = false;
    rest = rest.substr(6);
  } else if (rest.rfind("tcp://", 0) == 0) {
    b.udp = false;
    rest = rest.substr(6);
  } else if (rest.rfind("tcp+udp://", 0) == 0) {
    rest = rest.substr(10);
  }
  std::string host, port;
  if (!rest.empty() && rest[0] == '[') {
    auto close = rest.find(']');
    if (close == std::string::npos || close + 1 >= rest.size() || rest[close + 1] != ':')
      throw std::invalid_argument("dns.bind '" + text + "': expected [IPv6]:PORT");
    host = rest.substr(1, close - 1);
    port = rest.substr(close + 2);
  } else {
    auto colon = rest.rfind(':');
    if (colon == std::string::npos) throw std::invalid_argument("dns.bind '" + text + "': expected IP:PORT");
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  boost::system::error_code ec;
  b.address = asio::ip::make_address(host, ec);
  if (ec) throw std::invalid_argument("dns.bind '" + text + "': '" + host + "' is not an IP address");
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port) > 65535)
    throw std::invalid_argument("dns.bind '" + text + "': bad port '" + port + "'");
  b.port = static_cast<uint16_t>(std::stoi(port));
  return b;
}

DnsModule::Impl::Impl(asio::any_io_executor executor, const loader::Artifact& a, int domainMapFd, DnsOptions options)
    : ex(std::move(executor)),
      opt(withGeodata(std::move(options))),
      request(a.config.dns().request(), true, upstreamNames(a.config.dns()), opt.geo),
      response(a.config.dns().response(), false, upstreamNames(a.config.dns()), opt.geo),
      cache(CacheOptions{static_cast<size_t>(std::max<int64_t>(0, a.config.dns().max_cache_size())),
                         a.config.dns().optimistic_cache(),
                         std::chrono::seconds(std::max<int64_t>(0, a.config.dns().optimistic_cache_ttl()))}),
      map(domainMapFd, std::max<uint32_t>(1, a.meta.domain_words())) {
  const auto& dns = a.config.dns();
  for (const auto& u : dns.upstreams()) {
    UpstreamSpec s = UpstreamSpec::fromArtifact(u);
    if (!s.supported())
      spdlog::warn("DNS upstream '{}' ({}): the {}:// scheme is not supported; queries routed to it fail", s.name,
                   s.url(), s.scheme);
    upstreams.emplace(s.name, std::move(s));
  }
  for (const auto& kv : dns.fixed_domain_ttl()) {
    try {
      fixedTtl[canonicalName(kv.key())] = static_cast<uint32_t>(std::stoul(kv.value()));
    } catch (const std::exception&) {
      throw std::invalid_argument("fixed_domain_ttl '" + kv.key() + "': bad TTL '" + kv.value() + "'");
    }
  }
  ipPrefer = dns.ipversion_prefer();
  if (a.rules.domain_sets_size() > 0 && map.enabled()) {
    try {
      domains = std::make_unique<DomainMatcher>(a.rules);
    } catch (const std::exception& e) {
      spdlog::error("DNS: domain() rules cannot be evaluated ({}); answers are not written to dae_domain_map",
                    e.what());
    }
  }
  dial.soMark = opt.soMark;
  dial.pickNode = opt.pickNode;
  dial.tls = opt.tls;
  dial.timeout = opt.upstreamTimeout;
  routeFlow = opt.routeFlow ? opt.routeFlow : makeKernelRouteFn(a);
  if (!dns.bind().empty()) binds.push_back(parseBind(dns.bind()));
  bootstrapServers = parseServers(opt.bootstrap.empty() ? resolvConfServers() : opt.bootstrap);
}

void DnsModule::Impl::warnLimited(const std::string& key, const std::string& message) {
  auto t = now();
  auto it = lastWarning.find(key);
  if (it != lastWarning.end() && t - it->second < std::chrono::minutes(1)) return;
  lastWarning[key] = t;
  spdlog::warn("{}", message);
}

// ---- queries ---------------------------------------------------------------------------

bool DnsModule::Impl::prepare(std::string_view query, const ClientInfo& from, Prepared& p, std::string& reply) {
  ++st.queries;
  // Most queries have the simple shape; anything else goes through the full parser.
  SimpleQuery sq;
  if (!parseSimpleQuery(query, sq)) {
    ParseResult pr = parse(query);
    if (!pr) {
      ++st.malformed;
      // Answer FORMERR to something that looks like a query; drop the rest.
      if (query.size() >= kHeaderSize && !(static_cast<uint8_t>(query[2]) & 0x80))
        reply = buildEmptyReply(query, Rcode::FormErr);
      return true;
    }
    const Message& m = *pr.message;
    if (m.isResponse()) return true;
    if (m.questions.size() != 1) {
      reply = buildEmptyReply(query, Rcode::FormErr);
      return true;
    }
    uint16_t id = 0, flags = 0, qd = 0;
    parseQuestion(query, id, flags, qd, sq.question, &sq.questionEnd);
    sq.id = m.id;
    sq.flags = m.flags;
    sq.udpLimit = m.udpLimit();
  }
  if (sq.flags & kFlagQR) return true;  // a response, not a query
  if (((sq.flags >> 11) & 0xF) != 0) {
    reply = buildEmptyReply(query, Rcode::NotImp);
    return true;
  }
  const Question& q = sq.question;
  p.q.wire.assign(query.substr(kHeaderSize, sq.questionEnd - kHeaderSize));
  if (hasPointer(p.q.wire)) {
    // A compressed question name (legal, if odd) is rebuilt uncompressed.
    std::string w;
    if (!appendName(w, q.name)) {
      reply = buildEmptyReply(query, Rcode::FormErr);
      return true;
    }
    w.append(p.q.wire, p.q.wire.size() - 4, 4);
    p.q.wire = std::move(w);
  }
  p.q.name = canonicalName(q.name);
  p.q.type = q.type;
  p.q.qclass = q.qclass;
  p.q.key = cacheKey(p.q.name, q.type, q.qclass);
  p.id = sq.id;
  p.rd = (sq.flags & kFlagRD) != 0;
  p.tcp = from.tcp;
  p.udpLimit = from.tcp ? kMaxMessage : sq.udpLimit;

  // Our own upstream query coming back?
  if (!sent.empty()) {
    auto range = sent.equal_range(sq.id);
    for (auto it = range.first; it != range.second; ++it)
      if (it->second->key == p.q.key) {
        ++st.loops;
        warnLimited("loop " + it->second->report.upstream, loopMessage(it->second->report));
        reply = buildEmptyReply(query, Rcode::ServFail);
        return true;
      }
  }
  if (bootstrapping.count(p.q.name)) {
    ++st.loops;
    LoopReport r;
    r.kind = LoopKind::Bootstrap;
    r.query = p.q.text();
    for (const auto& [name, up] : upstreams)
      if (canonicalName(up.host) == p.q.name) {
        r.upstream = name;
        r.url = up.url();
      }
    if (!bootstrapServers.empty()) {
      r.address = bootstrapServers.front().address().to_string();
      r.port = bootstrapServers.front().port();
    }
    warnLimited("bootstrap loop " + p.q.name, loopMessage(r));
    reply = buildEmptyReply(query, Rcode::ServFail);
    return true;
  }
  RequestQuery rq{p.q.name, p.q.type, nullptr};
  p.decision = request.route(rq);
  if (p.decision.kind == Decision::Kind::Reject) {
    ++st.rejected;
    reply = buildEmptyReply(query, Rcode::NoError);
    return true;
  }
  return false;  // p.query is filled by the caller when it takes the slow path
}

std::string DnsModule::Impl::finish(std::string reply, const Prepared& p) const {
  if (!p.tcp && reply.size() > p.udpLimit) return truncateForUdp(std::move(reply), p.udpLimit);
  return reply;
}

void DnsModule::Impl::writeMap(const std::string& name, const std::vector<std::array<uint8_t, 16>>& addresses) {
  if (!domains || addresses.empty()) return;
  uint32_t words = map.words();
  uint32_t small[32] = {};
  std::vector<uint32_t> big;
  uint32_t* bits = small;
  if (words > 32) {
    big.assign(words, 0);
    bits = big.data();
  }
  domains->match(name, bits, words);
  bool any = false;
  for (uint32_t w = 0; w < words; ++w) any |= bits[w] != 0;
  if (!any) return;
  uint64_t before = map.writes();
  map.write(addresses, bits);
  st.mapWrites += map.writes() - before;
}

std::optional<std::string> DnsModule::Impl::fromCache(const Prepared& p) {
  if (ipPrefer != 0 && p.q.type == (ipPrefer == 4 ? kTypeAAAA : kTypeA)) return std::nullopt;
  std::string out;
  CacheEntry* e = nullptr;
  Clock::time_point t = now();
  Cache::State s = cache.lookup(p.q.key, t, p.id, out, &e);
  if (s == Cache::State::Miss) return std::nullopt;
  ++st.cacheHits;
  // The addresses were written when the entry was stored; write them again now and
  // then in case the map lost them (a reload replaces it).
  if (!e->addresses.empty() && t - e->mapWritten > std::chrono::seconds(10)) {
    e->mapWritten = t;
    writeMap(p.q.name, e->addresses);
  }
  if (s == Cache::State::Stale) {
    ++st.staleHits;
    if (!refreshing.count(p.q.key)) {
      refreshing.insert(p.q.key);
      auto self = shared_from_this();
      QuestionKey q = p.q;
      Decision d = p.decision;
      ClientInfo none;
      asio::co_spawn(ex, refresh(self, q, d, none), [](std::exception_ptr e) { logDetached("refresh", e); });
    }
  }
  patchQuestion(out, p.q.wire);
  return finish(std::move(out), p);
}

asio::awaitable<void> DnsModule::Impl::refresh(std::shared_ptr<Impl> self, QuestionKey q, Decision d, ClientInfo from) {
  std::string error;
  try {
    std::string wire = co_await self->fetch(q, d, from);
    (void)wire;
  } catch (const std::exception& e) {
    error = e.what();
  }
  self->refreshing.erase(q.key);
  if (!error.empty()) self->warnLimited("refresh " + q.key, "DNS: refreshing " + q.text() + " failed: " + error);
}

asio::awaitable<std::string> DnsModule::Impl::answer(std::string query, ClientInfo from) {
  Prepared p;
  std::string reply;
  if (prepare(query, from, p, reply)) co_return reply;
  if (auto cached = fromCache(p)) co_return std::move(*cached);
  p.query = query;
  co_return co_await finishSlow(p, from);
}

asio::awaitable<bool> DnsModule::Impl::preferredExists(const Prepared& p, const ClientInfo& from) {
  uint16_t preferred = ipPrefer == 4 ? kTypeA : kTypeAAAA;
  QuestionKey q = p.q;
  q.wire[q.wire.size() - 4] = static_cast<char>(preferred >> 8);
  q.wire[q.wire.size() - 3] = static_cast<char>(preferred & 0xFF);
  q.type = preferred;
  q.key = cacheKey(q.name, preferred, q.qclass);
  Decision d = p.decision;
  ClientInfo f = from;
  std::string wire, error;
  try {
    wire = co_await resolveKey(q, d, f);
  } catch (const std::exception& e) {
    error = e.what();
  }
  if (!error.empty()) {
    // The preferred family is unknown: the question is answered as asked.
    spdlog::debug("DNS: ipversion_prefer: {} failed: {}", q.text(), error);
    co_return false;
  }
  ParseResult pr = parse(wire);
  if (!pr) co_return false;
  for (const auto& r : pr.message->answers)
    if (r.type == preferred) co_return true;
  co_return false;
}

asio::awaitable<std::string> DnsModule::Impl::finishSlow(Prepared p, ClientInfo from) {
  if (ipPrefer != 0 && p.q.type == (ipPrefer == 4 ? kTypeAAAA : kTypeA) && p.q.qclass == kClassIN) {
    bool other = co_await preferredExists(p, from);
    if (other) co_return finish(buildEmptyReply(p.query, Rcode::NoError), p);
    // Without the preferred family the question is answered as asked (from the cache
    // when possible).
    std::string out;
    if (cache.lookup(p.q.key, now(), p.id, out) != Cache::State::Miss) {
      ++st.cacheHits;
      patchQuestion(out, p.q.wire);
      co_return finish(std::move(out), p);
    }
  }
  std::string wire, error;
  try {
    wire = co_await resolveKey(p.q, p.decision, from);
  } catch (const std::exception& e) {
    error = e.what();
  }
  if (!error.empty()) {
    ++st.upstreamFailures;
    warnLimited("fail " + p.q.key, "DNS: " + p.q.text() + ": " + error);
    co_return finish(buildEmptyReply(p.query, Rcode::ServFail), p);
  }
  setId(wire, p.id);
  patchQuestion(wire, p.q.wire);
  co_return finish(std::move(wire), p);
}

asio::awaitable<std::string> DnsModule::Impl::resolveKey(QuestionKey q, Decision d, ClientInfo from) {
  std::string out;
  if (cache.lookup(q.key, now(), 0, out) != Cache::State::Miss) co_return out;
  if (auto it = inflight.find(q.key); it != inflight.end()) {
    std::shared_ptr<Inflight> f = it->second;
    if (from.fromHost) f->hostJoined = true;
    boost::system::error_code ec;
    co_await f->done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!f->error.empty()) throw UpstreamError(f->error);
    co_return f->wire;
  }
  auto f = std::make_shared<Inflight>(ex);
  inflight.emplace(q.key, f);
  try {
    f->wire = co_await fetch(q, d, from);
  } catch (const std::exception& e) {
    f->error = e.what();
  }
  inflight.erase(q.key);
  f->done.cancel();
  if (!f->error.empty()) {
    if (f->hostJoined && f->error.find("no answer within") != std::string::npos)
      warnLimited("loop? " + q.key,
                  "DNS: " + q.text() + " timed out while this host asked the same question: probably a DNS loop (" +
                      f->error + "); see the routing advice in docs/dns.md");
    throw UpstreamError(f->error);
  }
  co_return f->wire;
}

asio::awaitable<std::string> DnsModule::Impl::fetch(QuestionKey q, Decision d, ClientInfo from) {
  std::set<std::string> asked;
  std::string wire;
  Decision cur = d;
  for (int depth = 0;; ++depth) {
    Target t = co_await target(cur, from);
    uint16_t id = static_cast<uint16_t>(rng());
    std::string query = queryFor(id, q.wire);
    Sent s;
    s.key = q.key;
    s.report.kind = LoopKind::CameBack;
    s.report.upstream = t.spec.name;
    s.report.url = t.spec.url();
    s.report.address = t.address.to_string();
    s.report.port = t.spec.port;
    s.report.route = t.route;
    s.report.query = q.text();
    auto reg = sent.emplace(id, &s);
    ++st.upstreamQueries;
    std::string error;
    try {
      wire = co_await exchange(t.spec, t.address, t.route, query, dial, t.forceTcp);
    } catch (const std::exception& e) {
      error = e.what();
    }
    sent.erase(reg);
    if (!error.empty()) throw UpstreamError(error);
    ParseResult pr = parse(wire);
    if (!pr) throw UpstreamError("DNS upstream '" + t.spec.name + "' sent a malformed answer: " + pr.error);
    const Message& m = *pr.message;
    std::vector<std::array<uint8_t, 16>> addresses;
    for (const auto& r : m.answers)
      if (r.address) addresses.push_back(*r.address);
    ResponseView view{q.name, q.type, t.spec.name, &addresses};
    Decision rd = response.route(view);
    if (rd.kind == Decision::Kind::Reject) {
      ++st.rejected;
      co_return buildEmptyReply(query, Rcode::NoError);
    }
    asked.insert(t.spec.name);
    if (rd.kind == Decision::Kind::Upstream && depth < opt.reResolveDepth && !asked.count(rd.upstream)) {
      spdlog::debug("DNS: {} from '{}' matches response rule '{}': asking '{}'", q.text(), t.spec.name,
                    response.describe(rd.rule), rd.upstream);
      cur = rd;
      continue;
    }
    // Accepted: cache it and tell the kernel about the addresses, then answer.
    auto fixed = fixedTtl.find(q.name);
    std::optional<uint32_t> fixedValue;
    if (fixed != fixedTtl.end()) fixedValue = fixed->second;
    writeMap(q.name, addresses);
    std::optional<uint32_t> ttl = cacheTtl(m, fixedValue);
    if (ttl && m.questions[0].type == q.type && m.questions[0].qclass == q.qclass) {
      CacheEntry e = makeEntry(wire, m, *ttl, fixedValue.has_value(), now());
      e.mapWritten = now();
      e.upstream = t.spec.name;
      cache.insert(q.key, std::move(e));
    }
    if (fixedValue) setAllTtls(wire, m, *fixedValue);
    co_return wire;
  }
}

// ---- upstreams ----------------------------------------------------------------------------

FlowRoute DnsModule::Impl::routeFor(uint8_t proto, const asio::ip::address& a, uint16_t port, const std::string& host) {
  std::string key = std::to_string(proto) + " " + a.to_string() + " " + std::to_string(port) + " " + host;
  auto it = routes.find(key);
  if (it != routes.end()) return it->second;
  FlowRoute r = routeFlow(proto, a, port, host);
  spdlog::info("DNS upstream {} {}:{}{}: routed to {} by {}{}", proto == 6 ? "tcp" : "udp", a.to_string(), port,
               host.empty() ? "" : " (" + host + ")", r.outbound, r.rule.empty() ? "default" : r.rule,
               r.mark ? " mark " + std::to_string(r.mark) : "");
  routes.emplace(key, r);
  return r;
}

bool DnsModule::Impl::isOwnListener(const asio::ip::address& a, uint16_t port, bool udp) const {
  for (const auto& b : binds) {
    if (b.port != port || !(udp ? b.udp : b.tcp)) continue;
    if (b.address == a) return true;
    if (b.address.is_unspecified() && (a.is_loopback() || a.is_unspecified())) return true;
  }
  return false;
}

asio::awaitable<asio::ip::address> DnsModule::Impl::upstreamAddress(const UpstreamSpec& up) {
  boost::system::error_code ec;
  auto literal = asio::ip::make_address(up.host, ec);
  if (!ec) co_return literal;
  std::string name = canonicalName(up.host);
  auto it = hosts.find(name);
  if (it != hosts.end() && it->second.expires > now() && !it->second.addresses.empty())
    co_return it->second.addresses.front();
  std::string who = up.name;
  std::vector<asio::ip::address> addrs = co_await bootstrapResolve(name, who);
  co_return addrs.front();
}

asio::awaitable<std::vector<asio::ip::address>> DnsModule::Impl::bootstrapResolve(std::string name,
                                                                                  std::string forWhom) {
  if (bootstrapServers.empty())
    throw UpstreamError("cannot resolve '" + name + "' for " + forWhom +
                        ": no bootstrap resolver (no nameserver in /etc/resolv.conf)");
  bootstrapping.insert(name);
  std::vector<asio::ip::address> v4, v6;
  uint32_t ttl = 300;
  std::string error;
  for (uint16_t type : {kTypeA, kTypeAAAA}) {
    for (const auto& server : bootstrapServers) {
      UpstreamSpec spec;
      spec.name = "bootstrap";
      spec.scheme = "udp";
      spec.host = server.address().to_string();
      spec.port = server.port();
      std::string query = buildQuery(static_cast<uint16_t>(rng()), name, type);
      FlowRoute direct;
      asio::ip::address addr = server.address();
      try {
        std::string wire = co_await exchange(spec, addr, direct, query, dial);
        ParseResult pr = parse(wire);
        if (!pr) throw UpstreamError("malformed answer: " + pr.error);
        for (const auto& r : pr.message->answers) {
          if (!r.address || r.type != type) continue;
          asio::ip::address_v6::bytes_type b;
          std::copy(r.address->begin(), r.address->end(), b.begin());
          asio::ip::address_v6 a6(b);
          if (a6.is_v4_mapped()) v4.push_back(asio::ip::make_address_v4(asio::ip::v4_mapped, a6));
          else v6.push_back(a6);
          ttl = std::min(ttl, std::max<uint32_t>(r.ttl, 30));
        }
        break;
      } catch (const std::exception& e) {
        error = e.what();
      }
    }
  }
  bootstrapping.erase(name);
  std::vector<asio::ip::address> all(v4.begin(), v4.end());
  all.insert(all.end(), v6.begin(), v6.end());
  if (all.empty())
    throw UpstreamError("cannot resolve '" + name + "' for " + forWhom + " with the bootstrap resolvers" +
                        (error.empty() ? "" : ": " + error));
  hosts[name] = Resolved{all, now() + std::chrono::seconds(ttl)};
  co_return all;
}

asio::awaitable<DnsModule::Impl::Target> DnsModule::Impl::target(const Decision& d, const ClientInfo& from) {
  Target t;
  if (d.kind == Decision::Kind::Upstream) {
    auto it = upstreams.find(d.upstream);
    if (it == upstreams.end()) throw UpstreamError("unknown DNS upstream '" + d.upstream + "'");
    t.spec = it->second;
    t.address = co_await upstreamAddress(t.spec);
    bool udp = t.spec.usesUdp();
    if (isOwnListener(t.address, t.spec.port, udp)) {
      LoopReport r;
      r.kind = LoopKind::OwnListener;
      r.upstream = t.spec.name;
      r.url = t.spec.url();
      throw UpstreamError(loopMessage(r));
    }
    boost::system::error_code ec;
    asio::ip::make_address(t.spec.host, ec);
    t.route = routeFor(udp ? 17 : 6, t.address, t.spec.port, ec ? t.spec.host : std::string());
    co_return t;
  }
  // asis: the server the client asked, dialled as the kernel routed the client's flow;
  // queries without one (dns.bind, the runtime's own) go to the bootstrap resolvers.
  t.spec.name = "asis";
  t.spec.scheme = from.tcp ? "tcp" : "udp";
  t.forceTcp = from.tcp;
  if (!from.destination.is_unspecified()) {
    t.address = from.destination;
    t.spec.port = from.destinationPort;
    t.route.outbound = from.outbound.empty() ? "direct" : from.outbound;
    t.route.mark = from.mark;
    t.route.rule = "the client's own flow";
  } else if (!bootstrapServers.empty()) {
    t.address = bootstrapServers.front().address();
    t.spec.port = bootstrapServers.front().port();
    t.route.rule = "bootstrap";
  } else {
    throw UpstreamError("asis: the query has no original server and there is no bootstrap resolver");
  }
  t.spec.host = t.address.to_string();
  if (isOwnListener(t.address, t.spec.port, !from.tcp)) {
    LoopReport r;
    r.kind = LoopKind::OwnListener;
    r.upstream = "asis";
    r.url = t.spec.url();
    throw UpstreamError(loopMessage(r));
  }
  co_return t;
}

void DnsModule::Impl::checkLoops() {
  for (const auto& [name, up] : upstreams) {
    if (!up.supported()) continue;
    boost::system::error_code ec;
    auto a = asio::ip::make_address(up.host, ec);
    if (ec) continue;  // a name: checked when it is resolved
    LoopReport r;
    r.upstream = name;
    r.url = up.url();
    r.address = a.to_string();
    r.port = up.port;
    if (isOwnListener(a, up.port, up.usesUdp())) {
      r.kind = LoopKind::OwnListener;
      spdlog::error("{}", loopMessage(r));
      continue;
    }
    r.route = routeFor(up.usesUdp() ? 17 : 6, a, up.port, {});
    // The runtime's sockets carry so_mark_from_dae and are never captured; without a
    // mark, port-53 traffic under a rule that is not must comes straight back.
    if (r.route.dns && opt.soMark == 0) {
      r.kind = LoopKind::Hijacked;
      spdlog::error("{}", loopMessage(r));
    }
    if (r.route.outbound == "block")
      spdlog::error("DNS upstream '{}' ({}): its traffic is blocked by {}; queries routed to it fail", name, up.url(),
                    r.route.rule);
  }
}

// ---- the public face -----------------------------------------------------------------------

DnsModule::DnsModule(asio::any_io_executor ex, const loader::Artifact& artifact, int domainMapFd, DnsOptions options)
    : impl_(std::make_shared<Impl>(std::move(ex), artifact, domainMapFd, std::move(options))) {}

DnsModule::~DnsModule() { stop(); }

void DnsModule::start() {
  impl_->stopped = false;
  if (impl_->opt.openBindListeners) impl_->openListeners();
  impl_->checkLoops();
  impl_->startSweeper();
}

void DnsModule::stop() {
  Impl& m = *impl_;
  m.stopped = true;
  boost::system::error_code ec;
  for (auto& s : m.udpSockets) s->close(ec);
  for (auto& a : m.acceptors) a->close(ec);
  // Destroying the timer aborts the sweeper's wait (it then returns without touching
  // it); a later start() begins a new one.
  m.sweeper.reset();
}

asio::awaitable<std::string> DnsModule::answer(std::string query, ClientInfo from) {
  std::shared_ptr<Impl> self = impl_;
  co_return co_await self->answer(query, from);
}

namespace {
asio::awaitable<std::string> finishLater(std::shared_ptr<DnsModule::Impl> self, Prepared p, ClientInfo from) {
  co_return co_await self->finishSlow(p, from);
}
}  // namespace

std::optional<std::string> DnsModule::answerFromCache(std::string_view query, const ClientInfo& from,
                                                      std::optional<asio::awaitable<std::string>>& rest) {
  Impl& m = *impl_;
  Prepared p;
  std::string reply;
  if (m.prepare(query, from, p, reply)) return reply;
  if (auto cached = m.fromCache(p)) return cached;
  p.query.assign(query);
  rest.emplace(finishLater(impl_, std::move(p), from));
  return std::nullopt;
}

bool DnsModule::sendFromListener(const asio::ip::udp::endpoint& from, const asio::ip::udp::endpoint& to,
                                 std::string_view reply) {
  for (const auto& s : impl_->udpSockets) {
    boost::system::error_code ec;
    if (s->local_endpoint(ec) != from || ec) continue;
    s->send_to(asio::buffer(reply.data(), reply.size()), to, 0, ec);
    if (ec && ec != asio::error::would_block)
      spdlog::debug("DNS udp reply to {}: {}", to.address().to_string(), ec.message());
    return true;
  }
  return false;
}

asio::awaitable<std::vector<asio::ip::address>> DnsModule::resolve(std::string host, InternalLookup who) {
  std::shared_ptr<Impl> self = impl_;
  boost::system::error_code ec;
  auto literal = asio::ip::make_address(host, ec);
  if (!ec) co_return std::vector<asio::ip::address>{literal};
  std::vector<asio::ip::address> out;
  std::string lastError;
  for (uint16_t type : {kTypeA, kTypeAAAA}) {
    QuestionKey q = makeKey(host, type);
    RequestQuery rq{q.name, type, &who};
    Decision d = self->request.route(rq);
    if (d.kind == Decision::Kind::Reject) continue;
    ClientInfo from;
    from.fromHost = true;
    std::string wire;
    try {
      wire = co_await self->resolveKey(q, d, from);
    } catch (const std::exception& e) {
      lastError = e.what();
      continue;
    }
    ParseResult pr = parse(wire);
    if (!pr) continue;
    for (const auto& r : pr.message->answers) {
      if (!r.address || r.type != type) continue;
      asio::ip::address_v6::bytes_type b;
      std::copy(r.address->begin(), r.address->end(), b.begin());
      asio::ip::address_v6 a6(b);
      out.push_back(a6.is_v4_mapped() ? asio::ip::address(asio::ip::make_address_v4(asio::ip::v4_mapped, a6))
                                      : asio::ip::address(a6));
    }
  }
  if (out.empty())
    throw UpstreamError("cannot resolve '" + host + "'" + (lastError.empty() ? ": no address" : ": " + lastError));
  co_return out;
}

DnsStats DnsModule::stats() const {
  DnsStats s = impl_->st;
  s.cacheEntries = impl_->cache.size();
  return s;
}

}  // namespace dae::dns
