// The DNS lab driver (tests/dns-lab/run.sh, bench/dns_bench.sh).
//
//   dns_lab serve --program rules.o [--bootstrap IP:PORT]... [--ca FILE] [--so-mark N]
//                 [--log LEVEL] [--direct-routes]
//       Loads rules.o (a real dae_domain_map in the kernel, owned by this process),
//       runs the DnsModule on the config's dns.bind listeners until SIGINT/SIGTERM.
//       Prints "ready map_id=N" once listening, "stats ..." when stopping. Upstream
//       traffic is routed by the kernel program (BPF_PROG_TEST_RUN on a private copy)
//       unless --direct-routes.
//   dns_lab query --server IP:PORT --name NAME [--type A|AAAA|...] [--tcp] [--map-id N]
//       One query; prints "rcode=NAME" and one "addr=IP ttl=N" line per A/AAAA answer. With
//       --map-id, each address is looked up in that map right after the answer arrives
//       (a separate process: what the kernel sees when the client's first packet
//       leaves) and printed as "addr=IP ttl=N bits=0xHEX" (0x0: no entry).
#include <bpf/bpf.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/write.hpp>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "dns/DnsModule.h"
#include "dns/Message.h"
#include "outbound/Transport.h"

namespace asio = boost::asio;
using namespace dae::dns;

namespace {

struct Args {
  std::multimap<std::string, std::string> kv;
  std::string get(const std::string& k, const std::string& def = "") const {
    auto it = kv.find(k);
    return it == kv.end() ? def : it->second;
  }
  bool has(const std::string& k) const { return kv.count(k) != 0; }
  std::vector<std::string> all(const std::string& k) const {
    std::vector<std::string> out;
    for (auto [a, b] = kv.equal_range(k); a != b; ++a) out.push_back(a->second);
    return out;
  }
};

Args parseArgs(int argc, char** argv, int from) {
  Args a;
  for (int i = from; i < argc; ++i) {
    std::string k = argv[i];
    if (k.rfind("--", 0) != 0) throw std::invalid_argument("unexpected argument '" + k + "'");
    k = k.substr(2);
    bool flag = k == "tcp" || k == "direct-routes";
    if (flag) {
      a.kv.emplace(k, "1");
    } else {
      if (i + 1 >= argc) throw std::invalid_argument("--" + k + " needs a value");
      a.kv.emplace(k, argv[++i]);
    }
  }
  return a;
}

asio::ip::udp::endpoint endpointOf(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos) throw std::invalid_argument("expected IP:PORT, got '" + text + "'");
  std::string host = text.substr(0, colon);
  if (!host.empty() && host.front() == '[') host = host.substr(1, host.size() - 2);
  return {asio::ip::make_address(host), static_cast<uint16_t>(std::stoi(text.substr(colon + 1)))};
}

int serve(const Args& args) {
  spdlog::set_level(spdlog::level::from_str(args.get("log", "info")));
  auto artifact = dae::loader::Artifact::fromFile(args.get("program"));
  dae::loader::BpfObject object(artifact, {"dae_lan_ingress"});
  int mapFd = object.mapFd("dae_domain_map");
  uint32_t mapId = 0;
  if (mapFd >= 0) {
    bpf_map_info info{};
    uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(mapFd, &info, &len) == 0) mapId = info.id;
  }
  asio::io_context io;
  DnsOptions opt;
  opt.soMark = static_cast<uint32_t>(std::stoul(args.get("so-mark", "0"), nullptr, 0));
  opt.bootstrap = args.all("bootstrap");
  if (args.has("ca")) {
    dae::outbound::DialOptions d;
    d.extraCaFile = args.get("ca");
    opt.tls = dae::outbound::makeTlsContext(d);
  }
  if (args.has("direct-routes"))
    opt.routeFlow = [](uint8_t, const asio::ip::address&, uint16_t, const std::string&) { return FlowRoute{}; };
  DnsModule module(io.get_executor(), artifact, mapFd, opt);
  module.start();
  std::printf("ready map_id=%u\n", mapId);
  std::fflush(stdout);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) {
    module.stop();
    io.stop();
  });
  io.run();
  DnsStats s = module.stats();
  std::printf("stats queries=%llu cache_hits=%llu stale_hits=%llu upstream_queries=%llu upstream_failures=%llu "
              "malformed=%llu rejected=%llu loops=%llu map_writes=%llu cache_entries=%llu\n",
              (unsigned long long)s.queries, (unsigned long long)s.cacheHits, (unsigned long long)s.staleHits,
              (unsigned long long)s.upstreamQueries, (unsigned long long)s.upstreamFailures,
              (unsigned long long)s.malformed, (unsigned long long)s.rejected, (unsigned long long)s.loops,
              (unsigned long long)s.mapWrites, (unsigned long long)s.cacheEntries);
  return 0;
}

