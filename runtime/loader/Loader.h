// loader: rules.o -> BPF objects in the kernel. Owns every libbpf object and fd
// (RAII), reads the .dae sections, fills the maps the generated code declares.
// Attaching programs to interfaces is the datapath library's job, not this one's.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "artifact.pb.h"

struct bpf_object;

namespace dae::loader {

// A load failure, with libbpf's and the verifier's own words.
class LoadError : public std::runtime_error {
 public:
  LoadError(const std::string& what, std::string log) : std::runtime_error(what), log_(std::move(log)) {}
  const std::string& log() const { return log_; }

 private:
  std::string log_;
};

// The parsed .dae sections of a rules.o.
struct Artifact {
  std::vector<char> elf;
  artifact::Meta meta;
  artifact::OutboundTable outbounds;
  artifact::RuleTable rules;
  artifact::SetTable sets;
  artifact::ConfigData config;

  static Artifact fromBytes(std::vector<char> elf);
  static Artifact fromFile(const std::string& path);
};

// An owned file descriptor (closed when destroyed).
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd();
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }
  int release() { int fd = fd_; fd_ = -1; return fd; }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Maps a new object takes over from a running one instead of creating its own
// (bpf_map__reuse_fd), by name: how state survives a reload.
using MapReuse = std::map<std::string, int>;

struct ProgramInfo {
  std::string name;
  int fd = -1;
  uint32_t verifiedInsns = 0;  // instructions the verifier processed
  uint32_t xlatedInsns = 0;    // instructions after the verifier's rewrites
};

// One loaded rules.o. Closing it (destructor) releases every program and map that
// nothing else holds (attachments hold their own references).
class BpfObject {
 public:
  // Opens and loads the object into the kernel, then fills the generated code's maps
  // from .dae.sets. `programs` limits which programs are loaded (empty: all). The
  // maps named in `reuse` are not created but taken over from the given fds; each
  // must match the object's definition (type, key and value size, entries, flags),
  // else LoadError names the difference (the ABI check of a reload).
  explicit BpfObject(const Artifact& artifact, const std::vector<std::string>& programs = {},
                     const MapReuse& reuse = {});
  ~BpfObject();
  BpfObject(const BpfObject&) = delete;
  BpfObject& operator=(const BpfObject&) = delete;

  int programFd(const std::string& name) const;  // throws if absent
  int mapFd(const std::string& name) const;      // -1 if absent
  // A reference of its own to a map (outlives this object); throws if absent.
  UniqueFd dupMap(const std::string& name) const;
  std::vector<ProgramInfo> programs() const;
  bpf_object* raw() const { return obj_; }

 private:
  bpf_object* obj_ = nullptr;
};

// New flows per rule index, summed over CPUs, from dae_rule_hits: `count` entries
// (rule_count + 1: the last is the fallback).
std::vector<uint64_t> readRuleHits(int ruleHitsFd, uint32_t count);

// Why a map of a running program cannot be taken over by a new one ("" if it can):
// compares the kernel's view of `fd` with the new object's definition of `name`.
std::string mapReuseMismatch(bpf_object* obj, const std::string& name, int fd);

// Sends libbpf's messages to a buffer instead of stderr while alive.
class LibbpfLogCapture {
 public:
  LibbpfLogCapture();
  ~LibbpfLogCapture();
  std::string text() const;
};

}  // namespace dae::loader
