// VMess AEAD: KDF vectors (v2ray's own value test and gen_vectors.py), the
// sealed request header, the response header decoder and body chunks.
#include <gtest/gtest.h>

#include <random>

#include "outbound/Error.h"
#include "outbound/VmessCodec.h"

using namespace dae::outbound;
using namespace dae::outbound::vmess;

namespace {

Bytes unhex(std::string_view h) {
  Bytes out;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2)
    out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  return out;
}
std::string hex(ByteView b) { return crypto::toHex(b); }
ByteView sv(std::string_view s) { return crypto::asBytes(s); }

Key16 labCmdKey() { return cmdKey(*crypto::parseUuid("6f1f6a3e-2c4b-4d8a-9a55-3c1d2e7f8a90")); }

}  // namespace

TEST(VmessKdf, V2rayValueTest) {
  Bytes k = kdf(sv("Demo Key for KDF Value Test"),
                {sv("Demo Path for KDF Value Test"), sv("Demo Path for KDF Value Test2"),
                 sv("Demo Path for KDF Value Test3")});
  EXPECT_EQ(hex(k), "53e9d7e1bd7bd25022b71ead07d8a596efc8a845c7888652fd684b4903dc8892");
}

TEST(VmessKdf, KdfWithoutPathIsHmacSha256) {
  // KDF(m) with no path = HMAC-SHA256(key "VMess AEAD KDF", m); value from Python's hmac module
  EXPECT_EQ(hex(kdf(sv("message"), {})), "770faaf845cb016ed283ea9e09e0ae24f2c9598406c7737ff1af3063aa3f8969");
  EXPECT_EQ(hex(kdf16(sv("message"), {})), "770faaf845cb016ed283ea9e09e0ae24");
}

TEST(VmessHeader, CmdKeyAndAuthIdKnownAnswers) {
  Key16 cmd = labCmdKey();
  EXPECT_EQ(hex(cmd), "10b1205ed3da2ed6f51ec3f023cb00bc");
  EXPECT_EQ(hex(createAuthId(cmd, 1700000000, 0x01020304)), "51ecf0f8cc7800aaec581e64e9101b20");
}

TEST(VmessHeader, SealKnownAnswerAndOpen) {
  Key16 cmd = labCmdKey();
  Key16 authId = createAuthId(cmd, 1700000000, 0x01020304);
  Bytes nonce = unhex("0001020304050607");
  Bytes sealed = sealHeader(cmd, sv("header-plaintext"), authId, nonce);
  EXPECT_EQ(hex(sealed),
            "51ecf0f8cc7800aaec581e64e9101b20ccc4c9d26cf7d7d9bea82df4096c447d51e50001020304050607210114bb4d7e2eb50e1cf7"
            "69fcef67ce911674cf79e1b5fbf750a928317b9fd1");
  auto opened = openHeader(cmd, sealed);
  ASSERT_TRUE(opened);
  EXPECT_EQ(std::string(opened->begin(), opened->end()), "header-plaintext");
  sealed[20] ^= 1;
  EXPECT_FALSE(openHeader(cmd, sealed));
}

TEST(VmessHeader, RequestHeaderLayout) {
  Key16 key{}, iv{};
  for (int i = 0; i < 16; ++i) key[i] = static_cast<std::uint8_t>(i), iv[i] = static_cast<std::uint8_t>(0x10 + i);
  Session s = Session::fromKeys(key, iv, 0xab, ChunkStream | ChunkMasking | GlobalPadding, Security::Aes128Gcm);
  Bytes h = buildRequestHeader(s, Command::Tcp, Endpoint("example.com", 443), 0);
  ASSERT_EQ(h.size(), 1 + 16 + 16 + 1 + 1 + 1 + 1 + 1 + 2 + 1 + 1 + 11 + 4);
  EXPECT_EQ(h[0], 1);
  EXPECT_EQ(hex(ByteView(h).subspan(1, 16)), hex(iv));
  EXPECT_EQ(hex(ByteView(h).subspan(17, 16)), hex(key));
  EXPECT_EQ(h[33], 0xab);
  EXPECT_EQ(h[34], 0x0d);
  EXPECT_EQ(h[35], 0x03);  // no padding, aes-128-gcm
  EXPECT_EQ(h[37], 0x01);  // TCP
  EXPECT_EQ(h[38], 0x01);  // port 443, big endian
  EXPECT_EQ(h[39], 0xbb);
  EXPECT_EQ(h[40], 0x02);  // domain
  EXPECT_EQ(h[41], 11);
  std::uint32_t f = crypto::fnv1a32(ByteView(h).first(h.size() - 4));
  EXPECT_EQ(h[h.size() - 4], f >> 24);
  EXPECT_EQ(h.back(), f & 0xff);
  // response keys: SHA-256 of the request key / IV, first 16 bytes
  EXPECT_EQ(hex(s.responseKey), hex(ByteView(crypto::sha256(key)).first(16)));
  EXPECT_EQ(hex(s.responseIv), hex(ByteView(crypto::sha256(iv)).first(16)));
}