std::string addressText(const std::array<uint8_t, 16>& a) {
  asio::ip::address_v6::bytes_type b;
  std::copy(a.begin(), a.end(), b.begin());
  asio::ip::address_v6 v6(b);
  return v6.is_v4_mapped() ? asio::ip::make_address_v4(asio::ip::v4_mapped, v6).to_string() : v6.to_string();
}

int query(const Args& args) {
  auto server = endpointOf(args.get("server"));
  auto type = typeFromName(args.get("type", "A"));
  if (!type) throw std::invalid_argument("unknown type " + args.get("type"));
  std::string q = buildQuery(static_cast<uint16_t>(getpid()), args.get("name"), *type);
  int mapFd = -1;
  if (args.has("map-id")) {
    mapFd = bpf_map_get_fd_by_id(static_cast<uint32_t>(std::stoul(args.get("map-id"))));
    if (mapFd < 0) throw std::runtime_error(std::string("cannot open map by id: ") + std::strerror(errno));
  }
  asio::io_context io;
  std::string reply;
  if (args.has("tcp")) {
    asio::ip::tcp::socket s(io);
    s.connect({server.address(), server.port()});
    std::string framed{static_cast<char>(q.size() >> 8), static_cast<char>(q.size() & 0xFF)};
    framed += q;
    asio::write(s, asio::buffer(framed));
    uint8_t len[2];
    asio::read(s, asio::buffer(len));
    reply.assign(static_cast<size_t>((len[0] << 8) | len[1]), '\0');
    asio::read(s, asio::buffer(reply));
  } else {
    asio::ip::udp::socket s(io, server.address().is_v4() ? asio::ip::udp::v4() : asio::ip::udp::v6());
    struct timeval tv = {3, 0};
    setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    s.send_to(asio::buffer(q), server);
    std::vector<char> buf(65535);
    asio::ip::udp::endpoint from;
    size_t n = s.receive_from(asio::buffer(buf), from);
    reply.assign(buf.data(), n);
  }
  // Right away: what the kernel would see for the client's first connection.
  auto parsed = parse(reply);
  if (!parsed) throw std::runtime_error("malformed answer: " + parsed.error);
  struct Line {
    std::string addr;
    uint32_t ttl, bits;
  };
  std::vector<Line> lines;
  for (const auto& r : parsed.message->answers) {
    if (!r.address) continue;
    uint32_t v[32] = {};
    if (mapFd >= 0 && bpf_map_lookup_elem(mapFd, r.address->data(), v) != 0) v[0] = 0;
    lines.push_back({addressText(*r.address), r.ttl, v[0]});
  }
  static const char* names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"};
  unsigned rc = static_cast<unsigned>(parsed.message->rcode());
  std::printf("rcode=%s\n", rc < 6 ? names[rc] : std::to_string(rc).c_str());
  for (const auto& l : lines) {
    if (mapFd >= 0) std::printf("addr=%s ttl=%u bits=0x%x\n", l.addr.c_str(), l.ttl, l.bits);
    else std::printf("addr=%s ttl=%u\n", l.addr.c_str(), l.ttl);
  }
  if (mapFd >= 0) close(mapFd);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: dns_lab serve --program rules.o [...] | query --server IP:PORT --name NAME [...]\n");
    return 2;
  }
  try {
    Args args = parseArgs(argc, argv, 2);
    std::string cmd = argv[1];
    if (cmd == "serve") return serve(args);
    if (cmd == "query") return query(args);
    std::fprintf(stderr, "dns_lab: unknown command '%s'\n", cmd.c_str());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dns_lab: %s\n", e.what());
    return 1;
  }
}
