// Cryptographic building blocks of the proxy protocols, on OpenSSL 3 EVP.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;

namespace dae::outbound::crypto {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

inline ByteView asBytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

enum class AeadAlgo { Aes128Gcm, Aes256Gcm, Chacha20Poly1305 };
std::size_t aeadKeySize(AeadAlgo algo) noexcept;

// An AEAD key with 12-byte nonces and 16-byte tags.
class Aead {
 public:
  static constexpr std::size_t kTagSize = 16;
  static constexpr std::size_t kNonceSize = 12;

  Aead(AeadAlgo algo, ByteView key);
  ~Aead();
  Aead(const Aead&) = delete;
  Aead& operator=(const Aead&) = delete;

  // Appends ciphertext || tag to out.
  void seal(ByteView nonce, ByteView plaintext, ByteView aad, Bytes& out);
  // Appends the plaintext to out; false (out unchanged) when authentication fails.
  bool open(ByteView nonce, ByteView sealed, ByteView aad, Bytes& out);

 private:
  struct CtxDeleter {
    void operator()(EVP_CIPHER_CTX* c) const noexcept;
  };
  std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter> enc_, dec_;
};

Bytes md5(ByteView data);
Bytes sha224(ByteView data);
Bytes sha256(ByteView data);
// HKDF (RFC 5869) with SHA-1.
Bytes hkdfSha1(ByteView key, ByteView salt, ByteView info, std::size_t length);
// OpenSSL's EVP_BytesToKey with MD5, no salt, one iteration (the
// Shadowsocks master key); keyLength 16 or 32.
Bytes evpBytesToKey(std::string_view password, std::size_t keyLength);
// One AES-128 block in ECB mode.
std::array<std::uint8_t, 16> aes128EncryptBlock(ByteView key16, ByteView block16);
void randomBytes(std::span<std::uint8_t> out);
std::uint32_t fnv1a32(ByteView data) noexcept;
std::uint32_t crc32(ByteView data) noexcept;
std::string toHex(ByteView data);

// SHAKE128 as an endless stream. OpenSSL 3.0 cannot squeeze a XOF
// incrementally (EVP_DigestSqueeze arrived in 3.3), and VMess reads the
// stream two bytes at a time for the whole life of a connection, so this is a
// small Keccak-f[1600] sponge (FIPS 202); its output is checked against
// EVP_shake128 in the unit tests.
class Shake128Stream {
 public:
  explicit Shake128Stream(ByteView seed);
  void read(std::span<std::uint8_t> out);
  std::uint16_t nextU16();  // two bytes, big endian

 private:
  static constexpr std::size_t kRate = 168;
  void permute();
  std::array<std::uint64_t, 25> state_{};
  std::size_t offset_ = 0;  // bytes of the current block already squeezed
};

// "6f1f6a3e-2c4b-4d8a-9a55-3c1d2e7f8a90" (dashes optional) to 16 bytes.
std::optional<std::array<std::uint8_t, 16>> parseUuid(std::string_view text);

}  // namespace dae::outbound::crypto
