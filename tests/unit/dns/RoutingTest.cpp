// Request and response routing decisions of the dns section, and the loop advice.
#include <gtest/gtest.h>

#include "dns/Loop.h"
#include "dns/Message.h"
#include "dns/Routing.h"

using namespace dae::dns;
namespace artifact = dae::artifact;

namespace {

// "fn(key: value, ...)" calls joined with &&, e.g. {{"qname", false, {{"suffix", "a.com"}}}}.
struct CallSpec {
  std::string fn;
  bool negated = false;
  std::vector<std::pair<std::string, std::string>> args;
};

artifact::DnsRouting routing(std::vector<std::pair<std::vector<CallSpec>, std::string>> rules, std::string fallback) {
  artifact::DnsRouting r;
  for (auto& [calls, out] : rules) {
    auto* rule = r.add_rules();
    rule->set_outbound(out);
    for (auto& c : calls) {
      auto* call = rule->add_conditions();
      call->set_function(c.fn);
      call->set_negated(c.negated);
      for (auto& [k, v] : c.args) {
        auto* a = call->add_args();
        a->set_key(k);
        a->set_value(v);
      }
    }
  }
  r.set_fallback(fallback);
  return r;
}

const std::set<std::string> kUps = {"alidns", "googledns", "local"};

std::array<uint8_t, 16> v4(int a, int b, int c, int d) {
  std::array<uint8_t, 16> x{};
  x[10] = x[11] = 0xFF;
  x[12] = static_cast<uint8_t>(a);
  x[13] = static_cast<uint8_t>(b);
  x[14] = static_cast<uint8_t>(c);
  x[15] = static_cast<uint8_t>(d);
  return x;
}

std::string req(const Router& r, std::string_view name, uint16_t type = kTypeA, const InternalLookup* l = nullptr) {
  Decision d = r.route(RequestQuery{name, type, l});
  switch (d.kind) {
    case Decision::Kind::Asis: return "asis";
    case Decision::Kind::Reject: return "reject";
    case Decision::Kind::Accept: return "accept";
    default: return d.upstream;
  }
}

std::string resp(const Router& r, std::string_view name, uint16_t type, std::string_view up,
                 std::vector<std::array<uint8_t, 16>> addrs) {
  Decision d = r.route(ResponseView{name, type, up, &addrs});
  switch (d.kind) {
    case Decision::Kind::Reject: return "reject";
    case Decision::Kind::Accept: return "accept";
    default: return d.upstream;
  }
}

}  // namespace

TEST(DnsRouting, RequestByQnameAndQtype) {
  Router r(routing({{{{"qname", false, {{"suffix", "abc.com"}, {"keyword", "google"}}}}, "googledns"},
                    {{{"qname", false, {{"full", "ok.com"}, {"regex", "^yes"}}}}, "local"},
                    {{{"qname", false, {{"", "plain.org"}}}}, "alidns"},
                    {{{"qtype", false, {{"", "aaaa"}}}}, "alidns"},
                    {{{"qtype", false, {{"", "https"}}}, {"qname", true, {{"", "example.org"}}}}, "reject"}},
                   "asis"),
           true, kUps, {});
  EXPECT_EQ(req(r, "abc.com"), "googledns");
  EXPECT_EQ(req(r, "x.abc.com"), "googledns");
  EXPECT_EQ(req(r, "xabc.com"), "asis");
  EXPECT_EQ(req(r, "mail.google.net"), "googledns");
  EXPECT_EQ(req(r, "ok.com"), "local");
  EXPECT_EQ(req(r, "a.ok.com"), "asis");
  EXPECT_EQ(req(r, "yes.example"), "local");
  EXPECT_EQ(req(r, "sub.plain.org"), "alidns");  // a plain qname value is a suffix
  EXPECT_EQ(req(r, "other.net", kTypeAAAA), "alidns");
  EXPECT_EQ(req(r, "other.net", kTypeHTTPS), "reject");
  EXPECT_EQ(req(r, "example.org", kTypeHTTPS), "asis");  // !qname(example.org)
  EXPECT_EQ(req(r, "other.net", kTypeA), "asis");
  EXPECT_EQ(r.describe(0), "qname(suffix: abc.com, keyword: google) -> googledns");
  EXPECT_EQ(r.describe(-1), "fallback -> asis");
  EXPECT_EQ(r.referencedUpstreams(), (std::set<std::string>{"alidns", "googledns", "local"}));
}

