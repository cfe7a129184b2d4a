// VMess AEAD dialer: TCP and UDP, over tcp / tls / ws / ws+tls.
#include <utility>  // before Boost.Asio 1.74 headers (std::exchange)
#include <boost/asio/this_coro.hpp>
#include <chrono>
#include <cstring>
#include <spdlog/spdlog.h>

#include "outbound/PacketFlows.h"
#include "outbound/Protocols.h"
#include "outbound/Transport.h"
#include "outbound/VmessCodec.h"

namespace dae::outbound {

namespace asio = boost::asio;
using crypto::ByteView;
using crypto::Bytes;
using namespace vmess;

namespace {

// One VMess session on a transport stream: the request header goes out at
// once; the response header is read before the first body chunk.
class VmessConn {
 public:
  VmessConn(std::unique_ptr<Stream> lower, const Session& s)
      : lower_(std::move(lower)),
        session_(s),
        resp_(s),
        reader_(s.security, s.responseKey, s.responseIv, s.option),
        writer_(s.security, s.requestKey, s.requestIv, s.option),
        rbuf_(32 * 1024) {}

  Stream& lower() { return *lower_; }

  awaitable<void> sendHeader(const Key16& cmd, Command command, const Endpoint& target) {
    std::uint8_t r[13];
    crypto::randomBytes(r);
    Bytes header = buildRequestHeader(session_, command, target, r[12] % 16);
    std::uint32_t rnd = (std::uint32_t(r[0]) << 24) | (std::uint32_t(r[1]) << 16) | (std::uint32_t(r[2]) << 8) | r[3];
    auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
    Key16 authId = createAuthId(cmd, now.count(), rnd);
    Bytes sealed = sealHeader(cmd, header, authId, ByteView(r + 4, 8));
    co_await lower_->writeAll(asio::buffer(sealed));
  }

  awaitable<void> write(ByteView payload, bool packet) {
    wbuf_.clear();
    if (packet) writer_.writePacket(payload, wbuf_);
    else writer_.write(payload, wbuf_);
    co_await lower_->writeAll(asio::buffer(wbuf_));
  }

  awaitable<void> end() {
    if (session_.security == Security::Zero) {
      co_await lower_->shutdownWrite();
      co_return;
    }
    wbuf_.clear();
    writer_.writeEnd(wbuf_);
    co_await lower_->writeAll(asio::buffer(wbuf_));
  }

  // Next body chunk; false at the end of the response.
  awaitable<bool> readChunk(Bytes& out) {
    while (true) {
      if (resp_.done()) {
        auto st = reader_.next(out);
        if (st == ChunkReader::Status::Data) co_return true;
        if (st == ChunkReader::Status::End) co_return false;
      }
      std::size_t n = co_await lower_->readSome(asio::buffer(rbuf_));
      if (n == 0) {
        if (!resp_.done())
          fail(Errc::Closed, resp_.started() ? "vmess: the server closed the connection inside its response header"
                                             : "vmess: the server closed the connection without a response header "
                                               "(wrong id, or it could not reach the target)");
        if (reader_.midChunk())
          fail(Errc::Protocol, "vmess: the server closed the connection inside a body chunk (truncated stream)");
        co_return false;
      }
      ByteView data(rbuf_.data(), n);
      if (!resp_.done()) data = data.subspan(resp_.feed(data));
      if (!data.empty()) reader_.feed(data);
    }
  }

  void close() noexcept { lower_->close(); }

 private:
  std::unique_ptr<Stream> lower_;
  Session session_;
  ResponseHeaderDecoder resp_;
  ChunkReader reader_;
  ChunkWriter writer_;
  Bytes rbuf_, wbuf_;
};

class VmessStream final : public Stream {
 public:
  explicit VmessStream(std::unique_ptr<VmessConn> c) : conn_(std::move(c)) {}
  asio::any_io_executor executor() const override { return conn_->lower().executor(); }

