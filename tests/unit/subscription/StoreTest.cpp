// file:// paths under the config directory and the persisted copies of -file
// subscriptions.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include "TestServer.h"
#include "subscription/Store.h"

using namespace dae::subscription;
namespace fs = std::filesystem;

namespace {

constexpr fs::perms kPrivate = fs::perms::owner_read | fs::perms::owner_write;

unsigned modeOf(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

std::string errorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const StoreError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(SubscriptionStore, FileLinksAreRelativeToTheConfigDirectory) {
  fs::path dir = "/etc/dae";
  EXPECT_EQ(resolveFileLink(dir, "file://sub.txt"), fs::path("/etc/dae/sub.txt"));
  EXPECT_EQ(resolveFileLink(dir, "file://subs/my%20sub.txt"), fs::path("/etc/dae/subs/my sub.txt"));
  EXPECT_EQ(resolveFileLink(dir, "FILE://subs/./a/../b.txt"), fs::path("/etc/dae/subs/b.txt"));
  EXPECT_NE(errorOf([&] { resolveFileLink(dir, "file:///etc/passwd"); }).find("absolute paths are not allowed"),
            std::string::npos);
  EXPECT_NE(errorOf([&] { resolveFileLink(dir, "file://../passwd"); }).find("outside the config directory"),
            std::string::npos);
  EXPECT_NE(errorOf([&] { resolveFileLink(dir, "file://subs/../../x"); }).find("outside the config directory"),
            std::string::npos);
  EXPECT_NE(errorOf([&] { resolveFileLink(dir, "file://."); }).find("outside the config directory"),
            std::string::npos);
  EXPECT_NE(errorOf([&] { resolveFileLink("", "file://a"); }).find("no"), std::string::npos);
  EXPECT_THROW(resolveFileLink(dir, "file://"), StoreError);
}

TEST(SubscriptionStore, ReadsPrivateFilesOnly) {
  subtest::TempDir cfg;
  cfg.write("subs/ok.txt", "socks5://198.18.1.2:1080#a\n", kPrivate);
  cfg.write("subs/group-read.txt", "x", kPrivate | fs::perms::group_read);
  cfg.write("subs/world.txt", "x", kPrivate | fs::perms::others_read);
  cfg.write("subs/group-write.txt", "x", kPrivate | fs::perms::group_read | fs::perms::group_write);
  EXPECT_EQ(readSubscriptionFile(cfg.path, cfg.path / "subs/ok.txt", 1000), "socks5://198.18.1.2:1080#a\n");
  EXPECT_EQ(readSubscriptionFile(cfg.path, cfg.path / "subs/group-read.txt", 1000), "x");  // 0640 is fine
  std::string e = errorOf([&] { readSubscriptionFile(cfg.path, cfg.path / "subs/world.txt", 1000); });
  EXPECT_NE(e.find("permissions 0604"), std::string::npos) << e;
  e = errorOf([&] { readSubscriptionFile(cfg.path, cfg.path / "subs/group-write.txt", 1000); });
  EXPECT_NE(e.find("too open"), std::string::npos) << e;
  e = errorOf([&] { readSubscriptionFile(cfg.path, cfg.path / "subs", 1000); });
  EXPECT_NE(e.find("is a directory"), std::string::npos) << e;
  e = errorOf([&] { readSubscriptionFile(cfg.path, cfg.path / "subs/missing.txt", 1000); });
  EXPECT_NE(e.find("cannot open"), std::string::npos) << e;
  e = errorOf([&] { readSubscriptionFile(cfg.path, cfg.path / "subs/ok.txt", 10); });
  EXPECT_NE(e.find("larger than 10 bytes"), std::string::npos) << e;
}

TEST(SubscriptionStore, SymlinkOutOfTheConfigDirectoryIsRefused) {
  subtest::TempDir cfg, outside;
  outside.write("secret.txt", "socks5://198.18.1.2:1080#a\n", kPrivate);
  fs::create_symlink(outside.path / "secret.txt", cfg.path / "link.txt");
  std::string e = errorOf([&] { readSubscriptionFile(cfg.path, cfg.path / "link.txt", 1000); });
  EXPECT_NE(e.find("outside the config directory"), std::string::npos) << e;
  cfg.write("real.txt", "inside", kPrivate);
  fs::create_symlink(cfg.path / "real.txt", cfg.path / "inner-link.txt");
  EXPECT_EQ(readSubscriptionFile(cfg.path, cfg.path / "inner-link.txt", 1000), "inside");
}

TEST(SubscriptionStore, InstructionLineIsSkipped) {
  subtest::TempDir cfg;
  cfg.write("a.txt", "@reserved instruction\nsocks5://198.18.1.2:1080#a\n", kPrivate);
  EXPECT_EQ(readSubscriptionFile(cfg.path, cfg.path / "a.txt", 1000), "socks5://198.18.1.2:1080#a\n");
}

TEST(SubscriptionStore, PersistedCopyRoundTripAtomicAndPrivate) {
  subtest::TempDir cfg;
  PersistStore store(cfg.path);
  EXPECT_EQ(store.directory(), cfg.path / "persist.d");
  EXPECT_FALSE(store.read("sub1", 1000).has_value());
  store.write("sub1", "first body");
  store.write("sub1", "second body");
  auto copy = store.read("sub1", 1000);
  ASSERT_TRUE(copy.has_value());
  EXPECT_EQ(copy->body, "second body");
  EXPECT_EQ(copy->path, cfg.path / "persist.d/sub1.sub");
  EXPECT_EQ(modeOf(cfg.path / "persist.d"), 0700u);
  EXPECT_EQ(modeOf(cfg.path / "persist.d/sub1.sub"), 0600u);
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(cfg.path / "persist.d")) {
    ++files;
    EXPECT_EQ(e.path().filename(), "sub1.sub");  // no temporary file left behind
  }
  EXPECT_EQ(files, 1u);
}

TEST(SubscriptionStore, TagsMustBePlainFileNames) {
  EXPECT_TRUE(validPersistTag("my_sub-1"));
  EXPECT_FALSE(validPersistTag(""));
  EXPECT_FALSE(validPersistTag("../x"));
  EXPECT_FALSE(validPersistTag("a/b"));
  EXPECT_FALSE(validPersistTag(".hidden"));
  subtest::TempDir cfg;
  PersistStore store(cfg.path);
  EXPECT_THROW(store.write("../escape", "x"), StoreError);
  EXPECT_THROW(PersistStore("").write("t", "x"), StoreError);
}

TEST(SubscriptionStore, RemoveExceptKeepsConfiguredTagsOnly) {
  subtest::TempDir cfg;
  PersistStore store(cfg.path);
  EXPECT_TRUE(store.removeExcept({}).empty());  // no persist.d yet
  store.write("keep", "a");
  store.write("gone", "b");
  cfg.write("persist.d/gone.sub.tmp.abc123", "partial", kPrivate);
  cfg.write("persist.d/notes.txt", "the user's own file", kPrivate);
  auto removed = store.removeExcept({"keep"});
  EXPECT_EQ(removed.size(), 2u);
  EXPECT_TRUE(fs::exists(cfg.path / "persist.d/keep.sub"));
  EXPECT_FALSE(fs::exists(cfg.path / "persist.d/gone.sub"));
  EXPECT_FALSE(fs::exists(cfg.path / "persist.d/gone.sub.tmp.abc123"));
  EXPECT_TRUE(fs::exists(cfg.path / "persist.d/notes.txt"));
}
