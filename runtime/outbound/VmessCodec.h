// VMess AEAD (alterId 0) codec: the KDF, the sealed request header, the
// response header and the body chunks. Exposed for tests and fuzzing; the
// dialer is in Vmess.cpp. Follows the v2fly VMess AEAD specification.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>

#include "outbound/Crypto.h"
#include "outbound/Endpoint.h"

namespace dae::outbound::vmess {

using crypto::ByteView;
using crypto::Bytes;
using Key16 = std::array<std::uint8_t, 16>;

enum class Security : std::uint8_t { Aes128Gcm = 3, Chacha20Poly1305 = 4, None = 5, Zero = 6 };
// "auto" picks aes-128-gcm; throws OutboundError(InvalidArgument) for unknown names.
Security parseSecurity(std::string_view name);

enum Option : std::uint8_t { ChunkStream = 0x01, ChunkMasking = 0x04, GlobalPadding = 0x08 };
enum Command : std::uint8_t { Tcp = 0x01, Udp = 0x02 };

// KDF(key, path...) = HMAC chain rooted at HMAC-SHA256("VMess AEAD KDF"),
// each path element an HMAC over the previous one; 32 bytes.
Bytes kdf(ByteView key, std::initializer_list<ByteView> path);
Key16 kdf16(ByteView key, std::initializer_list<ByteView> path);

// MD5(uuid || "c48619fe-8f02-49e0-b9e9-edf763e17e21").
Key16 cmdKey(const Key16& uuid);
// AES-128(KDF16(cmdKey, "AES Auth ID Encryption"), time(8) rand(4) crc32(4)).
Key16 createAuthId(const Key16& cmdKey, std::int64_t unixTime, std::uint32_t random);

// auth id || seal(length) || connection nonce || seal(header).
Bytes sealHeader(const Key16& cmdKey, ByteView header, const Key16& authId, ByteView nonce8);
// The server's side of sealHeader (for tests): the plaintext header.
std::optional<Bytes> openHeader(const Key16& cmdKey, ByteView sealed);

struct Session {
  Key16 requestKey{}, requestIv{};
  Key16 responseKey{}, responseIv{};  // SHA-256 of the request key / IV, first 16 bytes
  std::uint8_t responseAuth = 0;
  std::uint8_t option = ChunkStream;
  Security security = Security::Aes128Gcm;

  // Fresh random keys; options as v2ray sets them for the security.
  static Session create(Security security);
  // Deterministic (tests): response keys derived from the given request keys.
  static Session fromKeys(const Key16& key, const Key16& iv, std::uint8_t auth, std::uint8_t option, Security security);
};

// The plaintext request header: version, IV, key, V, option, padding|security,
// 0, command, port, address, padding, FNV-1a.
Bytes buildRequestHeader(const Session& s, Command cmd, const Endpoint& target, std::size_t paddingLen);

// Seals a response header as the server would (tests, fuzz seeds).
Bytes sealResponseHeader(const Session& s, ByteView plainHeader);

// Decodes the server's sealed response header incrementally.
class ResponseHeaderDecoder {
 public:
  explicit ResponseHeaderDecoder(const Session& s);
  // Consumes bytes of data up to the end of the header; returns how many.
  // Throws OutboundError(Protocol) when authentication fails or the header
  // does not answer this request.
  std::size_t feed(ByteView data);
  bool done() const { return done_; }
  bool started() const { return !buf_.empty() || done_; }

 private:
  Key16 lenKey_, payloadKey_;
  Bytes lenNonce_, payloadNonce_;
  std::uint8_t auth_;
  Bytes buf_;
  std::size_t payloadLen_ = 0;
  bool haveLen_ = false;
  bool done_ = false;
};

// Body chunks of one direction: [masked size][sealed payload][padding].
class ChunkWriter {
 public:
  static constexpr std::size_t kMaxPayload = 8192;
  ChunkWriter(Security sec, const Key16& key, const Key16& iv, std::uint8_t option);
  ~ChunkWriter();
  // One chunk per kMaxPayload slice of payload.
  void write(ByteView payload, Bytes& out);
  // Exactly one chunk (UDP: one packet per chunk).
  void writePacket(ByteView payload, Bytes& out);
  // The empty chunk that ends the stream.
  void writeEnd(Bytes& out);

 private:
  void writeChunk(ByteView payload, Bytes& out);
  Security sec_;
  std::unique_ptr<crypto::Aead> aead_;
  Key16 iv_;
  std::uint16_t count_ = 0;
  std::uint8_t option_;
  std::unique_ptr<crypto::Shake128Stream> mask_;
};

class ChunkReader {
 public:
  enum class Status { NeedMore, Data, End };
  ChunkReader(Security sec, const Key16& key, const Key16& iv, std::uint8_t option);
  ~ChunkReader();
  void feed(ByteView data);
  // Next chunk's payload into out; throws OutboundError(Protocol).
  Status next(Bytes& out);
  bool midChunk() const { return pending_.size() > offset_ || sizeKnown_; }

 private:
  Security sec_;
  std::unique_ptr<crypto::Aead> aead_;
  Key16 iv_;
  std::uint16_t count_ = 0;
  std::uint8_t option_;
  std::unique_ptr<crypto::Shake128Stream> mask_;
  Bytes pending_;
  std::size_t offset_ = 0;
  bool sizeKnown_ = false;
  std::size_t size_ = 0, padding_ = 0;
  bool ended_ = false;
};

}  // namespace dae::outbound::vmess
