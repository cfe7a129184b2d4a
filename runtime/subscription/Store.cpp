#include "subscription/Store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>

#include "outbound/ShareLink.h"

namespace dae::subscription {

namespace fs = std::filesystem;

namespace {

// Owns a file descriptor.
class Fd {
 public:
  explicit Fd(int fd = -1) noexcept : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const noexcept { return fd_; }
  // Closes now, reporting the error close() returns (it can carry a deferred write error).
  int close() noexcept {
    int rc = fd_ >= 0 ? ::close(fd_) : 0;
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

std::string errnoText(int e) { return std::strerror(e); }

bool inside(const fs::path& dir, const fs::path& p) {
  fs::path rel = p.lexically_relative(dir);
  if (rel.empty()) return false;
  auto first = rel.begin();
  return first != rel.end() && *first != ".." && rel != ".";
}

// Reads at most maxBytes from fd (throws when there is more).
std::string readAll(int fd, const fs::path& path, std::size_t maxBytes) {
  std::string out;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw StoreError("cannot read '" + path.string() + "': " + errnoText(errno));
    }
    if (n == 0) break;
    if (out.size() + static_cast<std::size_t>(n) > maxBytes)
      throw StoreError("'" + path.string() + "' is larger than " + std::to_string(maxBytes) + " bytes");
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

void writeAll(int fd, std::string_view data, const fs::path& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw StoreError("cannot write '" + path.string() + "': " + errnoText(errno));
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace

fs::path resolveFileLink(const fs::path& configDir, std::string_view link) {
  constexpr std::string_view scheme = "file://";
  if (link.size() < scheme.size() || !std::equal(scheme.begin(), scheme.end(), link.begin(), [](char a, char b) {
        return a == std::tolower(static_cast<unsigned char>(b));
      }))
    throw StoreError("'" + std::string(link) + "' is not a file:// link");
  if (configDir.empty())
    throw StoreError("file:// subscriptions are read relative to the config directory, and there is none "
                     "(run with -c CONFIG or --config-dir DIR)");
  std::string_view rest = link.substr(scheme.size());
  rest = rest.substr(0, rest.find_first_of("?#"));
  std::string relative = outbound::percentDecode(rest);
  if (relative.empty()) throw StoreError("'" + std::string(link) + "' names no file");
  if (relative.front() == '/')
    throw StoreError("'" + std::string(link) + "': absolute paths are not allowed; a file:// path is relative to " +
                     "the config directory " + configDir.string() + " (file://NAME or file://DIR/NAME)");
  if (relative.find('\0') != std::string::npos) throw StoreError("'" + std::string(link) + "': NUL in the path");
  fs::path base = configDir.lexically_normal();
  fs::path p = (base / relative).lexically_normal();
  if (!inside(base, p))
    throw StoreError("'" + std::string(link) + "' leads outside the config directory " + configDir.string());
  return p;
}

std::string readSubscriptionFile(const fs::path& configDir, const fs::path& path, std::size_t maxBytes) {
  std::error_code ec;
  fs::path real = fs::canonical(path, ec);
  if (ec) throw StoreError("cannot open '" + path.string() + "': " + ec.message());
  fs::path realDir = fs::canonical(configDir, ec);
  if (ec) throw StoreError("cannot open the config directory '" + configDir.string() + "': " + ec.message());
  if (!inside(realDir, real))
    throw StoreError("'" + path.string() + "' is a link to '" + real.string() + "', outside the config directory");
  Fd fd(::open(real.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) throw StoreError("cannot open '" + path.string() + "': " + errnoText(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw StoreError("cannot stat '" + path.string() + "': " + errnoText(errno));
  if (S_ISDIR(st.st_mode)) throw StoreError("'" + path.string() + "' is a directory");
  if (!S_ISREG(st.st_mode)) throw StoreError("'" + path.string() + "' is not a regular file");
  if ((st.st_mode & 0037) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 0777));
    throw StoreError("permissions " + std::string(mode) + " of '" + path.string() +
                     "' are too open: a subscription file holds credentials and must not be writable by its "
                     "group nor accessible by others (chmod 0600 or 0640)");
  }
  std::string body = readAll(fd.get(), path, maxBytes);
  if (!body.empty() && body.front() == '@') {  // an instruction line (upstream reserves it; none is defined)
    auto nl = body.find('\n');
    body.erase(0, nl == std::string::npos ? body.size() : nl + 1);
  }
  return body;
}

bool validPersistTag(std::string_view tag) {
  if (tag.empty() || tag.size() > 200 || tag.front() == '.') return false;
  for (char c : tag)
    if (c == '/' || c == '\\' || c == '\0' || static_cast<unsigned char>(c) < 0x20) return false;
  return true;
}

PersistStore::PersistStore(fs::path configDir) : configDir_(std::move(configDir)) {
  if (!configDir_.empty()) dir_ = configDir_ / "persist.d";
}

fs::path PersistStore::pathFor(const std::string& tag) const {
  if (dir_.empty())
    throw StoreError("persisted copies live in the config directory, and there is none "
                     "(run with -c CONFIG or --config-dir DIR)");
  if (!validPersistTag(tag)) throw StoreError("the tag '" + tag + "' cannot name a file");
  return dir_ / (tag + ".sub");
}

void PersistStore::write(const std::string& tag, std::string_view body) const {
  const fs::path target = pathFor(tag);
  if (::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST)
    throw StoreError("cannot create '" + dir_.string() + "': " + errnoText(errno));
  std::string tmpl = (dir_ / (tag + ".sub.tmp.XXXXXX")).string();
  Fd fd(::mkostemp(tmpl.data(), O_CLOEXEC));  // mode 0600
  if (fd.get() < 0) throw StoreError("cannot create a file in '" + dir_.string() + "': " + errnoText(errno));
  const fs::path tmp = tmpl;
  try {
    writeAll(fd.get(), body, tmp);
    if (::fsync(fd.get()) != 0) throw StoreError("cannot sync '" + tmp.string() + "': " + errnoText(errno));
    if (fd.close() != 0) throw StoreError("cannot write '" + tmp.string() + "': " + errnoText(errno));
    if (::rename(tmp.c_str(), target.c_str()) != 0)
      throw StoreError("cannot rename '" + tmp.string() + "' to '" + target.string() + "': " + errnoText(errno));
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  // The rename is durable once the directory is synced.
  Fd dirFd(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dirFd.get() < 0 || ::fsync(dirFd.get()) != 0)
    throw StoreError("cannot sync the directory '" + dir_.string() + "': " + errnoText(errno));
}

std::optional<PersistStore::Copy> PersistStore::read(const std::string& tag, std::size_t maxBytes) const {
  const fs::path path = pathFor(tag);
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY));
  if (fd.get() < 0) {
    if (errno == ENOENT) return std::nullopt;
    throw StoreError("cannot open '" + path.string() + "': " + errnoText(errno));
  }
  Copy c;
  c.body = readAll(fd.get(), path, maxBytes);
  c.path = path;
  std::error_code ec;
  c.modified = fs::last_write_time(path, ec);
  return c;
}

std::vector<fs::path> PersistStore::removeExcept(const std::set<std::string>& keep) const {
  std::vector<fs::path> removed;
  if (dir_.empty()) return removed;
  std::error_code ec;
  fs::directory_iterator it(dir_, ec), end;
  if (ec) return removed;  // no persist.d: nothing to remove
  for (; it != end; it.increment(ec)) {
    if (ec) break;
    const std::string name = it->path().filename().string();
    bool remove = false;
    if (auto tmp = name.find(".sub.tmp."); tmp != std::string::npos) {
      remove = true;  // left by an interrupted write (refreshes never overlap)
    } else if (name.size() > 4 && name.compare(name.size() - 4, 4, ".sub") == 0) {
      remove = !keep.count(name.substr(0, name.size() - 4));
    }
    if (!remove) continue;
    std::error_code rmEc;
    if (fs::remove(it->path(), rmEc)) removed.push_back(it->path());
  }
  return removed;
}

}  // namespace dae::subscription
