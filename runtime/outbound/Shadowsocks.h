// Shadowsocks AEAD (SIP004): cipher table, TCP chunk stream codec and UDP
// packet codec. Exposed for tests and fuzzing; the dialer is in Shadowsocks.cpp.
//
// TCP: [salt][len(2)+tag][payload+tag]...; UDP: [salt][payload+tag]. The
// per-session subkey is HKDF-SHA1(master key, salt, "ss-subkey"); the master
// key is EVP_BytesToKey(MD5) of the password; nonces are little-endian
// counters from zero, incremented after every seal/open.
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <optional>
#include <string_view>

#include "outbound/Crypto.h"

namespace dae::outbound {

struct SsCipher {
  std::string_view name;
  crypto::AeadAlgo algo;
  std::size_t keySize;
  std::size_t saltSize;
};

// aes-128-gcm, aes-256-gcm, chacha20-ietf-poly1305 (alias chacha20-poly1305).
const SsCipher* findSsCipher(std::string_view name);
crypto::Bytes ssMasterKey(const SsCipher& c, std::string_view password);
crypto::Bytes ssSubkey(const SsCipher& c, crypto::ByteView masterKey, crypto::ByteView salt);

class SsStreamEncoder {
 public:
  static constexpr std::size_t kMaxPayload = 0x3fff;
  // salt: empty for a random one (tests pass a fixed salt).
  SsStreamEncoder(const SsCipher& c, crypto::ByteView masterKey, crypto::ByteView salt = {});
  // Appends the salt (first call only) and the chunks of plaintext to out.
  void encode(crypto::ByteView plaintext, crypto::Bytes& out);

 private:
  const SsCipher& cipher_;
  crypto::Bytes salt_;
  std::unique_ptr<crypto::Aead> aead_;
  std::array<std::uint8_t, 12> nonce_{};
  bool saltSent_ = false;
};

class SsStreamDecoder {
 public:
  SsStreamDecoder(const SsCipher& c, crypto::ByteView masterKey);
  // Consumes all of in; appends decrypted payload to out. Throws
  // OutboundError(Protocol) when a chunk fails authentication or a length
  // is out of range; the decoder is then unusable.
  void feed(crypto::ByteView in, crypto::Bytes& out);
  // Bytes of an incomplete salt or chunk are waiting: an end of stream now
  // means the stream was truncated.
  bool midChunk() const { return pending_.size() > offset_; }
  // Whether at least one chunk authenticated (to tell a wrong key from later corruption).
  bool authenticatedAny() const { return chunks_ > 0; }

 private:
  const SsCipher& cipher_;
  crypto::Bytes masterKey_;
  std::unique_ptr<crypto::Aead> aead_;
  std::array<std::uint8_t, 12> nonce_{};
  crypto::Bytes pending_;
  std::size_t offset_ = 0;
  std::size_t payloadLen_ = 0;  // >0 (plus a flag) while waiting for a payload
  bool inPayload_ = false;
  std::size_t chunks_ = 0;
};

// UDP: salt || seal(subkey, zero nonce, plaintext).
crypto::Bytes ssEncryptPacket(const SsCipher& c, crypto::ByteView masterKey, crypto::ByteView plaintext);
std::optional<crypto::Bytes> ssDecryptPacket(const SsCipher& c, crypto::ByteView masterKey, crypto::ByteView packet);

void incrementNonceLE(std::array<std::uint8_t, 12>& nonce) noexcept;

}  // namespace dae::outbound
