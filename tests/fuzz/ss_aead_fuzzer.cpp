// libFuzzer target: the Shadowsocks AEAD stream decoder.
//
// data[0] picks the cipher and the mode. Mode 0 feeds the rest as the
// server's bytes. Mode 1 encodes the rest with the encoder, optionally flips
// one byte (data[1] selects it), and feeds the result in pieces: without a
// flip the decoder must return exactly the plaintext; with one it must
// either throw or never return altered plaintext.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "outbound/Error.h"
#include "outbound/Shadowsocks.h"

using namespace dae::outbound;
using crypto::ByteView;
using crypto::Bytes;

namespace {
[[noreturn]] void broken(const char* what) {
  std::fprintf(stderr, "invariant broken: %s\n", what);
  std::abort();
}
const char* kCiphers[] = {"aes-128-gcm", "aes-256-gcm", "chacha20-ietf-poly1305"};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const SsCipher* c = findSsCipher(kCiphers[data[0] % 3]);
  static const Bytes key128 = ssMasterKey(*findSsCipher("aes-128-gcm"), "fuzz");
  static const Bytes key256 = ssMasterKey(*findSsCipher("aes-256-gcm"), "fuzz");
  const Bytes& key = c->keySize == 16 ? key128 : key256;
  bool encodeFirst = (data[0] / 3) % 2 == 1;
  std::size_t piece = 1 + data[1] % 64;
  ByteView rest(data + 2, size - 2);
  Bytes wire;
  if (encodeFirst) {
    SsStreamEncoder enc(*c, key);
    enc.encode(rest, wire);
    if (data[0] >= 128 && !wire.empty()) wire[data[1] % wire.size()] ^= 0x01;
  } else {
    wire.assign(rest.begin(), rest.end());
  }
  SsStreamDecoder dec(*c, key);
  Bytes out;
  try {
    for (std::size_t at = 0; at < wire.size(); at += piece)
      dec.feed(ByteView(wire.data() + at, std::min(piece, wire.size() - at)), out);
  } catch (const OutboundError&) {
    return 0;
  }
  if (encodeFirst) {
    if (data[0] < 128 && (out.size() != rest.size() || !std::equal(out.begin(), out.end(), rest.begin())))
      broken("round trip changed the plaintext");
    if (data[0] < 128 && dec.midChunk()) broken("complete stream left a partial chunk");
    if (out.size() > rest.size() || !std::equal(out.begin(), out.end(), rest.begin()))
      broken("a corrupted stream produced altered plaintext");
  }
  return 0;
}
