#include "outbound/VmessCodec.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstring>
#include <string_view>

#include "outbound/Error.h"

namespace dae::outbound::vmess {

namespace {

constexpr std::string_view kKdfRoot = "VMess AEAD KDF";
constexpr std::string_view kAuthIdKey = "AES Auth ID Encryption";
constexpr std::string_view kHeaderLenKey = "VMess Header AEAD Key_Length";
constexpr std::string_view kHeaderLenNonce = "VMess Header AEAD Nonce_Length";
constexpr std::string_view kHeaderKey = "VMess Header AEAD Key";
constexpr std::string_view kHeaderNonce = "VMess Header AEAD Nonce";
constexpr std::string_view kRespLenKey = "AEAD Resp Header Len Key";
constexpr std::string_view kRespLenIv = "AEAD Resp Header Len IV";
constexpr std::string_view kRespKey = "AEAD Resp Header Key";
constexpr std::string_view kRespIv = "AEAD Resp Header IV";
constexpr std::size_t kTag = crypto::Aead::kTagSize;
constexpr std::size_t kBlock = 64;  // SHA-256 block size, inherited by every HMAC level

ByteView sv(std::string_view s) { return crypto::asBytes(s); }

// HMAC over a hash function that is itself an HMAC chain: level 0 is SHA-256,
// level i is HMAC(keys[i-1]) over level i-1 (RFC 2104 with block size 64).
Bytes nestedHash(const std::vector<ByteView>& keys, std::size_t level, ByteView msg) {
  if (level == 0) return crypto::sha256(msg);
  ByteView key = keys[level - 1];
  Bytes k(key.begin(), key.end());
  if (k.size() > kBlock) k = nestedHash(keys, level - 1, k);
  k.resize(kBlock, 0);
  Bytes inner(kBlock + msg.size());
  for (std::size_t i = 0; i < kBlock; ++i) inner[i] = k[i] ^ 0x36;
  std::memcpy(inner.data() + kBlock, msg.data(), msg.size());
  Bytes innerHash = nestedHash(keys, level - 1, inner);
  Bytes outer(kBlock + innerHash.size());
  for (std::size_t i = 0; i < kBlock; ++i) outer[i] = k[i] ^ 0x5c;
  std::memcpy(outer.data() + kBlock, innerHash.data(), innerHash.size());
  return nestedHash(keys, level - 1, outer);
}

Key16 first16(const Bytes& b) {
  Key16 k;
  std::memcpy(k.data(), b.data(), 16);
  return k;
}

Bytes chachaKey(const Key16& key) {
  Bytes a = crypto::md5(key);
  Bytes b = crypto::md5(a);
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::unique_ptr<crypto::Aead> bodyAead(Security sec, const Key16& key) {
  switch (sec) {
    case Security::Aes128Gcm: return std::make_unique<crypto::Aead>(crypto::AeadAlgo::Aes128Gcm, key);
    case Security::Chacha20Poly1305:
      return std::make_unique<crypto::Aead>(crypto::AeadAlgo::Chacha20Poly1305, chachaKey(key));
    default: return nullptr;
  }
}

std::array<std::uint8_t, 12> chunkNonce(const Key16& iv, std::uint16_t count) {
  std::array<std::uint8_t, 12> n;
  std::memcpy(n.data(), iv.data(), 12);
  n[0] = static_cast<std::uint8_t>(count >> 8);
  n[1] = static_cast<std::uint8_t>(count & 0xff);
  return n;
}

}  // namespace

Security parseSecurity(std::string_view name) {
  if (name.empty() || name == "auto" || name == "aes-128-gcm") return Security::Aes128Gcm;
  if (name == "chacha20-poly1305" || name == "chacha20-ietf-poly1305") return Security::Chacha20Poly1305;
  if (name == "none") return Security::None;
  if (name == "zero") return Security::Zero;
  fail(Errc::InvalidArgument, "vmess security '" + std::string(name) + "' is not supported");
}

Bytes kdf(ByteView key, std::initializer_list<ByteView> path) {
  std::vector<ByteView> keys{sv(kKdfRoot)};
  keys.insert(keys.end(), path.begin(), path.end());
  return nestedHash(keys, keys.size(), key);
}

Key16 kdf16(ByteView key, std::initializer_list<ByteView> path) { return first16(kdf(key, path)); }

Key16 cmdKey(const Key16& uuid) {
  Bytes in(uuid.begin(), uuid.end());
  constexpr std::string_view salt = "c48619fe-8f02-49e0-b9e9-edf763e17e21";
  in.insert(in.end(), salt.begin(), salt.end());
  return first16(crypto::md5(in));
}

Key16 createAuthId(const Key16& key, std::int64_t unixTime, std::uint32_t random) {
  Key16 plain{};
  for (int i = 0; i < 8; ++i) plain[i] = static_cast<std::uint8_t>(static_cast<std::uint64_t>(unixTime) >> (56 - 8 * i));
  for (int i = 0; i < 4; ++i) plain[8 + i] = static_cast<std::uint8_t>(random >> (24 - 8 * i));
  std::uint32_t crc = crypto::crc32(ByteView(plain.data(), 12));
  for (int i = 0; i < 4; ++i) plain[12 + i] = static_cast<std::uint8_t>(crc >> (24 - 8 * i));
  return crypto::aes128EncryptBlock(kdf16(key, {sv(kAuthIdKey)}), plain);
}

Bytes sealHeader(const Key16& key, ByteView header, const Key16& authId, ByteView nonce8) {
  if (header.size() > 0xffff) fail(Errc::InvalidArgument, "vmess header too long");
  Bytes out(authId.begin(), authId.end());
  std::uint8_t len[2] = {static_cast<std::uint8_t>(header.size() >> 8), static_cast<std::uint8_t>(header.size())};
  crypto::Aead lenAead(crypto::AeadAlgo::Aes128Gcm, kdf16(key, {sv(kHeaderLenKey), authId, nonce8}));
  Bytes lenNonce = kdf(key, {sv(kHeaderLenNonce), authId, nonce8});
  lenAead.seal(ByteView(lenNonce).first(12), len, authId, out);
  out.insert(out.end(), nonce8.begin(), nonce8.end());
  crypto::Aead aead(crypto::AeadAlgo::Aes128Gcm, kdf16(key, {sv(kHeaderKey), authId, nonce8}));
  Bytes nonce = kdf(key, {sv(kHeaderNonce), authId, nonce8});
  aead.seal(ByteView(nonce).first(12), header, authId, out);
  return out;
}

std::optional<Bytes> openHeader(const Key16& key, ByteView sealed) {
  if (sealed.size() < 16 + 2 + kTag + 8 + kTag) return std::nullopt;
  ByteView authId = sealed.first(16), encLen = sealed.subspan(16, 2 + kTag), nonce8 = sealed.subspan(34, 8);
  crypto::Aead lenAead(crypto::AeadAlgo::Aes128Gcm, kdf16(key, {sv(kHeaderLenKey), authId, nonce8}));
  Bytes lenNonce = kdf(key, {sv(kHeaderLenNonce), authId, nonce8});
  Bytes len;
  if (!lenAead.open(ByteView(lenNonce).first(12), encLen, authId, len)) return std::nullopt;
  std::size_t n = (std::size_t(len[0]) << 8) | len[1];
  if (sealed.size() != 42 + n + kTag) return std::nullopt;
  crypto::Aead aead(crypto::AeadAlgo::Aes128Gcm, kdf16(key, {sv(kHeaderKey), authId, nonce8}));
  Bytes nonce = kdf(key, {sv(kHeaderNonce), authId, nonce8});
  Bytes header;
  if (!aead.open(ByteView(nonce).first(12), sealed.subspan(42), authId, header)) return std::nullopt;
  return header;
}

Session Session::fromKeys(const Key16& key, const Key16& iv, std::uint8_t auth, std::uint8_t option,
                          Security security) {
  Session s;
  s.requestKey = key;
  s.requestIv = iv;
  s.responseKey = first16(crypto::sha256(key));
  s.responseIv = first16(crypto::sha256(iv));
  s.responseAuth = auth;
  s.option = option;
  s.security = security;
  return s;
}

Session Session::create(Security security) {
  std::array<std::uint8_t, 33> r;
  crypto::randomBytes(r);
  Key16 key, iv;
  std::memcpy(key.data(), r.data(), 16);
  std::memcpy(iv.data(), r.data() + 16, 16);
  std::uint8_t option = 0;
  switch (security) {
    case Security::Aes128Gcm:
    case Security::Chacha20Poly1305: option = ChunkStream | ChunkMasking | GlobalPadding; break;
    case Security::None: option = ChunkStream | ChunkMasking; break;
    case Security::Zero: option = 0; break;  // raw body, sent as security none
  }
  return fromKeys(key, iv, r[32], option, security);
}

Bytes buildRequestHeader(const Session& s, Command cmd, const Endpoint& target, std::size_t paddingLen) {
  if (paddingLen > 15) fail(Errc::InvalidArgument, "vmess header padding is 0-15 bytes");
  Security wire = s.security == Security::Zero ? Security::None : s.security;
  Bytes h{1};
  h.insert(h.end(), s.requestIv.begin(), s.requestIv.end());
  h.insert(h.end(), s.requestKey.begin(), s.requestKey.end());
  h.push_back(s.responseAuth);
  h.push_back(s.option);
  h.push_back(static_cast<std::uint8_t>(paddingLen << 4 | static_cast<std::uint8_t>(wire)));
  h.push_back(0);
  h.push_back(cmd);
  appendPortThenAddress(h, target);
  std::size_t at = h.size();
  h.resize(at + paddingLen);
  crypto::randomBytes(std::span<std::uint8_t>(h.data() + at, paddingLen));
  std::uint32_t f = crypto::fnv1a32(h);
  for (int i = 0; i < 4; ++i) h.push_back(static_cast<std::uint8_t>(f >> (24 - 8 * i)));
  return h;
}

Bytes sealResponseHeader(const Session& s, ByteView plain) {
  Bytes out;
  std::uint8_t len[2] = {static_cast<std::uint8_t>(plain.size() >> 8), static_cast<std::uint8_t>(plain.size())};
  crypto::Aead lenAead(crypto::AeadAlgo::Aes128Gcm, kdf16(s.responseKey, {sv(kRespLenKey)}));
  lenAead.seal(ByteView(kdf(s.responseIv, {sv(kRespLenIv)})).first(12), len, {}, out);
  crypto::Aead aead(crypto::AeadAlgo::Aes128Gcm, kdf16(s.responseKey, {sv(kRespKey)}));
  aead.seal(ByteView(kdf(s.responseIv, {sv(kRespIv)})).first(12), plain, {}, out);
  return out;
}

ResponseHeaderDecoder::ResponseHeaderDecoder(const Session& s)
    : lenKey_(kdf16(s.responseKey, {sv(kRespLenKey)})),
      payloadKey_(kdf16(s.responseKey, {sv(kRespKey)})),
      lenNonce_(kdf(s.responseIv, {sv(kRespLenIv)})),
      payloadNonce_(kdf(s.responseIv, {sv(kRespIv)})),
      auth_(s.responseAuth) {
  lenNonce_.resize(12);
  payloadNonce_.resize(12);
}

std::size_t ResponseHeaderDecoder::feed(ByteView data) {
  std::size_t used = 0;
  while (!done_ && used < data.size()) {
    std::size_t want = haveLen_ ? payloadLen_ + kTag : 2 + kTag;
    std::size_t take = std::min(want - buf_.size(), data.size() - used);
    buf_.insert(buf_.end(), data.begin() + used, data.begin() + used + take);
    used += take;
    if (buf_.size() < want) break;
    Bytes plain;
    if (!haveLen_) {
      crypto::Aead aead(crypto::AeadAlgo::Aes128Gcm, lenKey_);
      if (!aead.open(lenNonce_, buf_, {}, plain))
        fail(Errc::Protocol, "vmess: the response header failed authentication (wrong id, or not a vmess server)");
      payloadLen_ = (std::size_t(plain[0]) << 8) | plain[1];
      if (payloadLen_ < 4) fail(Errc::Protocol, "vmess: response header too short");
      haveLen_ = true;
    } else {
      crypto::Aead aead(crypto::AeadAlgo::Aes128Gcm, payloadKey_);
      if (!aead.open(payloadNonce_, buf_, {}, plain))
        fail(Errc::Protocol, "vmess: the response header failed authentication");
      if (plain[0] != auth_)
        fail(Errc::Protocol, "vmess: the response header answers another request (auth byte mismatch)");
      done_ = true;  // option, command and its data are informational only
    }
    buf_.clear();
  }
  return used;
}

ChunkWriter::ChunkWriter(Security sec, const Key16& key, const Key16& iv, std::uint8_t option)
    : sec_(sec), aead_(bodyAead(sec, key)), iv_(iv), option_(option) {
  if (option_ & ChunkMasking) mask_ = std::make_unique<crypto::Shake128Stream>(iv);
}
ChunkWriter::~ChunkWriter() = default;

void ChunkWriter::writeChunk(ByteView payload, Bytes& out) {
  std::size_t padding = 0;
  if (mask_ && (option_ & GlobalPadding)) padding = mask_->nextU16() % 64;
  std::size_t overhead = aead_ ? kTag : 0;
  std::size_t size = payload.size() + overhead + padding;
  std::uint16_t wire = static_cast<std::uint16_t>(size);
  if (mask_) wire ^= mask_->nextU16();
  out.push_back(static_cast<std::uint8_t>(wire >> 8));
  out.push_back(static_cast<std::uint8_t>(wire & 0xff));
  if (aead_) {
    aead_->seal(chunkNonce(iv_, count_++), payload, {}, out);
  } else {
    out.insert(out.end(), payload.begin(), payload.end());
  }
  std::size_t at = out.size();
  out.resize(at + padding);
  crypto::randomBytes(std::span<std::uint8_t>(out.data() + at, padding));
}

void ChunkWriter::write(ByteView payload, Bytes& out) {
  if (sec_ == Security::Zero) {
    out.insert(out.end(), payload.begin(), payload.end());
    return;
  }
  while (!payload.empty()) {
    std::size_t n = std::min(payload.size(), kMaxPayload);
    writeChunk(payload.first(n), out);
    payload = payload.subspan(n);
  }
}

void ChunkWriter::writePacket(ByteView payload, Bytes& out) {
  if (sec_ == Security::Zero) fail(Errc::Unsupported, "vmess security 'zero' cannot carry UDP");
  if (payload.size() > 0xffff - kTag - 64) fail(Errc::InvalidArgument, "UDP packet too large for one vmess chunk");
  writeChunk(payload, out);
}

void ChunkWriter::writeEnd(Bytes& out) {
  if (sec_ != Security::Zero) writeChunk({}, out);
}

ChunkReader::ChunkReader(Security sec, const Key16& key, const Key16& iv, std::uint8_t option)
    : sec_(sec), aead_(bodyAead(sec, key)), iv_(iv), option_(option) {
  if (option_ & ChunkMasking) mask_ = std::make_unique<crypto::Shake128Stream>(iv);
}
ChunkReader::~ChunkReader() = default;

void ChunkReader::feed(ByteView data) {
  if (offset_ > 0 && offset_ * 2 >= pending_.size()) {
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(offset_));
    offset_ = 0;
  }
  pending_.insert(pending_.end(), data.begin(), data.end());
}

ChunkReader::Status ChunkReader::next(Bytes& out) {
  out.clear();
  if (ended_) return Status::End;
  std::size_t avail = pending_.size() - offset_;
  if (sec_ == Security::Zero) {
    if (avail == 0) return Status::NeedMore;
    out.assign(pending_.begin() + static_cast<std::ptrdiff_t>(offset_), pending_.end());
    offset_ = pending_.size();
    return Status::Data;
  }
  std::size_t overhead = aead_ ? kTag : 0;
  if (!sizeKnown_) {
    if (avail < 2) return Status::NeedMore;
    padding_ = (mask_ && (option_ & GlobalPadding)) ? mask_->nextU16() % 64 : 0;
    std::uint16_t wire = static_cast<std::uint16_t>((pending_[offset_] << 8) | pending_[offset_ + 1]);
    if (mask_) wire ^= mask_->nextU16();
    size_ = wire;
    offset_ += 2;
    avail -= 2;
    sizeKnown_ = true;
    if (size_ < overhead + padding_)
      fail(Errc::Protocol, "vmess: chunk size " + std::to_string(size_) + " is smaller than its overhead");
    if (size_ == overhead + padding_) {  // the empty chunk: end of stream
      sizeKnown_ = false;
      offset_ += std::min(avail, size_);
      ended_ = true;
      return Status::End;
    }
  }
  if (avail < size_) return Status::NeedMore;
  ByteView body(pending_.data() + offset_, size_ - padding_);
  if (aead_) {
    if (!aead_->open(chunkNonce(iv_, count_++), body, {}, out))
      fail(Errc::Protocol, "vmess: a body chunk failed authentication (corrupted stream)");
  } else {
    out.assign(body.begin(), body.end());
  }
  offset_ += size_;
  sizeKnown_ = false;
  return Status::Data;
}

}  // namespace dae::outbound::vmess
