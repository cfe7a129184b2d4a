#include "loader/Loader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <fstream>
#include <iterator>
#include <mutex>

#include "driver/Artifact.h"

namespace dae::loader {
namespace {

std::mutex gLogMutex;
std::string* gLog = nullptr;  // guarded by gLogMutex; set while a capture is alive

int printToBuffer(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  // Verifier logs arrive as one message of many kilobytes: size the buffer to fit.
  va_list copy;
  va_copy(copy, args);
  int n = std::vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  if (n <= 0) return n;
  std::string text(static_cast<size_t>(n) + 1, '\0');
  std::vsnprintf(text.data(), text.size(), fmt, args);
  text.resize(static_cast<size_t>(n));
  std::lock_guard<std::mutex> lock(gLogMutex);
  if (gLog) gLog->append(text);
  return n;
}

template <typename M>
void parseSection(const std::map<std::string, std::string>& sections, const std::string& name, M& out) {
  auto it = sections.find(name);
  if (it == sections.end()) throw LoadError("not a rules.o made by daec: section " + name + " is missing", "");
  if (!out.ParseFromString(it->second)) throw LoadError("section " + name + " is corrupt", "");
}

}  // namespace

LibbpfLogCapture::LibbpfLogCapture() {
  std::lock_guard<std::mutex> lock(gLogMutex);
  gLog = new std::string;
  libbpf_set_print(printToBuffer);
}

LibbpfLogCapture::~LibbpfLogCapture() {
  std::lock_guard<std::mutex> lock(gLogMutex);
  delete gLog;
  gLog = nullptr;
}

std::string LibbpfLogCapture::text() const {
  std::lock_guard<std::mutex> lock(gLogMutex);
  return gLog ? *gLog : std::string();
}

Artifact Artifact::fromBytes(std::vector<char> elf) {
  Artifact a;
  std::map<std::string, std::string> sections;
  try {
    sections = driver::readSections(elf);
  } catch (const std::exception& e) {
    throw LoadError(e.what(), "");
  }
  parseSection(sections, ".dae.meta", a.meta);
  parseSection(sections, ".dae.outbounds", a.outbounds);
  parseSection(sections, ".dae.rules", a.rules);
  parseSection(sections, ".dae.sets", a.sets);
  parseSection(sections, ".dae.config", a.config);
  a.elf = std::move(elf);
  return a;
}

Artifact Artifact::fromFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw LoadError("cannot read '" + path + "': " + std::strerror(errno), "");
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  try {
    return fromBytes(std::move(bytes));
  } catch (const LoadError& e) {
    throw LoadError(path + ": " + e.what(), e.log());
  }
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) close(fd_);
}

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) close(fd_);
    fd_ = o.release();
  }
  return *this;
}

std::string mapReuseMismatch(bpf_object* obj, const std::string& name, int fd) {
  const bpf_map* m = bpf_object__find_map_by_name(obj, name.c_str());
  if (!m) return "the new program has no map " + name;
  bpf_map_info info{};
  uint32_t len = sizeof info;
  if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0)
    return "cannot inspect the running map " + name + ": " + std::strerror(errno);
  auto differs = [&](const char* what, uint64_t running, uint64_t next) {
    return "map " + name + ": " + what + " " + std::to_string(running) + " in the running program, " +
           std::to_string(next) + " in the new one";
  };
  if (info.type != static_cast<uint32_t>(bpf_map__type(m))) return differs("type", info.type, bpf_map__type(m));
  if (info.key_size != bpf_map__key_size(m)) return differs("key size", info.key_size, bpf_map__key_size(m));
  if (info.value_size != bpf_map__value_size(m))
    return differs("value size", info.value_size, bpf_map__value_size(m));
  if (info.max_entries != bpf_map__max_entries(m))
    return differs("max_entries", info.max_entries, bpf_map__max_entries(m));
  if (info.map_flags != bpf_map__map_flags(m)) return differs("flags", info.map_flags, bpf_map__map_flags(m));
  return "";
}

