#include "dns/DomainMap.h"

#include <bpf/bpf.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>

namespace dae::dns {

DomainMapWriter::DomainMapWriter(int fd, uint32_t words) : fd_(fd), words_(words == 0 ? 1 : words) {
  if (fd_ < 0) return;
  bpf_map_info info{};
  uint32_t len = sizeof info;
  if (bpf_obj_get_info_by_fd(fd_, &info, &len) != 0) {
    spdlog::warn("dae_domain_map: cannot read the map's info ({}); assuming {} bitmap word(s)", std::strerror(errno),
                 words_);
    return;
  }
  if (info.key_size != 16 || info.value_size == 0 || info.value_size % 4 != 0) {
    spdlog::error("dae_domain_map: unexpected key/value size {}/{}; DNS answers are not written to it", info.key_size,
                  info.value_size);
    fd_ = -1;
    return;
  }
  if (info.value_size / 4 != words_) {
    spdlog::warn("dae_domain_map: value size {} bytes but the program says {} word(s); using the map's size",
                 info.value_size, words_);
    words_ = info.value_size / 4;
  }
}

bool DomainMapWriter::write(const std::vector<std::array<uint8_t, 16>>& addresses, const uint32_t* bits) {
  if (fd_ < 0 || addresses.empty()) return true;
  uint32_t small[32];
  std::vector<uint32_t> big;
  uint32_t* value = small;
  if (words_ > 32) {
    big.resize(words_);
    value = big.data();
  }
  bool ok = true;
  for (const auto& a : addresses) {
    if (bpf_map_lookup_elem(fd_, a.data(), value) != 0) std::memset(value, 0, words_ * 4u);
    bool changed = false;
    for (uint32_t w = 0; w < words_; ++w) {
      uint32_t v = value[w] | bits[w];
      changed |= v != value[w];
      value[w] = v;
    }
    if (!changed) continue;
    if (bpf_map_update_elem(fd_, a.data(), value, BPF_ANY) != 0) {
      ok = false;
      if (!warned_) {
        warned_ = true;
        spdlog::warn("dae_domain_map: cannot add an address ({}); domain() rules will miss such answers{}",
                     std::strerror(errno), errno == E2BIG ? " (the map is full)" : "");
      }
      continue;
    }
    ++writes_;
  }
  return ok;
}

}  // namespace dae::dns
