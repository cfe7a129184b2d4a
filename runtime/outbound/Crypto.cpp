#include "outbound/Crypto.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include <boost/crc.hpp>
#include <stdexcept>

namespace dae::outbound::crypto {

namespace {

[[noreturn]] void opensslFail(const char* what) {
  char buf[256] = "no detail";
  if (unsigned long e = ERR_get_error()) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  throw std::runtime_error(std::string("OpenSSL ") + what + " failed: " + buf);
}

void check(int ok, const char* what) {
  if (ok != 1) opensslFail(what);
}

const EVP_CIPHER* cipherOf(AeadAlgo algo) {
  switch (algo) {
    case AeadAlgo::Aes128Gcm: return EVP_aes_128_gcm();
    case AeadAlgo::Aes256Gcm: return EVP_aes_256_gcm();
    case AeadAlgo::Chacha20Poly1305: return EVP_chacha20_poly1305();
  }
  return nullptr;
}

Bytes digest(const EVP_MD* md, ByteView data) {
  Bytes out(EVP_MD_get_size(md));
  unsigned len = 0;
  check(EVP_Digest(data.data(), data.size(), out.data(), &len, md, nullptr), "EVP_Digest");
  out.resize(len);
  return out;
}

}  // namespace

std::size_t aeadKeySize(AeadAlgo algo) noexcept { return algo == AeadAlgo::Aes128Gcm ? 16 : 32; }

void Aead::CtxDeleter::operator()(EVP_CIPHER_CTX* c) const noexcept { EVP_CIPHER_CTX_free(c); }

Aead::Aead(AeadAlgo algo, ByteView key) : enc_(EVP_CIPHER_CTX_new()), dec_(EVP_CIPHER_CTX_new()) {
  if (!enc_ || !dec_) opensslFail("EVP_CIPHER_CTX_new");
  if (key.size() != aeadKeySize(algo)) throw std::invalid_argument("AEAD key has the wrong length");
  const EVP_CIPHER* cipher = cipherOf(algo);
  check(EVP_EncryptInit_ex(enc_.get(), cipher, nullptr, nullptr, nullptr), "EVP_EncryptInit_ex");
  check(EVP_CIPHER_CTX_ctrl(enc_.get(), EVP_CTRL_AEAD_SET_IVLEN, kNonceSize, nullptr), "set IV length");
  check(EVP_EncryptInit_ex(enc_.get(), nullptr, nullptr, key.data(), nullptr), "EVP_EncryptInit_ex key");
  check(EVP_DecryptInit_ex(dec_.get(), cipher, nullptr, nullptr, nullptr), "EVP_DecryptInit_ex");
  check(EVP_CIPHER_CTX_ctrl(dec_.get(), EVP_CTRL_AEAD_SET_IVLEN, kNonceSize, nullptr), "set IV length");
  check(EVP_DecryptInit_ex(dec_.get(), nullptr, nullptr, key.data(), nullptr), "EVP_DecryptInit_ex key");
}

Aead::~Aead() = default;

void Aead::seal(ByteView nonce, ByteView plaintext, ByteView aad, Bytes& out) {
  if (nonce.size() != kNonceSize) throw std::invalid_argument("AEAD nonce must be 12 bytes");
  EVP_CIPHER_CTX* c = enc_.get();
  check(EVP_EncryptInit_ex(c, nullptr, nullptr, nullptr, nonce.data()), "EVP_EncryptInit_ex nonce");
  int len = 0;
  if (!aad.empty()) check(EVP_EncryptUpdate(c, nullptr, &len, aad.data(), static_cast<int>(aad.size())), "AAD");
  std::size_t base = out.size();
  out.resize(base + plaintext.size() + kTagSize);
  std::uint8_t* dst = out.data() + base;
  if (!plaintext.empty())
    check(EVP_EncryptUpdate(c, dst, &len, plaintext.data(), static_cast<int>(plaintext.size())), "encrypt");
  int fin = 0;
  check(EVP_EncryptFinal_ex(c, dst + plaintext.size(), &fin), "EVP_EncryptFinal_ex");
  check(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, kTagSize, dst + plaintext.size()), "get tag");
}

