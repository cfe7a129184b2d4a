#include "outbound/Shadowsocks.h"

#include <utility>  // before Boost.Asio 1.74 headers (std::exchange)
#include <boost/asio/this_coro.hpp>
#include <cstring>
#include <spdlog/spdlog.h>

#include "outbound/Error.h"
#include "outbound/Protocols.h"

namespace dae::outbound {

namespace asio = boost::asio;
using crypto::ByteView;
using crypto::Bytes;

namespace {
constexpr SsCipher kCiphers[] = {
    {"aes-128-gcm", crypto::AeadAlgo::Aes128Gcm, 16, 16},
    {"aes-256-gcm", crypto::AeadAlgo::Aes256Gcm, 32, 32},
    {"chacha20-ietf-poly1305", crypto::AeadAlgo::Chacha20Poly1305, 32, 32},
};
constexpr std::string_view kInfo = "ss-subkey";
constexpr std::size_t kTag = crypto::Aead::kTagSize;
}  // namespace

const SsCipher* findSsCipher(std::string_view name) {
  if (name == "chacha20-poly1305") name = "chacha20-ietf-poly1305";
  for (const auto& c : kCiphers)
    if (c.name == name) return &c;
  return nullptr;
}

Bytes ssMasterKey(const SsCipher& c, std::string_view password) { return crypto::evpBytesToKey(password, c.keySize); }

Bytes ssSubkey(const SsCipher& c, ByteView masterKey, ByteView salt) {
  return crypto::hkdfSha1(masterKey, salt, crypto::asBytes(kInfo), c.keySize);
}

void incrementNonceLE(std::array<std::uint8_t, 12>& nonce) noexcept {
  for (auto& b : nonce)
    if (++b != 0) break;
}

SsStreamEncoder::SsStreamEncoder(const SsCipher& c, ByteView masterKey, ByteView salt) : cipher_(c) {
  salt_.assign(salt.begin(), salt.end());
  if (salt_.empty()) {
    salt_.resize(c.saltSize);
    crypto::randomBytes(salt_);
  }
  if (salt_.size() != c.saltSize) throw std::invalid_argument("shadowsocks salt has the wrong length");
  aead_ = std::make_unique<crypto::Aead>(c.algo, ssSubkey(c, masterKey, salt_));
}

void SsStreamEncoder::encode(ByteView plaintext, Bytes& out) {
  if (!saltSent_) {
    out.insert(out.end(), salt_.begin(), salt_.end());
    saltSent_ = true;
  }
  while (!plaintext.empty()) {
    std::size_t n = std::min(plaintext.size(), kMaxPayload);
    std::uint8_t len[2] = {static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n & 0xff)};
    aead_->seal(nonce_, len, {}, out);
    incrementNonceLE(nonce_);
    aead_->seal(nonce_, plaintext.first(n), {}, out);
    incrementNonceLE(nonce_);
    plaintext = plaintext.subspan(n);
  }
}

SsStreamDecoder::SsStreamDecoder(const SsCipher& c, ByteView masterKey)
    : cipher_(c), masterKey_(masterKey.begin(), masterKey.end()) {}

void SsStreamDecoder::feed(ByteView in, Bytes& out) {
  pending_.insert(pending_.end(), in.begin(), in.end());
  while (true) {
    ByteView avail(pending_.data() + offset_, pending_.size() - offset_);
    if (!aead_) {
      if (avail.size() < cipher_.saltSize) break;
      aead_ = std::make_unique<crypto::Aead>(cipher_.algo, ssSubkey(cipher_, masterKey_, avail.first(cipher_.saltSize)));
      offset_ += cipher_.saltSize;
      continue;
    }
    if (!inPayload_) {
      if (avail.size() < 2 + kTag) break;
      Bytes len;
      if (!aead_->open(nonce_, avail.first(2 + kTag), {}, len))
        fail(Errc::Protocol, chunks_ == 0 ? "shadowsocks: the first chunk failed authentication (wrong password or "
                                            "cipher, or not a shadowsocks server)"
                                          : "shadowsocks: a length chunk failed authentication (corrupted stream)");
      incrementNonceLE(nonce_);
      payloadLen_ = (std::size_t(len[0]) << 8) | len[1];
      if (payloadLen_ > SsStreamEncoder::kMaxPayload)
        fail(Errc::Protocol, "shadowsocks: chunk length " + std::to_string(payloadLen_) + " exceeds 0x3FFF");
      inPayload_ = true;
      offset_ += 2 + kTag;
      continue;
    }
    if (avail.size() < payloadLen_ + kTag) break;
    if (!aead_->open(nonce_, avail.first(payloadLen_ + kTag), {}, out))
      fail(Errc::Protocol, "shadowsocks: a payload chunk failed authentication (corrupted stream)");
    incrementNonceLE(nonce_);
    offset_ += payloadLen_ + kTag;
    inPayload_ = false;
    ++chunks_;
  }
  // Drop consumed bytes once they dominate the buffer (amortised O(n)).
  if (offset_ > 0 && offset_ * 2 >= pending_.size()) {
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(offset_));
    offset_ = 0;
  }
}

Bytes ssEncryptPacket(const SsCipher& c, ByteView masterKey, ByteView plaintext) {
  Bytes out(c.saltSize);
  crypto::randomBytes(out);
  crypto::Aead aead(c.algo, ssSubkey(c, masterKey, out));
  std::array<std::uint8_t, 12> zero{};
  aead.seal(zero, plaintext, {}, out);
  return out;
}

