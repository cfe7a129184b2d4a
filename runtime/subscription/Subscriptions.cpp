#include "subscription/Subscriptions.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <set>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "artifact.pb.h"
#include "subscription/Body.h"
#include "subscription/Fetch.h"
#include "subscription/Store.h"

namespace dae::subscription {

namespace asio = boost::asio;

struct Subscriptions::Result {
  SourceStatus status;
  std::vector<group::PoolNode> nodes;
};

namespace {

std::string exceptionText(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  }
}

// "subscription 'tag' (https://host/path?…)" or, untagged, "subscription https://host/path?…".
std::string label(const Source& s) {
  std::string url = redactUrl(s.link);
  return s.tag.empty() ? "subscription " + url : "subscription '" + s.tag + "' (" + url + ")";
}

std::string nodesText(std::size_t n) { return std::to_string(n) + (n == 1 ? " node" : " nodes"); }

std::string utcText(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

// Parses a body and fills the result; false (and `error`) when it has no usable node.
bool useBody(const Source& source, std::string_view body, Origin origin, SourceStatus& st,
             std::vector<group::PoolNode>& nodes, std::string& error) {
  ParsedBody parsed;
  try {
    parsed = parseBody(body);
  } catch (const BodyError& e) {
    error = e.what();
    return false;
  }
  if (parsed.nodes.empty()) {
    error = "no usable node in the " + std::string(formatName(parsed.format)) + " (" +
            std::to_string(parsed.warnings.size()) + " entries skipped" +
            (parsed.warnings.empty() ? "" : ", the first: " + parsed.warnings.front()) + ")";
    return false;
  }
  for (const auto& w : parsed.warnings) spdlog::warn("{}: skipped {}", label(source), w);
  st.origin = origin;
  st.format = std::string(formatName(parsed.format));
  st.nodes = parsed.nodes.size();
  st.skipped = parsed.warnings.size();
  nodes.clear();
  for (auto& n : parsed.nodes) nodes.push_back(group::PoolNode{std::move(n.name), std::move(n.link), source.tag});
  return true;
}

}  // namespace

std::string_view originName(Origin o) noexcept {
  switch (o) {
    case Origin::Fetched: return "fetched";
    case Origin::File: return "file";
    case Origin::Persisted: return "persisted copy";
    case Origin::Kept: return "kept from the previous refresh";
    case Origin::Failed: return "failed";
  }
  return "?";
}

std::vector<Source> sourcesOf(const artifact::ConfigData& config) {
  std::vector<Source> out;
  for (const auto& s : config.subscriptions()) out.push_back(Source{s.tag(), s.link()});
  return out;
}

SourceLink parseSourceLink(const Source& source) {
  std::string_view link = source.link;
  while (!link.empty() && std::isspace(static_cast<unsigned char>(link.front()))) link.remove_prefix(1);
  while (!link.empty() && std::isspace(static_cast<unsigned char>(link.back()))) link.remove_suffix(1);
  auto sep = link.find("://");
  if (sep == std::string_view::npos || sep == 0)
    throw SubscriptionError("'" + redactUrl(link) + "' is not a subscription link (http://, https://, file://, "
                            "http-file://, https-file://)");
  std::string scheme(link.substr(0, sep));
  for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  SourceLink out;
  if (scheme == "http" || scheme == "https") {
    out.url = std::string(link);
  } else if (scheme == "http-file" || scheme == "https-file") {
    if (source.tag.empty())
      throw SubscriptionError(scheme + ":// needs a tag, which names its persisted copy: write `my_tag: '" +
                              redactUrl(link) + "'`");
    if (!validPersistTag(source.tag))
      throw SubscriptionError("the tag '" + source.tag + "' cannot name the persisted copy of an " + scheme +
                              ":// subscription (it must be a plain file name)");
    out.persist = true;
    out.url = scheme.substr(0, scheme.size() - 5) + std::string(link.substr(sep));
  } else if (scheme == "file") {
    out.kind = SourceLink::Kind::File;
    out.url = std::string(link);
  } else {
    throw SubscriptionError("unsupported subscription scheme '" + scheme +
                            "://' (http, https, http-file, https-file, file)");
  }
  return out;
}

Subscriptions::Subscriptions(Options options) : options_(std::move(options)) {}
Subscriptions::~Subscriptions() = default;

asio::awaitable<void> Subscriptions::resolveOne(const Source& source, Result& out) {
  SourceStatus& st = out.status;
  st.source = source;
  st.origin = Origin::Failed;
  SourceLink link;
  try {
    link = parseSourceLink(source);
  } catch (const SubscriptionError& e) {
    st.error = e.what();
    spdlog::warn("{}: {}; no nodes from it", label(source), st.error);
    co_return;
  }

  if (link.kind == SourceLink::Kind::File) {
    std::string error;
    try {
      auto path = resolveFileLink(options_.configDir, link.url);
      std::string body = readSubscriptionFile(options_.configDir, path, options_.maxBytes);
      if (useBody(source, body, Origin::File, st, out.nodes, error)) {
        st.bodyTime = std::chrono::system_clock::now();
        spdlog::info("{}: {} ({}, {}{})", label(source), nodesText(st.nodes), originName(st.origin), st.format,
                     st.skipped ? ", " + std::to_string(st.skipped) + " skipped" : "");
        co_return;
      }
    } catch (const StoreError& e) {
      error = e.what();
    }
    st.error = error;
    spdlog::warn("{}: {}; no nodes from it", label(source), error);
    co_return;
  }

  std::string fetchError;
  FetchResult fetched;
  try {
    FetchOptions fo;
    fo.dialer = options_.dialer;
    fo.soMark = options_.soMark;
    fo.extraCaFile = options_.extraCaFile;
    fo.timeout = options_.timeout;
    fo.maxBytes = options_.maxBytes;
    fo.maxRedirects = options_.maxRedirects;
    if (options_.resolve)
      fo.resolve = [resolve = options_.resolve, source](std::string host) { return resolve(std::move(host), source); };
    std::string url = link.url;
    auto op = fetchHttp(std::move(url), std::move(fo));
    fetched = co_await std::move(op);
  } catch (const FetchError& e) {
    fetchError = e.what();
  }
  if (fetchError.empty() && useBody(source, fetched.body, Origin::Fetched, st, out.nodes, fetchError)) {
    st.bodyTime = std::chrono::system_clock::now();
    std::string persisted;
    if (link.persist) {
      PersistStore store(options_.configDir);
      try {
        store.write(source.tag, fetched.body);
        persisted = ", saved to " + store.pathFor(source.tag).string();
      } catch (const StoreError& e) {
        spdlog::warn("{}: cannot persist the body: {}", label(source), e.what());
      }
    }
    spdlog::info("{}: {} ({}, {}{}{})", label(source), nodesText(st.nodes), originName(st.origin), st.format,
                 st.skipped ? ", " + std::to_string(st.skipped) + " skipped" : "", persisted);
    co_return;
  }
  st.error = fetchError;

  if (link.persist) {
    PersistStore store(options_.configDir);
    std::string why;
    try {
      if (auto copy = store.read(source.tag, options_.maxBytes)) {
        if (useBody(source, copy->body, Origin::Persisted, st, out.nodes, why)) {
          st.bodyTime = std::chrono::time_point_cast<std::chrono::system_clock::duration>(
              std::chrono::file_clock::to_sys(copy->modified));
          spdlog::warn("{}: fetch failed: {}; using the persisted copy {} (saved {}): {} ({})", label(source),
                       fetchError, copy->path.string(), utcText(st.bodyTime), nodesText(st.nodes), st.format);
          co_return;
        }
        why = "the persisted copy " + copy->path.string() + " is unusable: " + why;
      } else {
        why = "no persisted copy at " + store.pathFor(source.tag).string();
      }
    } catch (const StoreError& e) {
      why = e.what();
    }
    st.error += "; " + why;
  }

  {
    std::lock_guard lock(mu_);
    auto it = previous_.find({source.tag, source.link});
    if (it != previous_.end() && !it->second.empty()) {
      out.nodes = it->second;
      st.origin = Origin::Kept;
      st.nodes = out.nodes.size();
      for (const auto& old : status_)
        if (old.source.tag == source.tag && old.source.link == source.link) {
          st.format = old.format;
          st.bodyTime = old.bodyTime;
        }
    }
  }
  if (st.origin == Origin::Kept) {
    spdlog::warn("{}: fetch failed: {}; keeping the {} of the previous refresh", label(source), st.error,
                 nodesText(st.nodes));
    co_return;
  }
  spdlog::warn("{}: fetch failed: {}; no nodes from it", label(source), st.error);
}

asio::awaitable<std::vector<group::PoolNode>> Subscriptions::refreshAsync(std::vector<Source> sources) {
  if (refreshing_.exchange(true)) throw SubscriptionError("a subscription refresh is already running");
  struct Done {
    std::atomic<bool>& flag;
    ~Done() { flag = false; }
  } done{refreshing_};
  // Everything of one refresh (the workers and their join) runs on one strand, so
  // that the caller's executor may have several threads.
  auto ex = co_await asio::this_coro::executor;  // named first (GCC 12 and temporaries in co_await)
  auto strand = asio::make_strand(ex);
  auto op = asio::co_spawn(strand, refreshOnStrand(std::move(sources)), asio::use_awaitable);
  co_return co_await std::move(op);
}

asio::awaitable<std::vector<group::PoolNode>> Subscriptions::refreshOnStrand(std::vector<Source> sources) {
  auto strand = co_await asio::this_coro::executor;
  std::vector<Result> results(sources.size());
  struct Join {
    explicit Join(asio::any_io_executor s) : finished(s) {}
    std::size_t next = 0, running = 0;
    asio::steady_timer finished;
  };
  auto join = std::make_shared<Join>(strand);
  join->finished.expires_at(asio::steady_timer::time_point::max());
  const std::size_t workers = std::min(std::max<std::size_t>(options_.concurrency, 1), sources.size());
  auto worker = [this, &sources, &results, join]() -> asio::awaitable<void> {
    while (join->next < sources.size()) {
      std::size_t i = join->next++;
      try {
        co_await resolveOne(sources[i], results[i]);
      } catch (const std::exception& e) {
        results[i].status.source = sources[i];
        results[i].status.origin = Origin::Failed;
        results[i].status.error = std::string("internal error: ") + e.what();
        results[i].nodes.clear();
        spdlog::error("{}: {}", label(sources[i]), results[i].status.error);
      }
    }
  };
  for (std::size_t w = 0; w < workers; ++w) {
    ++join->running;
    asio::co_spawn(strand, worker(), [join](std::exception_ptr e) {
      if (e) spdlog::error("subscriptions: a fetch worker ended with an error: {}", exceptionText(e));
      if (--join->running == 0) join->finished.cancel();
    });
  }
  while (join->running > 0) {
    boost::system::error_code ec;
    co_await join->finished.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }

  std::vector<group::PoolNode> nodes;
  std::set<std::string> persistTags;
  std::map<std::pair<std::string, std::string>, std::vector<group::PoolNode>> previous;
  std::vector<SourceStatus> status;
  for (std::size_t i = 0; i < sources.size(); ++i) {
    try {
      if (parseSourceLink(sources[i]).persist) persistTags.insert(sources[i].tag);
    } catch (const SubscriptionError&) {
      // Already reported by resolveOne; such a source has no persisted copy to keep.
    }
    if (!results[i].nodes.empty()) previous[{sources[i].tag, sources[i].link}] = results[i].nodes;
    nodes.insert(nodes.end(), results[i].nodes.begin(), results[i].nodes.end());
    status.push_back(results[i].status);
  }
  if (!options_.configDir.empty()) {
    for (const auto& p : PersistStore(options_.configDir).removeExcept(persistTags))
      spdlog::info("subscriptions: removed {} (no http-file/https-file subscription has its tag any more)", p.string());
  }
  {
    std::lock_guard lock(mu_);
    previous_ = std::move(previous);
    status_ = std::move(status);
  }
  if (!sources.empty()) spdlog::info("subscriptions: {} from {} source(s)", nodesText(nodes.size()), sources.size());
  co_return nodes;
}

std::vector<group::PoolNode> Subscriptions::refresh(const std::vector<Source>& sources) {
  asio::io_context io;
  std::vector<group::PoolNode> nodes;
  std::exception_ptr failure;
  asio::co_spawn(io, refreshAsync(sources), [&](std::exception_ptr e, std::vector<group::PoolNode> result) {
    failure = e;
    nodes = std::move(result);
  });
  io.run();
  if (failure) std::rethrow_exception(failure);
  return nodes;
}

std::vector<SourceStatus> Subscriptions::status() const {
  std::lock_guard lock(mu_);
  return status_;
}

std::string Subscriptions::describe() const {
  std::string out;
  for (const auto& s : status()) {
    out += label(s.source) + ": " + nodesText(s.nodes) + " (" + std::string(originName(s.origin));
    if (!s.format.empty()) out += ", " + s.format;
    if (s.skipped) out += ", " + std::to_string(s.skipped) + " skipped";
    if (s.bodyTime.time_since_epoch().count() != 0) out += ", " + utcText(s.bodyTime);
    out += ")";
    if (!s.error.empty()) out += ": " + s.error;
    out += "\n";
  }
  return out;
}

}  // namespace dae::subscription