bool Aead::open(ByteView nonce, ByteView sealed, ByteView aad, Bytes& out) {
  if (nonce.size() != kNonceSize) throw std::invalid_argument("AEAD nonce must be 12 bytes");
  if (sealed.size() < kTagSize) return false;
  EVP_CIPHER_CTX* c = dec_.get();
  check(EVP_DecryptInit_ex(c, nullptr, nullptr, nullptr, nonce.data()), "EVP_DecryptInit_ex nonce");
  int len = 0;
  if (!aad.empty()) check(EVP_DecryptUpdate(c, nullptr, &len, aad.data(), static_cast<int>(aad.size())), "AAD");
  std::size_t textLen = sealed.size() - kTagSize;
  std::size_t base = out.size();
  out.resize(base + textLen);
  if (textLen > 0)
    check(EVP_DecryptUpdate(c, out.data() + base, &len, sealed.data(), static_cast<int>(textLen)), "decrypt");
  std::array<std::uint8_t, kTagSize> tag;
  std::copy(sealed.end() - kTagSize, sealed.end(), tag.begin());
  check(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, kTagSize, tag.data()), "set tag");
  int fin = 0;
  if (EVP_DecryptFinal_ex(c, out.data() + base + textLen, &fin) != 1) {
    ERR_clear_error();
    out.resize(base);
    return false;
  }
  return true;
}

Bytes md5(ByteView data) { return digest(EVP_md5(), data); }
Bytes sha224(ByteView data) { return digest(EVP_sha224(), data); }
Bytes sha256(ByteView data) { return digest(EVP_sha256(), data); }

Bytes hkdfSha1(ByteView key, ByteView salt, ByteView info, std::size_t length) {
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr),
                                                                  &EVP_PKEY_CTX_free);
  if (!ctx) opensslFail("EVP_PKEY_CTX_new_id(HKDF)");
  check(EVP_PKEY_derive_init(ctx.get()), "HKDF init");
  check(EVP_PKEY_CTX_set_hkdf_md(ctx.get(), EVP_sha1()), "HKDF md");
  check(EVP_PKEY_CTX_set1_hkdf_salt(ctx.get(), salt.data(), static_cast<int>(salt.size())), "HKDF salt");
  check(EVP_PKEY_CTX_set1_hkdf_key(ctx.get(), key.data(), static_cast<int>(key.size())), "HKDF key");
  check(EVP_PKEY_CTX_add1_hkdf_info(ctx.get(), info.data(), static_cast<int>(info.size())), "HKDF info");
  Bytes out(length);
  std::size_t outLen = length;
  check(EVP_PKEY_derive(ctx.get(), out.data(), &outLen), "HKDF derive");
  out.resize(outLen);
  return out;
}

Bytes evpBytesToKey(std::string_view password, std::size_t keyLength) {
  // The cipher argument only tells EVP_BytesToKey how many key bytes to make.
  const EVP_CIPHER* shape = keyLength == 16 ? EVP_aes_128_cbc() : keyLength == 32 ? EVP_aes_256_cbc() : nullptr;
  if (!shape) throw std::invalid_argument("EVP_BytesToKey: key length must be 16 or 32");
  Bytes key(keyLength);
  std::uint8_t iv[EVP_MAX_IV_LENGTH];
  int n = EVP_BytesToKey(shape, EVP_md5(), nullptr, reinterpret_cast<const unsigned char*>(password.data()),
                         static_cast<int>(password.size()), 1, key.data(), iv);
  if (n != static_cast<int>(keyLength)) opensslFail("EVP_BytesToKey");
  return key;
}

std::array<std::uint8_t, 16> aes128EncryptBlock(ByteView key16, ByteView block16) {
  if (key16.size() != 16 || block16.size() != 16) throw std::invalid_argument("AES block: 16-byte key and block");
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> c(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  if (!c) opensslFail("EVP_CIPHER_CTX_new");
  check(EVP_EncryptInit_ex(c.get(), EVP_aes_128_ecb(), nullptr, key16.data(), nullptr), "AES-128-ECB init");
  check(EVP_CIPHER_CTX_set_padding(c.get(), 0), "AES-128-ECB padding");
  std::array<std::uint8_t, 16> out{};
  int len = 0;
  check(EVP_EncryptUpdate(c.get(), out.data(), &len, block16.data(), 16), "AES-128-ECB");
  return out;
}

void randomBytes(std::span<std::uint8_t> out) {
  if (!out.empty()) check(RAND_bytes(out.data(), static_cast<int>(out.size())), "RAND_bytes");
}

std::uint32_t fnv1a32(ByteView data) noexcept {
  std::uint32_t h = 0x811c9dc5u;
  for (auto b : data) {
    h ^= b;
    h *= 0x01000193u;
  }
  return h;
}

std::uint32_t crc32(ByteView data) noexcept {
  boost::crc_32_type c;
  c.process_bytes(data.data(), data.size());
  return c.checksum();
}

std::string toHex(ByteView data) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  s.reserve(data.size() * 2);
  for (auto b : data) {
    s.push_back(digits[b >> 4]);
    s.push_back(digits[b & 15]);
  }
  return s;
}