TEST(DnsRouting, InternalSelectorsOnlyRouteOwnLookups) {
  Router r(routing({{{{"sub", false, {{"", "my_sub"}, {"link_keyword", "example"}}}}, "googledns"},
                    {{{"node", false, {{"name_keyword", "hk"}, {"name_regex", "^jp"}}}}, "alidns"},
                    {{{"subnode", false, {{"subtag", "airport"}}}}, "local"},
                    {{{"qname", false, {{"suffix", "cn"}}}}, "alidns"}},
                   "googledns"),
           true, kUps, {});
  InternalLookup sub{InternalLookup::Kind::Subscription, "my_sub", "", "https://sub.test/x"};
  InternalLookup sub2{InternalLookup::Kind::Subscription, "other", "", "https://EXAMPLE.test/x"};
  InternalLookup sub3{InternalLookup::Kind::Subscription, "other", "", "https://x.test/"};
  InternalLookup hk{InternalLookup::Kind::Node, "", "HK-01", "ss://..."};
  InternalLookup jp{InternalLookup::Kind::Node, "", "jp-02", "ss://..."};
  InternalLookup fromSub{InternalLookup::Kind::Node, "airport", "us-01", "vmess://..."};
  EXPECT_EQ(req(r, "sub.test", kTypeA, &sub), "googledns");
  EXPECT_EQ(req(r, "sub.test", kTypeA, &sub2), "googledns");  // link_keyword, case-insensitive
  EXPECT_EQ(req(r, "sub.test", kTypeA, &sub3), "googledns");  // the fallback
  EXPECT_EQ(req(r, "n.test", kTypeA, &hk), "alidns");
  EXPECT_EQ(req(r, "n.test", kTypeA, &jp), "alidns");
  EXPECT_EQ(req(r, "n.test", kTypeA, &fromSub), "local");
  // node() does not match nodes from subscriptions, and client queries match none.
  InternalLookup hkSub{InternalLookup::Kind::Node, "airport2", "hk-09", ""};
  EXPECT_EQ(req(r, "n.test", kTypeA, &hkSub), "googledns");
  EXPECT_EQ(req(r, "n.test"), "googledns");
  // qname rules also route the runtime's own lookups.
  EXPECT_EQ(req(r, "node.example.cn", kTypeA, &sub3), "alidns");
}

TEST(DnsRouting, GeodataThroughResolvers) {
  auto rules = routing({{{{"qname", false, {{"geosite", "category-ads"}}}}, "reject"}}, "asis");
  EXPECT_THROW(Router(rules, true, kUps, {}), std::invalid_argument);
  GeoResolvers geo;
  geo.site = [](const std::string& source) {
    EXPECT_EQ(source, "geosite:category-ads");
    return std::vector<std::pair<std::string, std::string>>{{"suffix", "ads.test"}, {"full", "tracker.test"}};
  };
  Router r(rules, true, kUps, geo);
  EXPECT_EQ(req(r, "x.ads.test"), "reject");
  EXPECT_EQ(req(r, "tracker.test"), "reject");
  EXPECT_EQ(req(r, "a.tracker.test"), "asis");
}

TEST(DnsRouting, Response) {
  Router r(routing({{{{"upstream", false, {{"", "googledns"}}}}, "accept"},
                    {{{"ip", false, {{"geoip", "private"}}}, {"qname", true, {{"suffix", "lan"}}}}, "googledns"},
                    {{{"ip", false, {{"", "2000::/3"}, {"", "0.0.0.0/32"}}}}, "reject"},
                    {{{"qtype", false, {{"", "txt"}}}}, "reject"}},
                   "accept"),
           false, kUps, {});
  EXPECT_EQ(resp(r, "a.com", kTypeA, "googledns", {v4(10, 0, 0, 1)}), "accept");
  EXPECT_EQ(resp(r, "a.com", kTypeA, "alidns", {v4(93, 1, 1, 1), v4(10, 0, 0, 1)}), "googledns");
  EXPECT_EQ(resp(r, "nas.lan", kTypeA, "alidns", {v4(192, 168, 1, 2)}), "accept");
  EXPECT_EQ(resp(r, "a.com", kTypeA, "alidns", {v4(93, 1, 1, 1)}), "accept");
  EXPECT_EQ(resp(r, "a.com", kTypeA, "alidns", {v4(0, 0, 0, 0)}), "googledns");  // 0.0.0.0/8 is private
  std::array<uint8_t, 16> six{};
  six[0] = 0x20;
  six[1] = 0x01;
  EXPECT_EQ(resp(r, "a.com", kTypeAAAA, "alidns", {six}), "reject");
  EXPECT_EQ(resp(r, "a.com", kTypeTXT, "alidns", {}), "reject");
  EXPECT_EQ(resp(r, "a.com", kTypeA, "alidns", {}), "accept");
}

TEST(DnsRouting, OneAddressSpace) {
  // As in the kernel's rules, IPv4 lives in ::ffff:0:0/96 of one 128-bit space, so
  // '::/0' covers IPv4 answers too.
  Router r(routing({{{{"ip", false, {{"", "::/0"}}}}, "reject"}}, "accept"), false, kUps, {});
  EXPECT_EQ(resp(r, "a.com", kTypeA, "alidns", {v4(93, 1, 1, 1)}), "reject");
  Router m(routing({{{{"ip", false, {{"", "::ffff:0:0/96"}}}}, "reject"}}, "accept"), false, kUps, {});
  EXPECT_EQ(resp(m, "a.com", kTypeA, "alidns", {v4(1, 2, 3, 4)}), "reject");
}

