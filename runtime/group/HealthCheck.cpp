#include "group/HealthCheck.h"

#include <array>
#include <exception>
#include <random>

#include <boost/asio/buffer.hpp>
#include <boost/asio/this_coro.hpp>

#include "outbound/Deadline.h"
#include "outbound/Transport.h"

namespace dae::group {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

std::uint16_t randomId() {
  thread_local std::mt19937 rng{std::random_device{}()};
  return static_cast<std::uint16_t>(rng());
}

std::string what(const std::exception& e) {
  std::string s = e.what();
  return s.empty() ? "unknown error" : s;
}

// Holds the connection a Deadline closes; cleared before the connection dies.
struct Closable {
  outbound::Stream* stream = nullptr;
  outbound::Datagram* datagram = nullptr;
  void close() {
    if (stream) stream->close();
    if (datagram) datagram->close();
  }
};

}  // namespace

int parseStatusLine(const std::string& line) {
  // HTTP/1.x SP 3DIGIT ...
  if (line.rfind("HTTP/", 0) != 0) return -1;
  auto sp = line.find(' ');
  if (sp == std::string::npos || sp + 4 > line.size()) return -1;
  int code = 0;
  for (std::size_t i = sp + 1; i < sp + 4; ++i) {
    if (line[i] < '0' || line[i] > '9') return -1;
    code = code * 10 + (line[i] - '0');
  }
  if (sp + 4 < line.size() && line[sp + 4] != ' ' && line[sp + 4] != '\r') return -1;
  return code;
}

bool statusPasses(int status, const std::string& path) {
  std::string p = path.substr(0, path.find('?'));
  auto slash = p.rfind('/');
  std::string page = slash == std::string::npos ? p : p.substr(slash + 1);
  if (page.rfind("generate_", 0) == 0) return std::to_string(status) == page.substr(9);
  return status >= 200 && status < 400;
}

