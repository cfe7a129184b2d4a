// Crypto primitives and the Shadowsocks AEAD codec: known-answer vectors
// (RFC 5869, NIST GCM, vectors from gen_vectors.py) and round trips.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <random>

#include "outbound/Crypto.h"
#include "outbound/Endpoint.h"
#include "outbound/Error.h"
#include "outbound/Shadowsocks.h"

using namespace dae::outbound;
using crypto::ByteView;
using crypto::Bytes;

namespace {

Bytes unhex(std::string_view h) {
  Bytes out;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  return out;
}

std::string hex(ByteView b) { return crypto::toHex(b); }

Bytes seq(std::size_t n, std::uint8_t start = 0) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(start + i);
  return b;
}

}  // namespace

TEST(Crypto, HkdfSha1Rfc5869Case4) {
  Bytes ikm(11, 0x0b);
  Bytes salt = unhex("000102030405060708090a0b0c");
  Bytes info = unhex("f0f1f2f3f4f5f6f7f8f9");
  EXPECT_EQ(hex(crypto::hkdfSha1(ikm, salt, info, 42)),
            "085a01ea1b10f36933068b56efa5ad81a4f14b822f5b091568a9cdd4f155fda2c22e422478d305f3f896");
}

TEST(Crypto, EvpBytesToKey) {
  EXPECT_EQ(hex(crypto::evpBytesToKey("foobar", 16)), "3858f62230ac3c915f300c664312c63f");
  EXPECT_EQ(hex(crypto::evpBytesToKey("foobar", 32)),
            "3858f62230ac3c915f300c664312c63f568378529614d22ddb49237d2f60bfdf");
}

TEST(Crypto, AesGcmNistTestCase2) {
  Bytes key(16, 0), nonce(12, 0), pt(16, 0), out;
  crypto::Aead aead(crypto::AeadAlgo::Aes128Gcm, key);
  aead.seal(nonce, pt, {}, out);
  EXPECT_EQ(hex(out), "0388dace60b6a392f328c2b971b2fe78ab6e47d42cec13bdf53a67b21257bddf");
  Bytes back;
  ASSERT_TRUE(aead.open(nonce, out, {}, back));
  EXPECT_EQ(back, pt);
}

TEST(Crypto, AeadRejectsTampering) {
  for (auto algo : {crypto::AeadAlgo::Aes128Gcm, crypto::AeadAlgo::Aes256Gcm, crypto::AeadAlgo::Chacha20Poly1305}) {
    Bytes key = seq(crypto::aeadKeySize(algo)), nonce = seq(12, 7), aad = seq(5), sealed, back;
    crypto::Aead aead(algo, key);
    aead.seal(nonce, crypto::asBytes("attack at dawn"), aad, sealed);
    ASSERT_TRUE(aead.open(nonce, sealed, aad, back));
    EXPECT_EQ(std::string(back.begin(), back.end()), "attack at dawn");
    sealed[3] ^= 1;
    back.clear();
    EXPECT_FALSE(aead.open(nonce, sealed, aad, back));
    EXPECT_TRUE(back.empty());
    EXPECT_FALSE(aead.open(nonce, ByteView(sealed).first(10), aad, back));
  }
}

TEST(Crypto, Shake128MatchesOpenSsl) {
  for (std::size_t seedLen : {0u, 16u, 167u, 168u, 169u, 400u}) {
    Bytes seed = seq(seedLen, 3);
    for (std::size_t outLen : {2u, 168u, 169u, 1000u}) {
      Bytes expected(outLen);
      std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
      ASSERT_EQ(EVP_DigestInit_ex(ctx.get(), EVP_shake128(), nullptr), 1);
      ASSERT_EQ(EVP_DigestUpdate(ctx.get(), seed.data(), seed.size()), 1);
      ASSERT_EQ(EVP_DigestFinalXOF(ctx.get(), expected.data(), expected.size()), 1);
      crypto::Shake128Stream s(seed);
      Bytes got(outLen);
      // squeeze in uneven pieces, as VMess does two bytes at a time
      std::size_t at = 0, step = 1;
      while (at < outLen) {
        std::size_t n = std::min(step, outLen - at);
        s.read(std::span<std::uint8_t>(got.data() + at, n));
        at += n;
        step = step % 7 + 1;
      }
      EXPECT_EQ(hex(got), hex(expected)) << "seed " << seedLen << " out " << outLen;
    }
  }
}

