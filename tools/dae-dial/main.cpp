// dae-dial: dial through one node (or a chain "LINK -> LINK") with the
// dae_outbound library.
//
//   dae-dial [OPTIONS] LINK tcp HOST:PORT                relay stdin/stdout (half-close on stdin EOF)
//   dae-dial [OPTIONS] LINK http URL                     GET; the body goes to stdout
//   dae-dial [OPTIONS] LINK udp HOST:PORT [HOST:PORT..]  send --payload --count times to each, print replies
//   dae-dial [OPTIONS] LINK dns SERVER:PORT NAME [A|AAAA]
//   dae-dial [OPTIONS] LINK fullcone ECHO:PORT DNS:PORT NAME   one UDP session, two destinations
//   dae-dial [OPTIONS] LINK parallel URL [LINK...]       concurrent GETs, one line per session
//
// Options: --timeout SEC (10), --extra-ca FILE (or $DAE_EXTRA_CA), --mark N,
// --payload STR, --count N, -v. On failure: one log line on stderr and an
// exit code per outcome (see usage()).
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utility>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <functional>
#include <limits>
#include <map>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "DnsQuery.h"
#include "outbound/AsioAdapter.h"
#include "outbound/Crypto.h"
#include "outbound/Dialer.h"
#include "outbound/ShareLink.h"
#include "outbound/Transport.h"

namespace ob = dae::outbound;
namespace asio = boost::asio;
namespace http = boost::beast::http;
using boost::system::error_code;
template <typename T>
using awaitable = asio::awaitable<T>;

namespace {

enum Exit {
  kOk = 0, kInternal = 1, kUsage = 2, kConnect = 3, kTls = 4, kAuth = 5,
  kProtocol = 6, kTimeout = 7, kUnreachable = 8, kUnsupported = 9, kBadResult = 10,
};

void usage() {
  std::fputs(
      "usage: dae-dial [--timeout SEC] [--extra-ca FILE] [--mark N] [--payload STR] [--count N] [-v] LINK MODE ARGS\n"
      "  LINK: a share link (socks5:// socks4:// socks4a:// http:// https:// ss:// vmess:// vless:// trojan://\n"
      "        direct:// block://) or a chain 'LINK -> LINK'\n"
      "  tcp HOST:PORT | http URL | udp HOST:PORT... | dns SERVER:PORT NAME [A|AAAA]\n"
      "  fullcone ECHO:PORT DNS:PORT NAME | parallel URL [LINK...]\n"
      "exit: 0 ok, 1 internal, 2 usage or bad link, 3 connect/resolve, 4 TLS, 5 auth rejected,\n"
      "      6 protocol error or bad peer, 7 timeout, 8 target unreachable, 9 unsupported/blocked,\n"
      "      10 unexpected result (HTTP status, DNS rcode, missing answer)\n",
      stderr);
}

// An answer arrived but is not what was asked for.
struct ResultError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Options {
  std::chrono::milliseconds timeout{10000};
  std::string extraCa;
  std::uint32_t mark = 0;
  std::string payload = "hello";
  int count = 1;
  bool verbose = false;
};

// Runs the io_context; a watchdog stops it when the current phase takes
// longer than the timeout.
struct App {
  asio::io_context ioc;
  asio::steady_timer watchdog{ioc};
  Options opt;
  ob::DialOptions dial;
  std::string phase = "starting";
  bool timedOut = false;

