#include "outbound/Stream.h"

#include <algorithm>
#include <cstring>

#include "outbound/Error.h"

namespace dae::outbound {

awaitable<void> readExactly(Stream& s, boost::asio::mutable_buffer buf, const char* what) {
  auto* p = static_cast<std::uint8_t*>(buf.data());
  std::size_t got = 0;
  while (got < buf.size()) {
    std::size_t n = co_await s.readSome(boost::asio::buffer(p + got, buf.size() - got));
    if (n == 0)
      fail(Errc::Closed, std::string("connection closed while reading ") + what + " (" + std::to_string(got) + " of " +
                             std::to_string(buf.size()) + " bytes)");
    got += n;
  }
}

namespace {

class PrefixedStream final : public Stream {
 public:
  PrefixedStream(std::unique_ptr<Stream> inner, std::vector<std::uint8_t> prefix)
      : inner_(std::move(inner)), prefix_(std::move(prefix)) {}
  boost::asio::any_io_executor executor() const override { return inner_->executor(); }
  awaitable<std::size_t> readSome(boost::asio::mutable_buffer buf) override {
    if (offset_ < prefix_.size()) {
      std::size_t n = std::min(buf.size(), prefix_.size() - offset_);
      std::memcpy(buf.data(), prefix_.data() + offset_, n);
      offset_ += n;
      if (offset_ == prefix_.size()) {
        prefix_.clear();
        prefix_.shrink_to_fit();
        offset_ = 0;
      }
      co_return n;
    }
    co_return co_await inner_->readSome(buf);
  }
  awaitable<void> writeAll(boost::asio::const_buffer buf) override { co_await inner_->writeAll(buf); }
  awaitable<void> shutdownWrite() override { co_await inner_->shutdownWrite(); }
  void close() noexcept override { inner_->close(); }

 private:
  std::unique_ptr<Stream> inner_;
  std::vector<std::uint8_t> prefix_;
  std::size_t offset_ = 0;
};

}  // namespace

std::unique_ptr<Stream> withPrefix(std::unique_ptr<Stream> inner, std::vector<std::uint8_t> prefix) {
  if (prefix.empty()) return inner;
  return std::make_unique<PrefixedStream>(std::move(inner), std::move(prefix));
}

}  // namespace dae::outbound