  awaitable<std::size_t> readSome(asio::mutable_buffer buf) override {
    while (off_ == plain_.size()) {
      off_ = 0;
      plain_.clear();
      if (ended_) co_return 0;
      bool more = co_await conn_->readChunk(plain_);
      if (!more) {
        plain_.clear();
        ended_ = true;
        co_return 0;
      }
    }
    std::size_t n = std::min(buf.size(), plain_.size() - off_);
    std::memcpy(buf.data(), plain_.data() + off_, n);
    off_ += n;
    co_return n;
  }
  awaitable<void> writeAll(asio::const_buffer buf) override {
    co_await conn_->write(ByteView(static_cast<const std::uint8_t*>(buf.data()), buf.size()), false);
  }
  awaitable<void> shutdownWrite() override { co_await conn_->end(); }
  void close() noexcept override { conn_->close(); }

 private:
  std::unique_ptr<VmessConn> conn_;
  Bytes plain_;
  std::size_t off_ = 0;
  bool ended_ = false;
};

class VmessFlow final : public PacketFlow {
 public:
  explicit VmessFlow(std::unique_ptr<VmessConn> c) : conn_(std::move(c)) {}
  awaitable<void> send(asio::const_buffer packet) override {
    co_await conn_->write(ByteView(static_cast<const std::uint8_t*>(packet.data()), packet.size()), true);
  }
  awaitable<bool> receive(std::vector<std::uint8_t>& packet) override { co_return co_await conn_->readChunk(packet); }
  void close() noexcept override { conn_->close(); }

 private:
  std::unique_ptr<VmessConn> conn_;
};

class VmessDialer final : public Dialer, public std::enable_shared_from_this<VmessDialer> {
 public:
  VmessDialer(NodeConfig node, std::shared_ptr<Dialer> via, DialOptions opts, SslContextPtr ssl)
      : node_(std::move(node)), via_(std::move(via)), opts_(std::move(opts)), ssl_(std::move(ssl)) {
    auto id = crypto::parseUuid(node_.uuid);
    if (!id) fail(Errc::InvalidArgument, "vmess id '" + node_.uuid + "' is not a UUID");
    cmdKey_ = cmdKey(*id);
    security_ = parseSecurity(node_.cipher);
    if (node_.alterId > 0) spdlog::debug("vmess: alterId {} ignored: only AEAD headers are sent", node_.alterId);
  }

  awaitable<std::unique_ptr<Stream>> dialTcp(const Endpoint& target) override {
    auto conn = co_await open(Command::Tcp, target);
    co_return std::make_unique<VmessStream>(std::move(conn));
  }

  awaitable<std::unique_ptr<Datagram>> dialUdp() override {
    if (security_ == Security::Zero) fail(Errc::Unsupported, "vmess security 'zero' cannot carry UDP");
    auto self = shared_from_this();
    PacketFlowFactory factory = [self](const Endpoint& to) { return self->openFlow(to); };
    co_return makePerDestinationDatagram(co_await asio::this_coro::executor, std::move(factory));
  }

  bool supportsUdp() const override { return security_ != Security::Zero; }
  std::string describe() const override {
    std::string t = node_.network == Network::Ws ? "ws" : "tcp";
    if (node_.tls.enabled) t += "+tls";
    return "vmess " + t + " " + node_.server.toString();
  }

 private:
  awaitable<std::unique_ptr<VmessConn>> open(Command cmd, Endpoint target) {
    auto lower = co_await openTransport(*via_, node_, ssl_.get(), opts_);
    auto conn = std::make_unique<VmessConn>(std::move(lower), Session::create(security_));
    co_await conn->sendHeader(cmdKey_, cmd, target);
    co_return conn;
  }

  awaitable<std::unique_ptr<PacketFlow>> openFlow(Endpoint to) {
    auto conn = co_await open(Command::Udp, to);
    co_return std::make_unique<VmessFlow>(std::move(conn));
  }

  NodeConfig node_;
  std::shared_ptr<Dialer> via_;
  DialOptions opts_;
  SslContextPtr ssl_;
  Key16 cmdKey_{};
  Security security_ = Security::Aes128Gcm;
};

}  // namespace

std::shared_ptr<Dialer> makeVmessDialer(const NodeConfig& node, std::shared_ptr<Dialer> via, const DialOptions& opts,
                                        SslContextPtr ssl) {
  return std::make_shared<VmessDialer>(node, std::move(via), opts, std::move(ssl));
}

}  // namespace dae::outbound
