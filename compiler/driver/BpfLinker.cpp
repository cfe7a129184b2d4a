#include "driver/BpfLinker.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "driver/BpfCompiler.h"

namespace dae::driver {
namespace {

std::string errnoText(int err) { return std::strerror(err < 0 ? -err : err); }

// An anonymous in-memory file, reachable by path as /proc/self/fd/N.
class MemFile {
 public:
  explicit MemFile(const char* name) : fd_(memfd_create(name, MFD_CLOEXEC)) {
    if (fd_ < 0) throw DriverError(std::string("dae linker: memfd_create: ") + std::strerror(errno));
  }
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;
  ~MemFile() { ::close(fd_); }

  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }

  void write(std::span<const char> bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw DriverError(std::string("dae linker: writing a memfd: ") + std::strerror(errno));
      done += static_cast<size_t>(n);
    }
  }

  // The whole file (whatever wrote it: the linker opens it by path).
  std::vector<char> read() const {
    struct stat st {};
    if (fstat(fd_, &st) != 0) throw DriverError(std::string("dae linker: fstat: ") + std::strerror(errno));
    std::vector<char> out(static_cast<size_t>(st.st_size));
    size_t done = 0;
    while (done < out.size()) {
      ssize_t n = ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw DriverError(std::string("dae linker: reading a memfd: ") + std::strerror(errno));
      done += static_cast<size_t>(n);
    }
    return out;
  }

 private:
  int fd_;
};

struct LinkerDeleter {
  void operator()(bpf_linker* l) const { bpf_linker__free(l); }
};

}  // namespace

std::vector<char> linkBpfObjects(std::span<const std::span<const char>> objects) {
  MemFile output("dae-linked.o");
  std::unique_ptr<bpf_linker, LinkerDeleter> linker(bpf_linker__new(output.path().c_str(), nullptr));
  if (!linker) throw DriverError("dae linker: bpf_linker__new: " + errnoText(errno));
  for (size_t i = 0; i < objects.size(); ++i) {
    MemFile input("dae-input.o");
    input.write(objects[i]);
    if (int err = bpf_linker__add_file(linker.get(), input.path().c_str(), nullptr); err != 0)
      throw DriverError("dae linker: cannot link object #" + std::to_string(i) + ": " + errnoText(err) +
                        " (libbpf's message above says why)");
  }
  if (int err = bpf_linker__finalize(linker.get()); err != 0)
    throw DriverError("dae linker: bpf_linker__finalize: " + errnoText(err));
  linker.reset();  // flushes and closes the output
  return output.read();
}

}  // namespace dae::driver