  void arm(std::string ph) {
    phase = std::move(ph);
    watchdog.expires_after(opt.timeout);
    watchdog.async_wait([this](const error_code& ec) {
      if (ec) return;
      timedOut = true;
      ioc.stop();
    });
  }
  void disarm() { watchdog.cancel(); }
};

int exitFor(ob::Errc c) {
  switch (c) {
    case ob::Errc::Resolve: case ob::Errc::Connect: return kConnect;
    case ob::Errc::Tls: return kTls;
    case ob::Errc::Auth: return kAuth;
    case ob::Errc::Handshake: case ob::Errc::Protocol: case ob::Errc::Closed: return kProtocol;
    case ob::Errc::Timeout: return kTimeout;
    case ob::Errc::TargetUnreachable: return kUnreachable;
    case ob::Errc::Blocked: case ob::Errc::Unsupported: return kUnsupported;
    case ob::Errc::InvalidArgument: return kUsage;
  }
  return kInternal;
}

// The one log line of a failure, and its exit code.
int report(std::exception_ptr e, const std::string& phase) {
  try {
    std::rethrow_exception(e);
  } catch (const ob::OutboundError& x) {
    spdlog::error("[{}] {}", ob::errcName(x.code()), x.what());
    return exitFor(x.code());
  } catch (const ob::LinkError& x) {
    spdlog::error("bad link: {}", x.what());
    return kUsage;
  } catch (const ResultError& x) {
    spdlog::error("unexpected result: {}", x.what());
    return kBadResult;
  } catch (const boost::system::system_error& x) {
    spdlog::error("connection error while {}: {}", phase, x.what());
    return kProtocol;
  } catch (const std::invalid_argument& x) {
    spdlog::error("{}", x.what());
    return kUsage;
  } catch (const std::exception& x) {
    spdlog::error("internal error while {}: {}", phase, x.what());
    return kInternal;
  }
}

void writeOut(const void* data, std::size_t n) {
  if (n > 0 && std::fwrite(data, 1, n, stdout) != n) throw std::runtime_error("cannot write to stdout");
}

// ---- tcp --------------------------------------------------------------------

struct Relay {
  std::unique_ptr<ob::Stream> s;
  std::optional<asio::posix::stream_descriptor> in;
  std::exception_ptr upError;
  bool finished = false;
};

awaitable<void> pumpStdin(App& app, std::shared_ptr<Relay> r) {
  std::vector<char> buf(64 * 1024);
  struct stat st {};
  bool async = fstat(0, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || isatty(0));
  if (async) r->in.emplace(app.ioc, ::dup(0));
  while (true) {
    std::size_t n = 0;
    if (async) {
      error_code ec;
      n = co_await r->in->async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
      if (ec == asio::error::eof) n = 0;
      else if (ec) throw boost::system::system_error(ec, "reading stdin");
    } else {
      ssize_t got = ::read(0, buf.data(), buf.size());
      if (got < 0) throw std::runtime_error("reading stdin failed");
      n = static_cast<std::size_t>(got);
    }
    if (n == 0) break;
    co_await r->s->writeAll(asio::buffer(buf.data(), n));
  }
  if (r->finished) co_return;
  app.arm("waiting for the end of the server's data after our half-close");
  co_await r->s->shutdownWrite();
}

awaitable<int> modeTcp(App& app, std::shared_ptr<ob::Dialer> d, ob::Endpoint target) {
  app.arm("dialing " + target.toString() + " via " + d->describe());
  auto r = std::make_shared<Relay>();
  r->s = co_await d->dialTcp(target);
  app.disarm();
  app.phase = "relaying";
  asio::co_spawn(app.ioc, pumpStdin(app, r), [r](std::exception_ptr e) {
    if (e && !r->finished) {
      r->upError = e;
      r->s->close();
    }
  });
  std::vector<char> buf(64 * 1024);
  std::exception_ptr downError;
  try {
    while (true) {
      std::size_t n = co_await r->s->readSome(asio::buffer(buf));
      if (n == 0) break;
      writeOut(buf.data(), n);
      std::fflush(stdout);
    }
  } catch (const std::exception&) {
    downError = std::current_exception();
  }
  r->finished = true;
  app.disarm();
  if (r->in) r->in->close();
  if (r->upError) std::rethrow_exception(r->upError);
  if (downError) std::rethrow_exception(downError);
  co_return kOk;
}

// ---- http -------------------------------------------------------------------

struct Url {
  bool tls = false;
  ob::Endpoint ep;
  std::string target = "/";
};

Url parseUrl(const std::string& s) {
  Url u;
  std::string rest;
  if (s.rfind("http://", 0) == 0) rest = s.substr(7);
  else if (s.rfind("https://", 0) == 0) rest = s.substr(8), u.tls = true;
  else throw std::invalid_argument("URL must start with http:// or https://: " + s);
  auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) u.target = rest.substr(slash);
  bool hasPort = authority.find(':', authority.find(']') == std::string::npos ? 0 : authority.find(']')) !=
                 std::string::npos;
  if (!hasPort) authority += u.tls ? ":443" : ":80";
  u.ep = ob::Endpoint::parse(authority);
  return u;
}

