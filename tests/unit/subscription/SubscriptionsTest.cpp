// Subscriptions::refresh end to end on the loopback: every format over HTTP, a file,
// -file persistence and the fallbacks, and the nodes in GroupManager's pool under
// subtag()/name() filters.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "TestServer.h"
#include "artifact.pb.h"
#include "group/Groups.h"
#include "outbound/ShareLink.h"
#include "subscription/Subscriptions.h"

using namespace dae::subscription;
namespace fs = std::filesystem;
namespace asio = boost::asio;

namespace {

constexpr fs::perms kPrivate = fs::perms::owner_read | fs::perms::owner_write;

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(DAE_SUB_FIXTURES) + "/" + name, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> describeNodes(const std::vector<dae::group::PoolNode>& nodes) {
  std::vector<std::string> out;
  for (const auto& n : nodes) out.push_back(n.tag + "/" + n.name);
  return out;
}

const SourceStatus& statusOf(const std::vector<SourceStatus>& all, const std::string& tag) {
  for (const auto& s : all)
    if (s.source.tag == tag) return s;
  throw std::runtime_error("no status for " + tag);
}

Options quickOptions(const fs::path& dir) {
  Options o;
  o.configDir = dir;
  o.timeout = std::chrono::milliseconds(3000);
  return o;
}

}  // namespace

TEST(Subscriptions, SourceLinks) {
  auto l = parseSourceLink({"t", "https-file://host/sub?x=1"});
  EXPECT_EQ(l.kind, SourceLink::Kind::Http);
  EXPECT_TRUE(l.persist);
  EXPECT_EQ(l.url, "https://host/sub?x=1");
  l = parseSourceLink({"", " HTTP://host/a "});
  EXPECT_FALSE(l.persist);
  EXPECT_EQ(l.url, "HTTP://host/a");
  EXPECT_EQ(parseSourceLink({"", "file://subs/a.txt"}).kind, SourceLink::Kind::File);
  EXPECT_THROW(parseSourceLink({"", "http-file://host/a"}), SubscriptionError);  // needs a tag
  EXPECT_THROW(parseSourceLink({"../x", "https-file://host/a"}), SubscriptionError);
  EXPECT_THROW(parseSourceLink({"t", "ftp://host/a"}), SubscriptionError);
  EXPECT_THROW(parseSourceLink({"t", "host/a"}), SubscriptionError);
}

TEST(Subscriptions, EveryFormatOverHttpAndFromAFile) {
  subtest::TestServer server;
  server.set("/plain", {200, fixture("links.txt"), {}, false});
  server.set("/b64", {200, fixture("links.b64"), {}, false});
  server.set("/b64url", {200, fixture("links.b64url"), {}, false});
  server.set("/sip008", {200, fixture("sip008.json"), {}, false});
  subtest::TempDir cfg;
  cfg.write("subs/local.txt", "socks5://198.18.1.2:1080#local-1\n", kPrivate);
  Subscriptions subs(quickOptions(cfg.path));
  auto nodes = subs.refresh({{"plain", server.url("/plain")},
                             {"b64", server.url("/b64")},
                             {"b64url", server.url("/b64url")},
                             {"sip", server.url("/sip008")},
                             {"local", "file://subs/local.txt"}});
  std::vector<std::string> want;
  for (std::string tag : {"plain", "b64", "b64url"})
    for (std::string n : {"ss-1 HK", "vm-1", "tr-1", "socks-1"}) want.push_back(tag + "/" + n);
  want.push_back("sip/sip-1");
  want.push_back("sip/sip-v6");
  want.push_back("local/local-1");
  EXPECT_EQ(describeNodes(nodes), want);
  auto st = subs.status();
  ASSERT_EQ(st.size(), 5u);
  EXPECT_EQ(statusOf(st, "plain").format, "link list");
  EXPECT_EQ(statusOf(st, "b64").format, "base64 link list");
  EXPECT_EQ(statusOf(st, "b64url").format, "base64 link list");
  EXPECT_EQ(statusOf(st, "sip").format, "SIP008 JSON");
  EXPECT_EQ(statusOf(st, "plain").skipped, 3u);
  EXPECT_EQ(statusOf(st, "sip").skipped, 3u);
  EXPECT_EQ(statusOf(st, "local").origin, Origin::File);
  for (const auto& s : st) EXPECT_TRUE(s.error.empty()) << s.source.tag << ": " << s.error;
  EXPECT_NE(subs.describe().find("subscription 'sip' (" + server.url("/sip008") + "): 2 nodes (fetched, SIP008 JSON, 3 skipped"),
            std::string::npos)
      << subs.describe();
}

