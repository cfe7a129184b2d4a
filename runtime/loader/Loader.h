// loader: rules.o -> BPF objects in the kernel. Owns every libbpf object and fd
// (RAII), reads the .dae sections, fills the maps the generated code declares.
// Attaching programs to interfaces is the datapath library's job, not this one's.
#pragma once
#include <cstdint>
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
  // from .dae.sets. `programs` limits which programs are loaded (empty: all).
  explicit BpfObject(const Artifact& artifact, const std::vector<std::string>& programs = {});
  ~BpfObject();
  BpfObject(const BpfObject&) = delete;
  BpfObject& operator=(const BpfObject&) = delete;

  int programFd(const std::string& name) const;  // throws if absent
  int mapFd(const std::string& name) const;      // -1 if absent
  std::vector<ProgramInfo> programs() const;
  bpf_object* raw() const { return obj_; }

 private:
  bpf_object* obj_ = nullptr;
};

// Sends libbpf's messages to a buffer instead of stderr while alive.
class LibbpfLogCapture {
 public:
  LibbpfLogCapture();
  ~LibbpfLogCapture();
  std::string text() const;
};

}  // namespace dae::loader