std::optional<Bytes> ssDecryptPacket(const SsCipher& c, ByteView masterKey, ByteView packet) {
  if (packet.size() < c.saltSize + kTag) return std::nullopt;
  crypto::Aead aead(c.algo, ssSubkey(c, masterKey, packet.first(c.saltSize)));
  std::array<std::uint8_t, 12> zero{};
  Bytes out;
  if (!aead.open(zero, packet.subspan(c.saltSize), {}, out)) return std::nullopt;
  return out;
}

namespace {

class SsStream final : public Stream {
 public:
  SsStream(std::unique_ptr<Stream> lower, const SsCipher& c, ByteView masterKey)
      : lower_(std::move(lower)), enc_(c, masterKey), dec_(c, masterKey), rbuf_(32 * 1024) {}

  asio::any_io_executor executor() const override { return lower_->executor(); }

  awaitable<std::size_t> readSome(asio::mutable_buffer buf) override {
    while (plainOff_ == plain_.size()) {
      plain_.clear();
      plainOff_ = 0;
      std::size_t n = co_await lower_->readSome(asio::buffer(rbuf_));
      if (n == 0) {
        if (dec_.midChunk())
          fail(Errc::Protocol, "shadowsocks: the server closed the connection inside an AEAD chunk (truncated stream)");
        co_return 0;
      }
      dec_.feed(ByteView(rbuf_.data(), n), plain_);
    }
    std::size_t n = std::min(buf.size(), plain_.size() - plainOff_);
    std::memcpy(buf.data(), plain_.data() + plainOff_, n);
    plainOff_ += n;
    co_return n;
  }

  awaitable<void> writeAll(asio::const_buffer buf) override {
    wbuf_.clear();
    enc_.encode(ByteView(static_cast<const std::uint8_t*>(buf.data()), buf.size()), wbuf_);
    co_await lower_->writeAll(asio::buffer(wbuf_));
  }
  awaitable<void> shutdownWrite() override { co_await lower_->shutdownWrite(); }
  void close() noexcept override { lower_->close(); }

 private:
  std::unique_ptr<Stream> lower_;
  SsStreamEncoder enc_;
  SsStreamDecoder dec_;
  Bytes rbuf_, wbuf_, plain_;
  std::size_t plainOff_ = 0;
};

class SsDatagram final : public Datagram {
 public:
  SsDatagram(std::unique_ptr<Datagram> lower, const SsCipher& c, Bytes key, Endpoint server)
      : lower_(std::move(lower)), cipher_(c), key_(std::move(key)), server_(std::move(server)), rbuf_(65536) {}
  ~SsDatagram() override { close(); }
  asio::any_io_executor executor() const override { return lower_->executor(); }

  awaitable<void> sendTo(asio::const_buffer payload, const Endpoint& to) override {
    Bytes plain;
    appendSocksAddress(plain, to);
    auto p = static_cast<const std::uint8_t*>(payload.data());
    plain.insert(plain.end(), p, p + payload.size());
    Bytes packet = ssEncryptPacket(cipher_, key_, plain);
    co_await lower_->sendTo(asio::buffer(packet), server_);
  }

  awaitable<std::size_t> receiveFrom(asio::mutable_buffer buf, Endpoint& from) override {
    while (true) {
      Endpoint sender;
      std::size_t n = co_await lower_->receiveFrom(asio::buffer(rbuf_), sender);
      auto plain = ssDecryptPacket(cipher_, key_, ByteView(rbuf_.data(), n));
      if (!plain) {
        spdlog::debug("ss: dropped a UDP packet from {} that failed authentication", sender.toString());
        continue;
      }
      std::size_t used = 0;
      std::optional<Endpoint> src;
      try {
        src = parseSocksAddress(*plain, used);
      } catch (const OutboundError& e) {
        spdlog::debug("ss: dropped a UDP packet: {}", e.what());
        continue;
      }
      if (!src) continue;
      std::size_t len = std::min(buf.size(), plain->size() - used);
      std::memcpy(buf.data(), plain->data() + used, len);
      from = *src;
      co_return len;
    }
  }
  void close() noexcept override { lower_->close(); }

 private:
  std::unique_ptr<Datagram> lower_;
  const SsCipher& cipher_;
  Bytes key_;
  Endpoint server_;
  Bytes rbuf_;
};

class SsDialer final : public Dialer {
 public:
  SsDialer(NodeConfig node, std::shared_ptr<Dialer> via, const SsCipher& c)
      : node_(std::move(node)), via_(std::move(via)), cipher_(c), key_(ssMasterKey(c, node_.password)) {}

  awaitable<std::unique_ptr<Stream>> dialTcp(const Endpoint& target) override {
    auto lower = co_await via_->dialTcp(node_.server);
    auto s = std::make_unique<SsStream>(std::move(lower), cipher_, key_);
    Bytes header;
    appendSocksAddress(header, target);
    co_await s->writeAll(asio::buffer(header));
    co_return s;
  }
  awaitable<std::unique_ptr<Datagram>> dialUdp() override {
    auto lower = co_await via_->dialUdp();
    co_return std::make_unique<SsDatagram>(std::move(lower), cipher_, key_, node_.server);
  }
  bool supportsUdp() const override { return via_->supportsUdp(); }
  std::string describe() const override { return "ss " + std::string(cipher_.name) + " " + node_.server.toString(); }

 private:
  NodeConfig node_;
  std::shared_ptr<Dialer> via_;
  const SsCipher& cipher_;
  Bytes key_;
};

}  // namespace

std::shared_ptr<Dialer> makeShadowsocksDialer(const NodeConfig& node, std::shared_ptr<Dialer> via,
                                              const DialOptions&) {
  const SsCipher* c = findSsCipher(node.cipher);
  if (!c) fail(Errc::InvalidArgument, "shadowsocks cipher '" + node.cipher + "' is not supported");
  return std::make_shared<SsDialer>(node, std::move(via), *c);
}

}  // namespace dae::outbound