using Sink = std::function<void(const char*, std::size_t)>;

[[noreturn]] void httpFail(ob::StreamAdapter& a, const error_code& ec, const std::string& what) {
  if (auto e = a.takeError()) std::rethrow_exception(e);
  if (ec == http::error::end_of_stream)
    ob::fail(ob::Errc::Closed, "the connection closed before an HTTP response (" + what +
                                   "): the proxy dropped the session (wrong password or cipher?) or the target "
                                   "closed it");
  if (ec == http::error::partial_message) ob::fail(ob::Errc::Closed, "the connection closed inside the HTTP " + what);
  if (ec.category() == http::make_error_code(http::error::bad_version).category())
    ob::fail(ob::Errc::Protocol, "the answer through the node is not HTTP (" + ec.message() + " in the " + what +
                                     "): a broken node, or a wrong trojan password (the server then relays to its "
                                     "fallback site)");
  throw boost::system::system_error(ec, what);
}

// GET url through d; returns the body length.
awaitable<std::uint64_t> httpGet(App& app, std::shared_ptr<ob::Dialer> d, Url url, Sink sink) {
  std::unique_ptr<ob::Stream> s = co_await d->dialTcp(url.ep);
  if (url.tls) {
    auto ctx = ob::makeTlsContext(app.dial);
    ob::TlsSettings tls;
    s = co_await ob::tlsHandshake(std::move(s), *ctx, tls, url.ep.host);
  }
  ob::StreamAdapter a(std::move(s));
  http::request<http::empty_body> req{http::verb::get, url.target, 11};
  req.set(http::field::host, url.ep.hostForUrl());
  req.set(http::field::user_agent, "dae-dial");
  req.set(http::field::connection, "close");
  error_code ec;
  co_await http::async_write(a, req, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) httpFail(a, ec, "request");
  app.phase = "waiting for the HTTP response from " + url.ep.toString() + " via " + d->describe() +
              " (a node that stays silent usually means a wrong password or id)";
  boost::beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> p;
  p.body_limit(std::numeric_limits<std::uint64_t>::max());  // boost::none misbehaves in Beast 1.74
  co_await http::async_read_header(a, buffer, p, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) httpFail(a, ec, "response header");
  unsigned status = p.get().result_int();
  if (status < 200 || status > 299)
    throw ResultError("HTTP status " + std::to_string(status) + " " + std::string(p.get().reason()) + " for " +
                      url.ep.toString() + url.target);
  std::vector<char> chunk(64 * 1024);
  std::uint64_t total = 0;
  while (!p.is_done()) {
    p.get().body().data = chunk.data();
    p.get().body().size = chunk.size();
    co_await http::async_read(a, buffer, p, asio::redirect_error(asio::use_awaitable, ec));
    if (ec == http::error::need_buffer) ec = {};
    if (ec) httpFail(a, ec, "response body");
    std::size_t n = chunk.size() - p.get().body().size;
    total += n;
    sink(chunk.data(), n);
  }
  a.stream().close();
  co_return total;
}

