// Minimal RAII over libbpf for the driver tests: open an object from memory,
// load it (real verifier), find programs and maps, BPF_PROG_TEST_RUN.
// Nothing here attaches a program anywhere. The runtime gets its own loader;
// this stays test-only on purpose.
#pragma once

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace dae::test {

// libbpf reports (verifier log included) through one global callback; the
// tests collect it so that a failed load shows why.
inline std::string& libbpfLog() {
  static std::string log;
  return log;
}

inline int collectLibbpfLog(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char buf[4096];
  int n = std::vsnprintf(buf, sizeof(buf), fmt, args);
  libbpfLog().append(buf, n < 0 ? 0 : std::min<size_t>(static_cast<size_t>(n), sizeof(buf) - 1));
  return n;
}

inline void installLibbpfLogger() {
  static std::once_flag once;
  std::call_once(once, [] { libbpf_set_print(collectLibbpfLog); });
}

class BpfError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline std::string errnoText(int err) { return std::strerror(err < 0 ? -err : err); }

// Owns a bpf_object and, after load(), the kernel objects (maps, programs)
// it created; closing the object releases them all.
class BpfObject {
 public:
  static BpfObject openMem(const std::vector<char>& elf, const std::string& name) {
    installLibbpfLogger();
    libbpfLog().clear();
    bpf_object_open_opts opts{};
    opts.sz = sizeof(opts);
    opts.object_name = name.c_str();
    bpf_object* obj = bpf_object__open_mem(elf.data(), elf.size(), &opts);
    if (!obj) {
      int err = errno;
      throw BpfError("bpf_object__open_mem(" + name + "): " + errnoText(err) + "\n" + libbpfLog());
    }
    return BpfObject(obj);
  }

  void load() {
    libbpfLog().clear();
    if (int err = bpf_object__load(obj_.get()))
      throw BpfError("bpf_object__load: " + errnoText(err) + "\n" + libbpfLog());
  }

  bpf_object* get() const { return obj_.get(); }

  int progFd(const char* name) const {
    bpf_program* p = bpf_object__find_program_by_name(obj_.get(), name);
    if (!p) throw BpfError(std::string("no program ") + name);
    int fd = bpf_program__fd(p);
    if (fd < 0) throw BpfError(std::string("program not loaded: ") + name);
    return fd;
  }

  bpf_map* map(const char* name) const {
    bpf_map* m = bpf_object__find_map_by_name(obj_.get(), name);
    if (!m) throw BpfError(std::string("no map ") + name);
    return m;
  }

  int mapFd(const char* name) const {
    int fd = bpf_map__fd(map(name));
    if (fd < 0) throw BpfError(std::string("map not created: ") + name);
    return fd;
  }

 private:
  struct Closer {
    void operator()(bpf_object* o) const { bpf_object__close(o); }
  };
  explicit BpfObject(bpf_object* o) : obj_(o) {}
  std::unique_ptr<bpf_object, Closer> obj_;
};

// One BPF_PROG_TEST_RUN of a tc program.
struct TcRun {
  int retval = -1;
  uint32_t markOut = 0;  // skb->mark after the program
};

inline TcRun runTc(int progFd, const std::vector<uint8_t>& packet, uint32_t markIn = 0) {
  __sk_buff ctxIn{};
  ctxIn.mark = markIn;
  __sk_buff ctxOut{};
  std::vector<uint8_t> dataOut(packet.size() + 256);
  bpf_test_run_opts opts{};
  opts.sz = sizeof(opts);
  opts.data_in = packet.data();
  opts.data_size_in = static_cast<uint32_t>(packet.size());
  opts.data_out = dataOut.data();
  opts.data_size_out = static_cast<uint32_t>(dataOut.size());
  opts.ctx_in = &ctxIn;
  opts.ctx_size_in = sizeof(ctxIn);
  opts.ctx_out = &ctxOut;
  opts.ctx_size_out = sizeof(ctxOut);
  opts.repeat = 1;
  if (int err = bpf_prog_test_run_opts(progFd, &opts))
    throw BpfError("bpf_prog_test_run_opts: " + errnoText(err));
  return TcRun{static_cast<int>(opts.retval), ctxOut.mark};
}

// Typed map access. Lookups of absent keys return false rather than throw,
// since "not there" is what several tests check.
template <typename K, typename V>
bool mapLookup(int fd, const K& key, V& value) {
  return bpf_map_lookup_elem(fd, &key, &value) == 0;
}

template <typename K, typename V>
void mapUpdate(int fd, const K& key, const V& value) {
  if (bpf_map_update_elem(fd, &key, &value, BPF_ANY) != 0)
    throw BpfError("bpf_map_update_elem: " + errnoText(errno));
}

// Sum of a PERCPU_ARRAY<u64> slot over all possible CPUs.
inline uint64_t perCpuSum(int fd, uint32_t index) {
  int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) throw BpfError("libbpf_num_possible_cpus: " + errnoText(cpus));
  std::vector<uint64_t> values(static_cast<size_t>(cpus));
  if (bpf_map_lookup_elem(fd, &index, values.data()) != 0)
    throw BpfError("per-cpu lookup: " + errnoText(errno));
  uint64_t sum = 0;
  for (uint64_t v : values) sum += v;
  return sum;
}

}  // namespace dae::test