// ---- SHAKE128 ---------------------------------------------------------------

namespace {

constexpr std::uint64_t kRoundConstants[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL};

constexpr std::uint64_t rotl(std::uint64_t x, unsigned n) { return n == 0 ? x : (x << n) | (x >> (64 - n)); }

// Rotation offset of lane (x, y), FIPS 202 table 2, indexed x + 5y.
constexpr unsigned kRho[25] = {0,  1,  62, 28, 27, 36, 44, 6,  55, 20, 3,  10, 43,
                               25, 39, 41, 45, 15, 21, 8,  18, 2,  61, 56, 14};

void keccakF1600(std::array<std::uint64_t, 25>& a) {
  for (std::uint64_t rc : kRoundConstants) {
    std::uint64_t c[5], d[5], b[25];
    for (int x = 0; x < 5; ++x) c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
    for (int x = 0; x < 5; ++x) d[x] = c[(x + 4) % 5] ^ rotl(c[(x + 1) % 5], 1);
    for (int i = 0; i < 25; ++i) a[i] ^= d[i % 5];
    // rho and pi: B[y, 2x+3y] = rot(A[x, y], r[x, y])
    for (int x = 0; x < 5; ++x)
      for (int y = 0; y < 5; ++y) b[y + 5 * ((2 * x + 3 * y) % 5)] = rotl(a[x + 5 * y], kRho[x + 5 * y]);
    // chi
    for (int y = 0; y < 5; ++y)
      for (int x = 0; x < 5; ++x)
        a[x + 5 * y] = b[x + 5 * y] ^ (~b[(x + 1) % 5 + 5 * y] & b[(x + 2) % 5 + 5 * y]);
    a[0] ^= rc;  // iota
  }
}

void xorByte(std::array<std::uint64_t, 25>& st, std::size_t i, std::uint8_t v) {
  st[i / 8] ^= static_cast<std::uint64_t>(v) << (8 * (i % 8));
}

}  // namespace

void Shake128Stream::permute() { keccakF1600(state_); }

Shake128Stream::Shake128Stream(ByteView seed) {
  std::size_t pos = 0;
  for (auto byte : seed) {
    xorByte(state_, pos++, byte);
    if (pos == kRate) {
      permute();
      pos = 0;
    }
  }
  xorByte(state_, pos, 0x1f);  // SHAKE domain bits and the first padding bit
  xorByte(state_, kRate - 1, 0x80);
  permute();
  offset_ = 0;
}

void Shake128Stream::read(std::span<std::uint8_t> out) {
  for (auto& o : out) {
    if (offset_ == kRate) {
      permute();
      offset_ = 0;
    }
    o = static_cast<std::uint8_t>(state_[offset_ / 8] >> (8 * (offset_ % 8)));
    ++offset_;
  }
}

std::uint16_t Shake128Stream::nextU16() {
  std::uint8_t b[2];
  read(b);
  return static_cast<std::uint16_t>((b[0] << 8) | b[1]);
}

std::optional<std::array<std::uint8_t, 16>> parseUuid(std::string_view text) {
  std::array<std::uint8_t, 16> out{};
  std::size_t n = 0;
  int hi = -1;
  for (char ch : text) {
    if (ch == '-') continue;
    int v;
    if (ch >= '0' && ch <= '9') v = ch - '0';
    else if (ch >= 'a' && ch <= 'f') v = ch - 'a' + 10;
    else if (ch >= 'A' && ch <= 'F') v = ch - 'A' + 10;
    else return std::nullopt;
    if (hi < 0) {
      hi = v;
    } else {
      if (n == 16) return std::nullopt;
      out[n++] = static_cast<std::uint8_t>(hi << 4 | v);
      hi = -1;
    }
  }
  if (n != 16 || hi >= 0) return std::nullopt;
  return out;
}

}  // namespace dae::outbound::crypto