awaitable<int> modeHttp(App& app, std::shared_ptr<ob::Dialer> d, Url url) {
  app.arm("fetching " + url.ep.toString() + url.target + " via " + d->describe());
  Sink sink = [](const char* p, std::size_t n) { writeOut(p, n); };
  co_await httpGet(app, d, url, std::move(sink));
  std::fflush(stdout);
  co_return kOk;
}

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new(), &EVP_MD_CTX_free) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1) throw std::runtime_error("sha256 init");
  }
  void update(const char* p, std::size_t n) { EVP_DigestUpdate(ctx_.get(), p, n); }
  std::string hex() {
    unsigned char md[32];
    unsigned len = 0;
    EVP_DigestFinal_ex(ctx_.get(), md, &len);
    return ob::crypto::toHex(ob::crypto::ByteView(md, len));
  }

 private:
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx_;
};

struct SessionResult {
  std::string label;
  bool done = false;
  int code = kOk;
  std::uint64_t bytes = 0;
  std::string sha256, error;
};

awaitable<void> parallelOne(App& app, std::shared_ptr<ob::Dialer> d, Url url, SessionResult* r) {
  auto sha = std::make_shared<Sha256>();
  // (the sink is a named local: GCC 12 mishandles a lambda-to-std::function temporary inside co_await)
  Sink sink = [sha](const char* p, std::size_t n) { sha->update(p, n); };
  std::uint64_t bytes = co_await httpGet(app, d, url, std::move(sink));
  r->bytes = bytes;
  r->sha256 = sha->hex();
}

awaitable<int> modeParallel(App& app, std::vector<std::shared_ptr<ob::Dialer>> dialers, Url url) {
  app.arm("running " + std::to_string(dialers.size()) + " concurrent sessions");
  std::vector<SessionResult> results(dialers.size());
  std::size_t remaining = dialers.size();
  asio::steady_timer allDone(app.ioc, asio::steady_timer::time_point::max());
  for (std::size_t i = 0; i < dialers.size(); ++i) {
    results[i].label = dialers[i]->describe();
    asio::co_spawn(app.ioc, parallelOne(app, dialers[i], url, &results[i]),
                   [&results, &remaining, &allDone, i, &app](std::exception_ptr e) {
                     if (e) {
                       try {
                         std::rethrow_exception(e);
                       } catch (const ob::OutboundError& x) {
                         results[i].code = exitFor(x.code());
                         results[i].error = x.what();
                       } catch (const ResultError& x) {
                         results[i].code = kBadResult;
                         results[i].error = x.what();
                       } catch (const std::exception& x) {
                         results[i].code = kProtocol;
                         results[i].error = std::string("while ") + app.phase + ": " + x.what();
                       }
                     }
                     results[i].done = true;
                     if (--remaining == 0) allDone.cancel();
                   });
  }
  while (remaining > 0) {
    error_code ec;
    co_await allDone.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  int first = kOk;
  std::size_t failed = 0;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    if (r.code == kOk) {
      std::printf("session %zu ok %llu bytes sha256=%s (%s)\n", i + 1, static_cast<unsigned long long>(r.bytes),
                  r.sha256.c_str(), r.label.c_str());
    } else {
      std::printf("session %zu failed exit=%d: %s\n", i + 1, r.code, r.error.c_str());
      if (first == kOk) first = r.code;
      ++failed;
    }
  }
  std::fflush(stdout);
  if (failed) spdlog::error("{} of {} concurrent sessions failed (see the session lines)", failed, results.size());
  co_return first;
}

// ---- udp / dns --------------------------------------------------------------

void printReply(const ob::Endpoint& from, const std::vector<std::uint8_t>& buf, std::size_t n) {
  std::printf("reply from %s (%zu bytes):\n", from.toString().c_str(), n);
  writeOut(buf.data(), n);
  if (n > 0 && buf[n - 1] != '\n') writeOut("\n", 1);
  std::fflush(stdout);
}