TEST(Crypto, SmallHelpers) {
  EXPECT_EQ(crypto::fnv1a32(crypto::asBytes("")), 0x811c9dc5u);
  EXPECT_EQ(crypto::fnv1a32(crypto::asBytes("a")), 0xe40c292cu);
  EXPECT_EQ(crypto::crc32(crypto::asBytes("123456789")), 0xcbf43926u);
  auto id = crypto::parseUuid("6f1f6a3e-2c4b-4d8a-9a55-3c1d2e7f8a90");
  ASSERT_TRUE(id);
  EXPECT_EQ(hex(*id), "6f1f6a3e2c4b4d8a9a553c1d2e7f8a90");
  EXPECT_FALSE(crypto::parseUuid("6f1f6a3e-2c4b-4d8a-9a55-3c1d2e7f8a9"));
  EXPECT_FALSE(crypto::parseUuid("zz1f6a3e-2c4b-4d8a-9a55-3c1d2e7f8a90"));
  EXPECT_EQ(hex(crypto::sha224(crypto::asBytes("abc"))), "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7");
}

TEST(Shadowsocks, StreamKnownAnswer) {
  const SsCipher* c = findSsCipher("aes-128-gcm");
  ASSERT_NE(c, nullptr);
  Bytes key = ssMasterKey(*c, "lab");
  SsStreamEncoder enc(*c, key, seq(16, 1));
  Bytes out;
  enc.encode(crypto::asBytes("hello"), out);
  EXPECT_EQ(hex(out),
            "0102030405060708090a0b0c0d0e0f1053397a036a800f2afbc7d48061e79e32b9efe711c5e0fe23129e9f38e3ec88fbc50f11"
            "2e5ae930");
}

TEST(Shadowsocks, UdpKnownAnswer) {
  const SsCipher* c = findSsCipher("aes-256-gcm");
  ASSERT_NE(c, nullptr);
  Bytes packet = unhex(
      "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f9478d6047383064b714cc52f4ba88e5812f192d642573c"
      "36916b0e");
  auto plain = ssDecryptPacket(*c, ssMasterKey(*c, "lab"), packet);
  ASSERT_TRUE(plain);
  std::size_t used = 0;
  auto ep = parseSocksAddress(*plain, used);
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->toString(), "127.0.0.1:53");
  EXPECT_EQ(std::string(plain->begin() + static_cast<std::ptrdiff_t>(used), plain->end()), "dns?");
  EXPECT_FALSE(ssDecryptPacket(*c, ssMasterKey(*c, "wrong"), packet));
}

TEST(Shadowsocks, StreamRoundTripInRandomPieces) {
  std::mt19937 rng(42);
  for (const char* name : {"aes-128-gcm", "aes-256-gcm", "chacha20-ietf-poly1305", "chacha20-poly1305"}) {
    const SsCipher* c = findSsCipher(name);
    ASSERT_NE(c, nullptr) << name;
    Bytes key = ssMasterKey(*c, "pw");
    Bytes plain(100000);
    for (auto& b : plain) b = static_cast<std::uint8_t>(rng());
    SsStreamEncoder enc(*c, key);
    Bytes wire;
    enc.encode(ByteView(plain).first(10), wire);
    enc.encode(ByteView(plain).subspan(10), wire);  // > 0x3fff: several chunks
    SsStreamDecoder dec(*c, key);
    Bytes back;
    std::size_t at = 0;
    while (at < wire.size()) {
      std::size_t n = std::min<std::size_t>(wire.size() - at, 1 + rng() % 5000);
      dec.feed(ByteView(wire.data() + at, n), back);
      at += n;
    }
    EXPECT_FALSE(dec.midChunk());
    EXPECT_EQ(back, plain) << name;
  }
}

TEST(Shadowsocks, DetectsTruncationTamperingAndWrongKey) {
  const SsCipher* c = findSsCipher("chacha20-ietf-poly1305");
  Bytes key = ssMasterKey(*c, "pw");
  SsStreamEncoder enc(*c, key);
  Bytes wire, out;
  enc.encode(crypto::asBytes("some payload"), wire);

  SsStreamDecoder truncated(*c, key);
  truncated.feed(ByteView(wire).first(wire.size() - 3), out);
  EXPECT_TRUE(truncated.midChunk());

  Bytes bad = wire;
  bad.back() ^= 0x80;
  SsStreamDecoder tampered(*c, key);
  out.clear();
  EXPECT_THROW(tampered.feed(bad, out), OutboundError);

  SsStreamDecoder wrong(*c, ssMasterKey(*c, "other"));
  try {
    wrong.feed(wire, out);
    FAIL() << "a wrong key must not authenticate";
  } catch (const OutboundError& e) {
    EXPECT_EQ(e.code(), Errc::Protocol);
    EXPECT_NE(std::string(e.what()).find("wrong password"), std::string::npos);
  }
}