TEST(Subscriptions, PersistedCopyIsTheFallbackOfAFileVariant) {
  subtest::TempDir cfg;
  auto server = std::make_unique<subtest::TestServer>();
  server->set("/sub", {200, "socks5://198.18.1.2:1080#from-net\n", {}, false});
  const std::string link = "http-file" + server->url("/sub").substr(4);
  {
    Subscriptions subs(quickOptions(cfg.path));
    auto nodes = subs.refresh({{"mysub", link}});
    EXPECT_EQ(describeNodes(nodes), std::vector<std::string>{"mysub/from-net"});
    EXPECT_EQ(statusOf(subs.status(), "mysub").origin, Origin::Fetched);
  }
  std::ifstream saved(cfg.path / "persist.d/mysub.sub");
  std::string body((std::istreambuf_iterator<char>(saved)), std::istreambuf_iterator<char>());
  EXPECT_EQ(body, "socks5://198.18.1.2:1080#from-net\n");

  // An answer without a usable node does not replace the good copy, and falls back to it.
  server->set("/sub", {200, "<html>captive portal</html>", {}, false});
  {
    Subscriptions subs(quickOptions(cfg.path));
    auto nodes = subs.refresh({{"mysub", link}});
    EXPECT_EQ(describeNodes(nodes), std::vector<std::string>{"mysub/from-net"});
    auto st = statusOf(subs.status(), "mysub");
    EXPECT_EQ(st.origin, Origin::Persisted);
    EXPECT_NE(st.error.find("neither SIP008 JSON"), std::string::npos) << st.error;
  }
  // The server is gone: a new process (no memory of earlier refreshes) uses the copy.
  server.reset();
  Subscriptions subs(quickOptions(cfg.path));
  auto nodes = subs.refresh({{"mysub", link}});
  EXPECT_EQ(describeNodes(nodes), std::vector<std::string>{"mysub/from-net"});
  auto st = statusOf(subs.status(), "mysub");
  EXPECT_EQ(st.origin, Origin::Persisted);
  EXPECT_FALSE(st.error.empty());
  EXPECT_NE(subs.describe().find("persisted copy"), std::string::npos) << subs.describe();
}

TEST(Subscriptions, FailuresWithoutACopy) {
  subtest::TempDir cfg;
  subtest::TestServer server;
  server.set("/ok", {200, "socks5://198.18.1.2:1080#ok\n", {}, false});
  Subscriptions subs(quickOptions(cfg.path));
  auto nodes = subs.refresh({{"a", "http-file" + server.url("/missing").substr(4)},
                             {"", "http-file" + server.url("/ok").substr(4)},
                             {"b", "file://none.txt"},
                             {"c", server.url("/ok")}});
  EXPECT_EQ(describeNodes(nodes), std::vector<std::string>{"c/ok"});
  auto st = subs.status();
  ASSERT_EQ(st.size(), 4u);
  EXPECT_EQ(st[0].origin, Origin::Failed);
  EXPECT_NE(st[0].error.find("no persisted copy at"), std::string::npos) << st[0].error;
  EXPECT_EQ(st[1].origin, Origin::Failed);
  EXPECT_NE(st[1].error.find("needs a tag"), std::string::npos) << st[1].error;
  EXPECT_EQ(st[2].origin, Origin::Failed);
  EXPECT_NE(st[2].error.find("cannot open"), std::string::npos) << st[2].error;
  EXPECT_EQ(st[3].origin, Origin::Fetched);
}

TEST(Subscriptions, ARefreshKeepsTheNodesOfAFailingSource) {
  subtest::TempDir cfg;
  subtest::TestServer server;
  server.set("/sub", {200, "socks5://198.18.1.2:1080#n1\nsocks5://198.18.1.2:1081#n2\n", {}, false});
  Subscriptions subs(quickOptions(cfg.path));
  std::vector<Source> sources{{"s", server.url("/sub")}};
  EXPECT_EQ(subs.refresh(sources).size(), 2u);
  server.set("/sub", {503, "down", {}, false});
  auto nodes = subs.refresh(sources);
  EXPECT_EQ(describeNodes(nodes), (std::vector<std::string>{"s/n1", "s/n2"}));
  EXPECT_EQ(statusOf(subs.status(), "s").origin, Origin::Kept);
  EXPECT_NE(statusOf(subs.status(), "s").error.find("HTTP 503"), std::string::npos);
  // A source that is no longer configured is forgotten.
  EXPECT_TRUE(subs.refresh({}).empty());
  EXPECT_TRUE(subs.refresh(sources).empty());
  EXPECT_EQ(statusOf(subs.status(), "s").origin, Origin::Failed);
}

