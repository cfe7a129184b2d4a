// Internal to codegen: helpers shared by the two back ends.
#pragma once
#include <cstdint>
#include <string>

#include "codegen/Codegen.h"

namespace dae::codegen::detail {

// Little-endian encodings: the BPF target is bpfel, so map keys and values are
// laid out in the host order of x86_64 and arm64 alike.
inline void putU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}
inline void putU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}
inline void putU16(std::string& out, uint16_t v) {
  out += static_cast<char>(v & 0xff);
  out += static_cast<char>(v >> 8);
}
// Four bytes of a network-order address read as the u32 the BPF program sees.
inline uint32_t loadLe32(const uint8_t* b) {
  return static_cast<uint32_t>(b[0]) | static_cast<uint32_t>(b[1]) << 8 | static_cast<uint32_t>(b[2]) << 16 |
         static_cast<uint32_t>(b[3]) << 24;
}

std::string hex32(uint32_t v);
std::string hex64(uint64_t v);
// A C comment-safe copy of text (no "*/", no newlines).
std::string commentSafe(std::string s);
// The prelude both back ends start with: configuration macros and dae/router.h.
std::string prelude(const ir::Program& program, Backend backend, uint32_t domainWords);
// The 16 zero-padded bytes of a process name, as two little-endian u64.
void pnameWords(const std::string& name, uint64_t& w0, uint64_t& w1);

// Generates the table back end (Table.cpp).
Generated generateTable(const ir::Program& program, uint32_t domainWords);

}  // namespace dae::codegen::detail
