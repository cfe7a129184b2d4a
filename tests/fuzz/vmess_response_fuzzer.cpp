// libFuzzer target: the VMess AEAD response header decoder and body chunk
// reader. data[0] picks the mode: 0 feeds raw bytes (header, then chunks);
// 1 seals a header made of the input (as the server does) and checks that it
// decodes iff its first byte is the expected auth byte.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "outbound/Error.h"
#include "outbound/VmessCodec.h"

using namespace dae::outbound;
using namespace dae::outbound::vmess;

namespace {
[[noreturn]] void broken(const char* what) {
  std::fprintf(stderr, "invariant broken: %s\n", what);
  std::abort();
}
const Session& session(Security sec) {
  static Key16 key{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  static Key16 iv{16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1};
  static const Session aes = Session::fromKeys(key, iv, 0x5a, ChunkStream | ChunkMasking | GlobalPadding,
                                               Security::Aes128Gcm);
  static const Session none = Session::fromKeys(key, iv, 0x5a, ChunkStream | ChunkMasking, Security::None);
  return sec == Security::None ? none : aes;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const Session& s = session(data[0] & 2 ? Security::None : Security::Aes128Gcm);
  ByteView rest(data + 1, size - 1);
  try {
    if (data[0] & 1) {
      if (rest.size() < 4 || rest.size() > 1024) return 0;
      Bytes sealed = sealResponseHeader(s, rest);
      ResponseHeaderDecoder d(s);
      bool ok = true;
      try {
        if (d.feed(sealed) != sealed.size()) broken("header length disagrees with what was sealed");
      } catch (const OutboundError&) {
        ok = false;
      }
      if (ok != (rest[0] == s.responseAuth) || ok != d.done()) broken("auth byte check is wrong");
      return 0;
    }
    ResponseHeaderDecoder d(s);
    std::size_t used = d.feed(rest);
    if (used > rest.size()) broken("header decoder consumed more than given");
    if (!d.done()) return 0;
    ChunkReader r(s.security, s.responseKey, s.responseIv, s.option);
    r.feed(rest.subspan(used));
    Bytes chunk;
    for (int i = 0; i < 1000 && r.next(chunk) == ChunkReader::Status::Data; ++i) {
    }
  } catch (const OutboundError&) {
  }
  return 0;
}