TEST(Subscriptions, StaleCopiesAreRemoved) {
  subtest::TempDir cfg;
  cfg.write("persist.d/old.sub", "socks5://198.18.1.2:1080#old\n", kPrivate);
  subtest::TestServer server;
  server.set("/sub", {200, "socks5://198.18.1.2:1080#new\n", {}, false});
  Subscriptions subs(quickOptions(cfg.path));
  subs.refresh({{"new", "http-file" + server.url("/sub").substr(4)}});
  EXPECT_FALSE(fs::exists(cfg.path / "persist.d/old.sub"));
  EXPECT_TRUE(fs::exists(cfg.path / "persist.d/new.sub"));
}

TEST(Subscriptions, ConcurrencyBoundStillFetchesEverySource) {
  subtest::TempDir cfg;
  subtest::TestServer server;
  std::vector<Source> sources;
  for (int i = 0; i < 9; ++i) {
    std::string path = "/s" + std::to_string(i);
    server.set(path, {200, "socks5://198.18.1.2:1080#n" + std::to_string(i) + "\n", {}, false});
    sources.push_back({"t" + std::to_string(i), server.url(path)});
  }
  Options o = quickOptions(cfg.path);
  o.concurrency = 2;
  Subscriptions subs(o);
  auto nodes = subs.refresh(sources);
  ASSERT_EQ(nodes.size(), 9u);
  for (int i = 0; i < 9; ++i) EXPECT_EQ(nodes[i].name, "n" + std::to_string(i));  // source order
}

TEST(Subscriptions, NodesPopulateTheGroupPoolUnderFilters) {
  subtest::TestServer server;
  server.set("/a", {200, "socks5://198.18.1.2:1080#HK-01\nsocks5://198.18.1.2:1081#US-01\n", {}, false});
  server.set("/b", {200, dae::outbound::base64Encode("socks5://198.18.1.2:1082#HK-02\n"), {}, false});
  subtest::TempDir cfg;
  Subscriptions subs(quickOptions(cfg.path));

  dae::artifact::ConfigData config;
  auto* sub = config.add_subscriptions();
  sub->set_tag("alpha");
  sub->set_link(server.url("/a"));
  sub = config.add_subscriptions();
  sub->set_tag("beta");
  sub->set_link(server.url("/b"));
  auto* own = config.add_nodes();
  own->set_name("mine");
  own->set_link("socks5://198.18.1.2:1090");
  auto addGroup = [&](const std::string& name, const std::string& fn, const std::string& key, const std::string& v) {
    auto* g = config.add_groups();
    g->set_name(name);
    g->set_policy("min");
    auto* call = g->add_filters()->add_calls();
    call->set_function(fn);
    auto* a = call->add_args();
    a->set_key(key);
    a->set_value(v);
  };
  addGroup("only_alpha", "subtag", "", "alpha");
  addGroup("hk", "name", "keyword", "HK");
  addGroup("subs_by_regex", "subtag", "regex", "^(alpha|beta)$");
  config.add_groups()->set_name("everything");
  config.mutable_groups()->rbegin()->set_policy("random");

  dae::group::ManagerOptions mo;
  mo.extraNodes = subs.refresh(sourcesOf(config));
  asio::io_context io;
  dae::group::GroupManager groups(io.get_executor(), config, {}, mo);
  EXPECT_EQ(groups.memberNames("only_alpha"), (std::vector<std::string>{"HK-01", "US-01"}));
  EXPECT_EQ(groups.memberNames("hk"), (std::vector<std::string>{"HK-01", "HK-02"}));
  EXPECT_EQ(groups.memberNames("subs_by_regex"), (std::vector<std::string>{"HK-01", "US-01", "HK-02"}));
  EXPECT_EQ(groups.memberNames("everything"), (std::vector<std::string>{"mine", "HK-01", "US-01", "HK-02"}));
  auto picked = groups.pick("only_alpha", dae::group::Kind::Tcp4);
  ASSERT_TRUE(picked);
  EXPECT_EQ(groups.nodeName(picked), "HK-01");
  EXPECT_NE(picked->describe().find("198.18.1.2:1080"), std::string::npos) << picked->describe();
}
