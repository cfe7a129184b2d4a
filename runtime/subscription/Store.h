// Subscription files under the config directory (upstream dae's layout):
//
//   file://DIR/NAME      reads CONFIG_DIR/DIR/NAME. Paths are relative to the config
//                        directory and must stay inside it (symbolic links resolved);
//                        the file must not be group-writable nor accessible by others
//                        (it holds credentials; upstream refuses the same); a first
//                        line starting with '@' is skipped (upstream reserves it).
//   TAG: http(s)-file:// persisted copies in CONFIG_DIR/persist.d/TAG.sub (directory
//                        0700, files 0600), written atomically (temporary file, fsync,
//                        rename, fsync of the directory), read when a fetch fails.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace dae::subscription {

class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The file a file:// link names. Throws StoreError (absolute path, escapes the
// config directory, no config directory).
std::filesystem::path resolveFileLink(const std::filesystem::path& configDir, std::string_view link);

// Reads a subscription file (the checks above). Throws StoreError.
std::string readSubscriptionFile(const std::filesystem::path& configDir, const std::filesystem::path& path,
                                 std::size_t maxBytes);

// A persisted copy may only be named by a tag that is a plain file name.
bool validPersistTag(std::string_view tag);

class PersistStore {
 public:
  explicit PersistStore(std::filesystem::path configDir);

  std::filesystem::path directory() const { return dir_; }
  std::filesystem::path pathFor(const std::string& tag) const;

  // Replaces the copy of tag atomically. Throws StoreError.
  void write(const std::string& tag, std::string_view body) const;

  struct Copy {
    std::string body;
    std::filesystem::path path;
    std::filesystem::file_time_type modified;
  };
  // nullopt: there is no copy. Throws StoreError when one exists but cannot be read.
  std::optional<Copy> read(const std::string& tag, std::size_t maxBytes) const;

  // Deletes the copies (TAG.sub) and leftover temporary files of tags not in
  // `keep` (upstream deletes copies of subscriptions no longer configured).
  // Returns the removed paths.
  std::vector<std::filesystem::path> removeExcept(const std::set<std::string>& keep) const;

 private:
  std::filesystem::path configDir_, dir_;
};

}  // namespace dae::subscription