awaitable<int> modeUdp(App& app, std::shared_ptr<ob::Dialer> d, std::vector<ob::Endpoint> dests) {
  app.arm("opening a UDP session");
  auto dg = co_await d->dialUdp();
  app.arm("waiting for UDP replies via " + d->describe());
  for (int i = 0; i < app.opt.count; ++i)
    for (const auto& to : dests) co_await dg->sendTo(asio::buffer(app.opt.payload), to);
  std::map<std::string, int> got;
  std::size_t satisfied = 0, anyName = 0;
  for (const auto& to : dests) anyName += to.isIp() ? 0 : 1;
  std::vector<std::uint8_t> buf(65536);
  int total = 0;
  while (satisfied < dests.size() - anyName || total < app.opt.count * static_cast<int>(dests.size())) {
    ob::Endpoint from;
    std::size_t n = co_await dg->receiveFrom(asio::buffer(buf), from);
    printReply(from, buf, n);
    ++total;
    if (++got[from.toString()] == app.opt.count)
      for (const auto& to : dests)
        if (to.isIp() && to.toString() == from.toString()) ++satisfied;
  }
  dg->close();
  co_return kOk;
}

awaitable<int> modeDns(App& app, std::shared_ptr<ob::Dialer> d, ob::Endpoint server, std::string name,
                       std::string type) {
  app.arm("opening a UDP session");
  auto dg = co_await d->dialUdp();
  std::uint8_t idBytes[2];
  ob::crypto::randomBytes(idBytes);
  std::uint16_t id = static_cast<std::uint16_t>(idBytes[0] << 8 | idBytes[1]);
  auto query = daedial::buildDnsQuery(name, type, id);
  app.arm("waiting for the DNS answer from " + server.toString() + " via " + d->describe());
  co_await dg->sendTo(asio::buffer(query), server);
  std::vector<std::uint8_t> buf(65536);
  while (true) {
    ob::Endpoint from;
    std::size_t n = co_await dg->receiveFrom(asio::buffer(buf), from);
    auto a = daedial::parseDnsAnswer(buf.data(), n, id, type);
    if (!a.ok) {
      spdlog::debug("ignored a UDP packet from {}: {}", from.toString(), a.error);
      continue;
    }
    if (a.rcode != "NOERROR") throw ResultError("DNS " + a.rcode + " for " + name + " " + type);
    if (a.records.empty()) throw ResultError("no " + type + " record for " + name);
    for (const auto& r : a.records) std::printf("%s\n", r.c_str());
    std::fflush(stdout);
    dg->close();
    co_return kOk;
  }
}

awaitable<int> modeFullcone(App& app, std::shared_ptr<ob::Dialer> d, ob::Endpoint echo, ob::Endpoint dns,
                            std::string name) {
  app.arm("opening a UDP session");
  auto dg = co_await d->dialUdp();
  std::uint16_t id = 0x5aa5;
  auto query = daedial::buildDnsQuery(name, "A", id);
  app.arm("waiting for replies from " + echo.toString() + " and " + dns.toString() + " in one UDP session via " + d->describe());
  co_await dg->sendTo(asio::buffer(app.opt.payload), echo);
  co_await dg->sendTo(asio::buffer(query), dns);
  bool echoOk = false, dnsOk = false;
  std::vector<std::uint8_t> buf(65536);
  while (!echoOk || !dnsOk) {
    ob::Endpoint from;
    std::size_t n = co_await dg->receiveFrom(asio::buffer(buf), from);
    if (from == dns && !dnsOk) {
      auto a = daedial::parseDnsAnswer(buf.data(), n, id, "A");
      if (!a.ok || a.records.empty()) throw ResultError("bad DNS answer from " + dns.toString() + ": " + a.error);
      std::printf("dns %s: %s %s\n", dns.toString().c_str(), name.c_str(), a.records.front().c_str());
      dnsOk = true;
    } else if (from == echo && !echoOk) {
      printReply(from, buf, n);
      echoOk = true;
    } else {
      spdlog::debug("ignored a packet from {}", from.toString());
    }
  }
  std::printf("full-cone: replies from both destinations in one session\n");
  dg->close();
  co_return kOk;
}

}  // namespace