TEST(VmessResponse, DecodesInPiecesAndRejectsForgeries) {
  Session s = Session::create(Security::Aes128Gcm);
  Bytes plain{s.responseAuth, 0, 0, 0};
  Bytes sealed = sealResponseHeader(s, plain);
  sealed.push_back(0x42);  // first body byte
  ResponseHeaderDecoder d(s);
  std::size_t used = 0;
  for (std::size_t i = 0; i < sealed.size() && !d.done(); ++i) used += d.feed(ByteView(sealed).subspan(i, 1));
  EXPECT_TRUE(d.done());
  EXPECT_EQ(used, sealed.size() - 1);

  Bytes forged = sealed;
  forged[0] ^= 1;
  ResponseHeaderDecoder d2(s);
  EXPECT_THROW(d2.feed(forged), OutboundError);

  Bytes wrongAuth{static_cast<std::uint8_t>(s.responseAuth + 1), 0, 0, 0};
  ResponseHeaderDecoder d3(s);
  EXPECT_THROW(d3.feed(sealResponseHeader(s, wrongAuth)), OutboundError);

  ResponseHeaderDecoder d4(s);  // garbage
  Bytes garbage(64, 0x5a);
  EXPECT_THROW(d4.feed(garbage), OutboundError);
}

TEST(VmessBody, ChunkRoundTripEverySecurity) {
  std::mt19937 rng(7);
  for (Security sec : {Security::Aes128Gcm, Security::Chacha20Poly1305, Security::None, Security::Zero}) {
    Session s = Session::create(sec);
    ChunkWriter w(sec, s.requestKey, s.requestIv, s.option);
    Bytes plain(50000);
    for (auto& b : plain) b = static_cast<std::uint8_t>(rng());
    Bytes wire;
    w.write(ByteView(plain).first(100), wire);
    w.write(ByteView(plain).subspan(100), wire);
    w.writeEnd(wire);
    ChunkReader r(sec, s.requestKey, s.requestIv, s.option);
    Bytes back, chunk;
    std::size_t at = 0;
    bool ended = false;
    while (!ended) {
      auto st = r.next(chunk);
      if (st == ChunkReader::Status::Data) {
        back.insert(back.end(), chunk.begin(), chunk.end());
      } else if (st == ChunkReader::Status::End) {
        ended = true;
      } else if (at < wire.size()) {
        std::size_t n = std::min<std::size_t>(wire.size() - at, 1 + rng() % 3000);
        r.feed(ByteView(wire.data() + at, n));
        at += n;
      } else {
        break;  // security zero has no end marker
      }
    }
    EXPECT_EQ(back, plain) << static_cast<int>(sec);
    EXPECT_EQ(ended, sec != Security::Zero);
  }
}

TEST(VmessBody, PacketsKeepBoundariesAndTamperingFails) {
  Session s = Session::create(Security::Chacha20Poly1305);
  ChunkWriter w(s.security, s.requestKey, s.requestIv, s.option);
  Bytes wire;
  Bytes big(20000, 0x11);
  w.writePacket(sv("one"), wire);
  w.writePacket(big, wire);  // larger than a stream chunk, still one packet
  ChunkReader r(s.security, s.requestKey, s.requestIv, s.option);
  r.feed(wire);
  Bytes chunk;
  ASSERT_EQ(r.next(chunk), ChunkReader::Status::Data);
  EXPECT_EQ(std::string(chunk.begin(), chunk.end()), "one");
  ASSERT_EQ(r.next(chunk), ChunkReader::Status::Data);
  EXPECT_EQ(chunk, big);
  EXPECT_EQ(r.next(chunk), ChunkReader::Status::NeedMore);
  EXPECT_FALSE(r.midChunk());

  wire[10] ^= 1;
  ChunkReader r2(s.security, s.requestKey, s.requestIv, s.option);
  r2.feed(wire);
  EXPECT_THROW(r2.next(chunk), OutboundError);
}
