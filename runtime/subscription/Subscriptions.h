// Subscriptions: the config's `subscription { }` entries -> nodes for the group pool.
//
// This library owns
//   * fetching each source: http:// and https:// (Fetch.h: Beast over an
//     outbound::Dialer, direct with so_mark_from_dae by default), file:// (Store.h:
//     relative to the config directory),
//   * reading the body in every format (Body.h: SIP008 JSON, link list, base64),
//   * the `-file` variants (http-file://, https-file://, a tag required): the body of
//     every successful fetch is persisted as CONFIG_DIR/persist.d/TAG.sub and read
//     back when a later fetch fails,
//   * the fallback policy and its log lines, and status for `dae-runtime status`.
// It does not own the node pool: GroupManager takes the nodes as
// ManagerOptions::extraNodes (tag = the subscription's tag, for subtag()), builds
// their dialers and applies the groups' filters. See docs/subscriptions.md.
//
// Per source, in order:
//   fetch ok and >= 1 usable node  -> those nodes (and, for -file, a new persisted copy)
//   fetch failed, or no usable node -> -file: the persisted copy, if any;
//                                      else the nodes this object got from the same
//                                      source at its previous refresh (a reload keeps
//                                      working through a network outage), if any;
//                                      else none (a warning; never fatal)
// file:// sources have no fallback: the file is the user's own copy.
//
// Thread safety: status() and describe() may be called from any thread; one refresh
// at a time (a second concurrent one throws SubscriptionError).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <utility>  // before Boost.Asio 1.74 headers (std::exchange)
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>

#include "group/Groups.h"
#include "outbound/Dialer.h"

namespace dae::artifact {
class ConfigData;
}

namespace dae::subscription {

class SubscriptionError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One entry of the subscription section: `'link'` or `tag: 'link'`.
struct Source {
  std::string tag;  // "" when untagged
  std::string link;
};
std::vector<Source> sourcesOf(const artifact::ConfigData& config);

// What a link asks for.
struct SourceLink {
  enum class Kind { Http, File } kind = Kind::Http;
  bool persist = false;  // http-file:// or https-file://
  std::string url;       // http(s) URL to fetch (the "-file" removed), or the file:// link
};
// Throws SubscriptionError for an unknown scheme or a -file link without a tag.
SourceLink parseSourceLink(const Source& source);

// The runtime's lookup of a subscription's host (e.g. the DNS module, whose
// sub() rules route it). Throws on failure.
using SourceResolver = std::function<boost::asio::awaitable<std::vector<boost::asio::ip::address>>(
    std::string host, Source source)>;

struct Options {
  std::filesystem::path configDir;           // file:// and persist.d/ are relative to it
  std::shared_ptr<outbound::Dialer> dialer;  // how fetches connect; null: direct with soMark
  std::uint32_t soMark = 0;                  // so_mark_from_dae, on the direct dialer's sockets
  std::string extraCaFile;                   // trusted besides the system store; "": $DAE_EXTRA_CA
  SourceResolver resolve;                    // null: the system resolver
  std::chrono::milliseconds timeout{30000};  // per source, redirects included (upstream: 30 s)
  std::size_t maxBytes = 10u << 20;          // largest body accepted
  int maxRedirects = 5;
  std::size_t concurrency = 4;  // sources fetched at the same time (upstream: 4)
};

// Where a source's nodes came from at the last refresh.
enum class Origin {
  Fetched,    // the URL answered
  File,       // a file:// source
  Persisted,  // the fetch failed; the persisted copy was used
  Kept,       // the fetch failed; the nodes of the previous refresh were kept
  Failed,     // no nodes
};
std::string_view originName(Origin o) noexcept;  // "fetched", "file", "persisted copy", "kept", "failed"

struct SourceStatus {
  Source source;
  Origin origin = Origin::Failed;
  std::string format;  // formatName() of the body used; "" when none
  std::size_t nodes = 0;
  std::size_t skipped = 0;  // lines/entries of the body that were not usable
  std::string error;        // why the fetch/read failed (also when a fallback was used)
  std::chrono::system_clock::time_point bodyTime{};  // when the body used was obtained (persisted: file time)
};

class Subscriptions {
 public:
  explicit Subscriptions(Options options);
  ~Subscriptions();
  Subscriptions(const Subscriptions&) = delete;
  Subscriptions& operator=(const Subscriptions&) = delete;

  // Resolves every source (at most options.concurrency at a time) and returns the
  // nodes for the pool, in source order then body order. Blocks: it runs a private
  // io_context; call it where blocking is fine (start-up, a reload worker thread).
  std::vector<group::PoolNode> refresh(const std::vector<Source>& sources);
  // The same on the awaiting coroutine's executor, without blocking it.
  boost::asio::awaitable<std::vector<group::PoolNode>> refreshAsync(std::vector<Source> sources);

  // One entry per source of the last refresh.
  std::vector<SourceStatus> status() const;
  // "subscription 'tag' https://host/path?…: 12 nodes (fetched, base64 link list, 1 skipped)" per source.
  std::string describe() const;

 private:
  struct Result;
  boost::asio::awaitable<std::vector<group::PoolNode>> refreshOnStrand(std::vector<Source> sources);
  boost::asio::awaitable<void> resolveOne(const Source& source, Result& out);
  Options options_;
  std::atomic<bool> refreshing_{false};
  mutable std::mutex mu_;
  std::vector<SourceStatus> status_;
  std::map<std::pair<std::string, std::string>, std::vector<group::PoolNode>> previous_;  // (tag, link) -> nodes
};

}  // namespace dae::subscription