TEST(DnsRouting, ResponseRanges) {
  Router r(routing({{{{"ip", false, {{"", "198.18.1.0/24"}, {"", "fd00:dae::/32"}}}}, "local"}}, "accept"), false,
           kUps, {});
  std::array<uint8_t, 16> v6{};
  v6[0] = 0xfd;
  v6[2] = 0x0d;
  v6[3] = 0xae;
  v6[15] = 1;
  EXPECT_EQ(resp(r, "x", kTypeA, "alidns", {v4(198, 18, 1, 200)}), "local");
  EXPECT_EQ(resp(r, "x", kTypeA, "alidns", {v4(198, 18, 2, 1)}), "accept");
  EXPECT_EQ(resp(r, "x", kTypeAAAA, "alidns", {v6}), "local");
  v6[3] = 0xaf;
  EXPECT_EQ(resp(r, "x", kTypeAAAA, "alidns", {v6}), "accept");
}

TEST(DnsRouting, UnknownNamesAndArguments) {
  EXPECT_THROW(Router(routing({}, "nope"), true, kUps, {}), std::invalid_argument);
  EXPECT_THROW(Router(routing({}, "accept"), true, kUps, {}), std::invalid_argument);  // accept is response-only
  EXPECT_THROW(Router(routing({}, "asis"), false, kUps, {}), std::invalid_argument);   // asis is request-only
  EXPECT_THROW(Router(routing({{{{"qtype", false, {{"", "bogus"}}}}, "reject"}}, "asis"), true, kUps, {}),
               std::invalid_argument);
  EXPECT_THROW(Router(routing({{{{"ip", false, {{"", "1.2.3.4/40"}}}}, "reject"}}, "accept"), false, kUps, {}),
               std::invalid_argument);
  EXPECT_THROW(Router(routing({{{{"ip", false, {{"geoip", "cn"}}}}, "reject"}}, "accept"), false, kUps, {}),
               std::invalid_argument);
}

TEST(DnsLoop, MustRuleAdvice) {
  FlowRoute direct;
  direct.rule = "rules.dae:12";
  EXPECT_EQ(mustRuleFor("198.18.1.53", 53, direct), "dip(198.18.1.53) && dport(53) -> must_direct");
  FlowRoute proxied;
  proxied.outbound = "proxy";
  proxied.rule = "fallback";
  EXPECT_EQ(mustRuleFor("fd00:dae:2::53", 5353, proxied), "dip('fd00:dae:2::53') && dport(5353) -> must_proxy");

  LoopReport r;
  r.kind = LoopKind::CameBack;
  r.upstream = "local";
  r.url = "udp://198.18.1.53:53";
  r.address = "198.18.1.53";
  r.port = 53;
  r.route = direct;
  r.query = "example.test A";
  std::string m = loopMessage(r);
  EXPECT_NE(m.find("DNS loop"), std::string::npos) << m;
  EXPECT_NE(m.find("'local'"), std::string::npos) << m;
  EXPECT_NE(m.find("example.test A"), std::string::npos) << m;
  EXPECT_NE(m.find("Add before rules.dae:12: `dip(198.18.1.53) && dport(53) -> must_direct`"), std::string::npos) << m;

  r.kind = LoopKind::Hijacked;
  r.route = proxied;
  m = loopMessage(r);
  EXPECT_NE(m.find("not `must`"), std::string::npos) << m;
  EXPECT_NE(m.find("Add to the routing section: `dip(198.18.1.53) && dport(53) -> must_proxy`"), std::string::npos) << m;

  r.kind = LoopKind::OwnListener;
  m = loopMessage(r);
  EXPECT_NE(m.find("own dns.bind listener"), std::string::npos) << m;
}

TEST(DnsRouting, ParseCidr) {
  std::array<uint8_t, 16> net{};
  int prefix = 0;
  ASSERT_TRUE(parseCidr("10.0.0.0/8", net, prefix));
  EXPECT_EQ(prefix, 104);
  EXPECT_EQ(net, v4(10, 0, 0, 0));
  ASSERT_TRUE(parseCidr("1.2.3.4", net, prefix));
  EXPECT_EQ(prefix, 128);
  ASSERT_TRUE(parseCidr("fc00::/7", net, prefix));
  EXPECT_EQ(prefix, 7);
  EXPECT_FALSE(parseCidr("1.2.3/8", net, prefix));
  EXPECT_FALSE(parseCidr("::/129", net, prefix));
  EXPECT_FALSE(parseCidr("1.2.3.4/", net, prefix));
}
