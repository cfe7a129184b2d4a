// Static linking of BPF objects (libbpf's bpf_linker), in memory.
#pragma once

#include <span>
#include <vector>

namespace dae::driver {

// Links ELF BPF objects into one, as `bpftool gen object` does: sections of the
// same name are concatenated in input order, extern functions and maps are
// resolved against the other objects' globals, BTF and .BTF.ext are merged
// and deduplicated. DWARF is not carried over. The result depends only on the
// inputs and their order. Throws DriverError (with libbpf's reason) on failure.
//
// libbpf 1.1 links files only, by name: the objects go through memfds named
// by /proc/self/fd, so nothing is written to a filesystem.
std::vector<char> linkBpfObjects(std::span<const std::span<const char>> objects);

}  // namespace dae::driver