std::vector<uint64_t> readRuleHits(int fd, uint32_t count) {
  int cpus = libbpf_num_possible_cpus();
  std::vector<uint64_t> out(count, 0), percpu(cpus > 0 ? static_cast<size_t>(cpus) : 1);
  if (fd < 0) return out;
  for (uint32_t i = 0; i < count; ++i) {
    if (bpf_map_lookup_elem(fd, &i, percpu.data()) != 0) continue;
    for (uint64_t v : percpu) out[i] += v;
  }
  return out;
}

BpfObject::BpfObject(const Artifact& artifact, const std::vector<std::string>& programs, const MapReuse& reuse) {
  LibbpfLogCapture capture;
  LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "dae_rules");
  obj_ = bpf_object__open_mem(artifact.elf.data(), artifact.elf.size(), &opts);
  if (!obj_) throw LoadError(std::string("libbpf cannot open the object: ") + std::strerror(errno), capture.text());
  if (!programs.empty()) {
    bpf_program* prog;
    bpf_object__for_each_program(prog, obj_) {
      bool wanted = std::find(programs.begin(), programs.end(), bpf_program__name(prog)) != programs.end();
      bpf_program__set_autoload(prog, wanted);
    }
  }
  for (const auto& [name, fd] : reuse) {
    std::string why = mapReuseMismatch(obj_, name, fd);
    if (why.empty() && bpf_map__reuse_fd(bpf_object__find_map_by_name(obj_, name.c_str()), fd) != 0)
      why = "cannot take over map " + name + ": " + std::strerror(errno);
    if (!why.empty()) {
      bpf_object__close(obj_);
      obj_ = nullptr;
      throw LoadError("the new program is not compatible with the running one: " + why, "");
    }
  }
  if (int err = bpf_object__load(obj_); err) {
    std::string log = capture.text();
    bpf_object__close(obj_);
    obj_ = nullptr;
    throw LoadError(std::string("the kernel refused the program: ") + std::strerror(-err), log);
  }
  for (const auto& m : artifact.sets.maps()) {
    int fd = mapFd(m.map());
    if (fd < 0) throw LoadError("map " + m.map() + " of .dae.sets is not in the object", "");
    for (int i = 0; i < m.keys_size(); ++i) {
      if (m.keys(i).size() != m.key_size() || m.values(i).size() != m.value_size())
        throw LoadError("entry " + std::to_string(i) + " of map " + m.map() + " has the wrong size", "");
      if (bpf_map_update_elem(fd, m.keys(i).data(), m.values(i).data(), BPF_ANY) != 0)
        throw LoadError("cannot fill map " + m.map() + ": " + std::strerror(errno), "");
    }
  }
}

BpfObject::~BpfObject() {
  if (obj_) bpf_object__close(obj_);
}

int BpfObject::programFd(const std::string& name) const {
  bpf_program* p = bpf_object__find_program_by_name(obj_, name.c_str());
  int fd = p ? bpf_program__fd(p) : -1;
  if (fd < 0) throw LoadError("program " + name + " is not loaded", "");
  return fd;
}

int BpfObject::mapFd(const std::string& name) const {
  bpf_map* m = bpf_object__find_map_by_name(obj_, name.c_str());
  return m ? bpf_map__fd(m) : -1;
}

UniqueFd BpfObject::dupMap(const std::string& name) const {
  int fd = mapFd(name);
  if (fd < 0) throw LoadError("map " + name + " is not in the object", "");
  int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) throw LoadError("cannot duplicate the fd of map " + name + ": " + std::strerror(errno), "");
  return UniqueFd(copy);
}

std::vector<ProgramInfo> BpfObject::programs() const {
  std::vector<ProgramInfo> out;
  bpf_program* prog;
  bpf_object__for_each_program(prog, obj_) {
    int fd = bpf_program__fd(prog);
    if (fd < 0) continue;
    ProgramInfo info{bpf_program__name(prog), fd, 0, 0};
    bpf_prog_info pi{};
    uint32_t len = sizeof pi;
    if (bpf_obj_get_info_by_fd(fd, &pi, &len) == 0) {
      info.verifiedInsns = pi.verified_insns;
      info.xlatedInsns = pi.xlated_prog_len / 8;
    }
    out.push_back(info);
  }
  return out;
}

}  // namespace dae::loader