int main(int argc, char** argv) {
  auto logger = spdlog::stderr_color_mt("dae-dial");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%n: %l: %v");
  App app;
  std::vector<std::string> pos;
  try {
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
        return argv[++i];
      };
      if (a == "--timeout") app.opt.timeout = std::chrono::milliseconds(static_cast<long>(std::stod(value()) * 1000));
      else if (a == "--extra-ca") app.opt.extraCa = value();
      else if (a == "--mark") app.opt.mark = static_cast<std::uint32_t>(std::stoul(value(), nullptr, 0));
      else if (a == "--payload") app.opt.payload = value();
      else if (a == "--count") app.opt.count = std::max(1, std::stoi(value()));
      else if (a == "-v" || a == "--verbose") app.opt.verbose = true;
      else if (a == "-h" || a == "--help") {
        usage();
        return kOk;
      } else pos.push_back(a);
    }
  } catch (const std::exception& e) {
    spdlog::error("bad option: {}", e.what());
    usage();
    return kUsage;
  }
  spdlog::set_level(app.opt.verbose ? spdlog::level::debug : spdlog::level::warn);
  if (pos.size() < 3) {
    usage();
    return kUsage;
  }
  app.dial.soMark = app.opt.mark;
  app.dial.connectTimeout = app.dial.handshakeTimeout = app.opt.timeout;
  app.dial.extraCaFile = app.opt.extraCa;
  const std::string& mode = pos[1];
  std::exception_ptr failure;
  int rc = kInternal;
  try {
    auto dialer = ob::makeChainDialer(ob::parseChain(pos[0]), app.dial);
    std::optional<awaitable<int>> task;
    if (mode == "tcp" && pos.size() == 3) {
      task.emplace(modeTcp(app, dialer, ob::Endpoint::parse(pos[2])));
    } else if (mode == "http" && pos.size() == 3) {
      task.emplace(modeHttp(app, dialer, parseUrl(pos[2])));
    } else if (mode == "udp") {
      std::vector<ob::Endpoint> dests;
      for (std::size_t i = 2; i < pos.size(); ++i) dests.push_back(ob::Endpoint::parse(pos[i]));
      task.emplace(modeUdp(app, dialer, std::move(dests)));
    } else if (mode == "dns" && (pos.size() == 4 || pos.size() == 5)) {
      std::string type = pos.size() == 5 ? pos[4] : "A";
      if (type != "A" && type != "AAAA") throw std::invalid_argument("DNS type must be A or AAAA");
      task.emplace(modeDns(app, dialer, ob::Endpoint::parse(pos[2]), pos[3], type));
    } else if (mode == "fullcone" && pos.size() == 5) {
      task.emplace(modeFullcone(app, dialer, ob::Endpoint::parse(pos[2]), ob::Endpoint::parse(pos[3]), pos[4]));
    } else if (mode == "parallel" && pos.size() >= 3) {
      std::vector<std::shared_ptr<ob::Dialer>> dialers{dialer};
      for (std::size_t i = 3; i < pos.size(); ++i) dialers.push_back(ob::makeChainDialer(ob::parseChain(pos[i]), app.dial));
      task.emplace(modeParallel(app, std::move(dialers), parseUrl(pos[2])));
    } else {
      usage();
      return kUsage;
    }
    asio::co_spawn(app.ioc, std::move(*task), [&](std::exception_ptr e, int r) {
      failure = e;
      rc = r;
      app.disarm();
    });
  } catch (const std::exception&) {
    return report(std::current_exception(), "parsing the command line");
  }
  app.ioc.run();
  std::fflush(stdout);
  if (app.timedOut) {
    spdlog::error("[timeout] no progress for {:.1f} s while {}", static_cast<double>(app.opt.timeout.count()) / 1000.0,
                  app.phase);
    return kTimeout;
  }
  if (failure) return report(failure, app.phase);
  return rc;
}