std::vector<std::uint8_t> buildDnsQuery(const std::string& name, std::uint16_t id) {
  std::vector<std::uint8_t> q = {static_cast<std::uint8_t>(id >> 8), static_cast<std::uint8_t>(id & 0xff),
                                 0x01, 0x00,  // RD
                                 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  std::size_t start = 0;
  while (start < name.size()) {
    auto dot = name.find('.', start);
    std::size_t end = dot == std::string::npos ? name.size() : dot;
    std::size_t len = end - start;
    if (len > 63) throw GroupError("DNS check name '" + name + "' has a label longer than 63 bytes");
    if (len > 0) {
      q.push_back(static_cast<std::uint8_t>(len));
      q.insert(q.end(), name.begin() + static_cast<std::ptrdiff_t>(start), name.begin() + static_cast<std::ptrdiff_t>(end));
    }
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  q.push_back(0);
  q.insert(q.end(), {0x00, 0x01, 0x00, 0x01});  // A, IN
  return q;
}

bool isDnsReply(std::span<const std::uint8_t> d, std::uint16_t id) {
  return d.size() >= 12 && ((d[0] << 8) | d[1]) == id && (d[2] & 0x80) != 0;
}

asio::awaitable<CheckResult> checkTcp(std::shared_ptr<outbound::Dialer> node, TcpCheckTarget target,
                                      std::string method, asio::ip::address ip, std::chrono::milliseconds timeout,
                                      std::shared_ptr<asio::ssl::context> tls) {
  auto ex = co_await asio::this_coro::executor;
  const auto start = Clock::now();
  auto closable = std::make_shared<Closable>();
  std::unique_ptr<outbound::Stream> s;
  outbound::Deadline deadline(ex, timeout, [closable] { closable->close(); });
  CheckResult r;
  int status = -1;
  try {
    outbound::Endpoint ep(ip.to_string(), target.port);
    auto dial = node->dialTcp(ep);
    s = co_await std::move(dial);
    closable->stream = s.get();
    if (deadline.expired()) outbound::fail(outbound::Errc::Timeout, "dial");
    if (target.tls) {
      if (!tls) throw GroupError("no TLS context for an https check URL");
      outbound::TlsSettings settings;
      settings.enabled = true;
      closable->stream = nullptr;
      auto handshake = outbound::tlsHandshake(std::move(s), *tls, settings, target.host);
      s = co_await std::move(handshake);
      closable->stream = s.get();
    }
    outbound::Endpoint hostEp(target.host, target.port);
    bool defaultPort = target.port == (target.tls ? 443 : 80);
    std::string request = method + " " + target.path + " HTTP/1.1\r\nHost: " +
                          (defaultPort ? hostEp.hostForUrl() : hostEp.toString()) +
                          "\r\nUser-Agent: dae-health-check\r\nAccept: */*\r\nConnection: close\r\n\r\n";
    co_await s->writeAll(asio::buffer(request));
    std::string head;
    std::array<char, 1024> buf{};
    while (head.find("\r\n") == std::string::npos) {
      if (head.size() > 4096) throw GroupError("no HTTP status line in the first 4 KiB of the answer");
      std::size_t n = co_await s->readSome(asio::buffer(buf));
      if (n == 0) throw GroupError("the connection closed before an HTTP status line");
      head.append(buf.data(), n);
    }
    r.latency = Clock::now() - start;
    std::string line = head.substr(0, head.find("\r\n"));
    status = parseStatusLine(line);
    if (status < 0) throw GroupError("not an HTTP status line: '" + line.substr(0, 80) + "'");
  } catch (const std::exception& e) {
    r.error = what(e);
  }
  closable->stream = nullptr;
  if (s) s->close();
  if (r.error.empty() && !statusPasses(status, target.path))
    r.error = "HTTP status " + std::to_string(status) + " from " + target.raw.substr(0, target.raw.find(','));
  if (!r.error.empty() && deadline.expired())
    r.error = "timed out after " + formatLatency(timeout) + " (" + r.error + ")";
  r.ok = r.error.empty();
  co_return r;
}

asio::awaitable<CheckResult> checkUdp(std::shared_ptr<outbound::Dialer> node, DnsCheckTarget target,
                                      asio::ip::address ip, std::chrono::milliseconds timeout) {
  auto ex = co_await asio::this_coro::executor;
  const auto start = Clock::now();
  auto closable = std::make_shared<Closable>();
  std::unique_ptr<outbound::Datagram> d;
  outbound::Deadline deadline(ex, timeout, [closable] { closable->close(); });
  CheckResult r;
  try {
    boost::system::error_code ec;
    asio::ip::make_address(target.host, ec);
    const std::string name = ec ? target.host : std::string("connectivitycheck.gstatic.com");
    const std::uint16_t id = randomId();
    const std::vector<std::uint8_t> query = buildDnsQuery(name, id);
    auto dial = node->dialUdp();
    d = co_await std::move(dial);
    closable->datagram = d.get();
    if (deadline.expired()) outbound::fail(outbound::Errc::Timeout, "UDP dial");
    outbound::Endpoint server(ip.to_string(), target.port);
    co_await d->sendTo(asio::buffer(query), server);
    std::array<std::uint8_t, 1500> buf{};
    outbound::Endpoint from;
    while (true) {
      std::size_t n = co_await d->receiveFrom(asio::buffer(buf), from);
      if (isDnsReply(std::span<const std::uint8_t>(buf.data(), n), id)) break;
    }
    r.latency = Clock::now() - start;
  } catch (const std::exception& e) {
    r.error = what(e);
  }
  closable->datagram = nullptr;
  if (d) d->close();
  if (!r.error.empty() && deadline.expired())
    r.error = "no DNS answer from " + ip.to_string() + " within " + formatLatency(timeout) + " (" + r.error + ")";
  r.ok = r.error.empty();
  co_return r;
}

}  // namespace dae::group
