// Writes DNS answers into the kernel's dae_domain_map: address (16 bytes, IPv4 as
// ::ffff:a.b.c.d) -> bitmap of the domain() rule sets the queried name matches. Bits
// are OR-ed into what an address already has (another name may share the address).
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace dae::dns {

class DomainMapWriter {
 public:
  // fd < 0: disabled (every write is a no-op). `words` is the bitmap size the program
  // was compiled with (artifact.meta.domain_words()); when the map's value size says
  // otherwise, the map wins (abi.h) and the difference is logged.
  DomainMapWriter(int fd, uint32_t words);

  bool enabled() const { return fd_ >= 0; }
  uint32_t words() const { return words_; }
  // ORs bits[0, words) into every address. Returns false when a write failed (the
  // map is full or gone); the first failure of a kind is logged.
  bool write(const std::vector<std::array<uint8_t, 16>>& addresses, const uint32_t* bits);
  uint64_t writes() const { return writes_; }

 private:
  int fd_ = -1;
  uint32_t words_ = 1;
  uint64_t writes_ = 0;
  bool warned_ = false;
};

}  // namespace dae::dns
