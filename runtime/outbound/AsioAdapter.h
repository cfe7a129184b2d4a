// Presents a Stream as an Asio AsyncStream (async_read_some /
// async_write_some), so that Boost.Asio SSL and Boost.Beast (WebSocket, HTTP)
// can run on top of any outbound stream, including the streams of a chain.
#pragma once

#include <exception>
#include <memory>
#include <vector>

#include <utility>  // before Boost.Asio 1.74 headers (std::exchange)
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/system/system_error.hpp>

#include "outbound/Stream.h"

namespace dae::outbound {

class StreamAdapter {
 public:
  using executor_type = boost::asio::any_io_executor;
  using lowest_layer_type = StreamAdapter;

  explicit StreamAdapter(std::unique_ptr<Stream> s) : state_(std::make_shared<State>()) {
    state_->ex = s->executor();
    state_->stream = std::move(s);
  }

  executor_type get_executor() const noexcept { return state_->ex; }
  lowest_layer_type& lowest_layer() noexcept { return *this; }
  Stream& stream() noexcept { return *state_->stream; }

  // The last failure that was not a system_error (e.g. an OutboundError of
  // the inner stream): the layer above reports it instead of the generic
  // error code the Asio operation completed with.
  std::exception_ptr takeError() noexcept {
    auto e = state_->error;
    state_->error = nullptr;
    return e;
  }

  template <typename MutableBufferSequence, typename Token>
  auto async_read_some(const MutableBufferSequence& buffers, Token&& token) {
    boost::asio::mutable_buffer first;
    for (auto it = boost::asio::buffer_sequence_begin(buffers); it != boost::asio::buffer_sequence_end(buffers); ++it) {
      first = *it;
      if (first.size() > 0) break;
    }
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [st = state_](auto handler, boost::asio::mutable_buffer buf) {
          if (buf.size() == 0) {
            complete(st, std::move(handler), nullptr, 0, false);
            return;
          }
          boost::asio::co_spawn(st->ex, st->stream->readSome(buf),
                                [st, h = std::move(handler)](std::exception_ptr e, std::size_t n) mutable {
                                  complete(st, std::move(h), e, n, true);
                                });
        },
        token, first);
  }

  template <typename ConstBufferSequence, typename Token>
  auto async_write_some(const ConstBufferSequence& buffers, Token&& token) {
    std::size_t total = boost::asio::buffer_size(buffers);
    auto copy = std::make_shared<std::vector<std::uint8_t>>();
    boost::asio::const_buffer one;
    std::size_t nonEmpty = 0;
    for (auto it = boost::asio::buffer_sequence_begin(buffers); it != boost::asio::buffer_sequence_end(buffers); ++it)
      if (boost::asio::const_buffer b = *it; b.size() > 0) {
        one = b;
        ++nonEmpty;
      }
    if (nonEmpty > 1) {  // coalesce (e.g. a WebSocket frame header and its payload)
      copy->resize(total);
      boost::asio::buffer_copy(boost::asio::buffer(*copy), buffers);
      one = boost::asio::buffer(*copy);
    }
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [st = state_, copy](auto handler, boost::asio::const_buffer buf) {
          if (buf.size() == 0) {
            complete(st, std::move(handler), nullptr, 0, false);
            return;
          }
          boost::asio::co_spawn(st->ex, st->stream->writeAll(buf),
                                [st, copy, h = std::move(handler), size = buf.size()](std::exception_ptr e) mutable {
                                  complete(st, std::move(h), e, e ? 0 : size, false);
                                });
        },
        token, one);
  }

 private:
  struct State {
    executor_type ex;
    std::unique_ptr<Stream> stream;
    std::exception_ptr error;
  };

  template <typename Handler>
  static void complete(const std::shared_ptr<State>& st, Handler&& h, std::exception_ptr e, std::size_t n,
                       bool zeroIsEof) {
    boost::system::error_code ec;
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const boost::system::system_error& se) {
        ec = se.code();
      } catch (const std::exception&) {
        st->error = e;
        ec = boost::asio::error::fault;
      }
    } else if (zeroIsEof && n == 0) {
      ec = boost::asio::error::eof;
    }
    auto hex = boost::asio::get_associated_executor(h, st->ex);
    boost::asio::dispatch(hex, [h = std::forward<Handler>(h), ec, n]() mutable { std::move(h)(ec, n); });
  }

  std::shared_ptr<State> state_;
};

// Beast's WebSocket closing handshake tears the transport down with these.
void teardown(boost::beast::role_type role, StreamAdapter& s, boost::system::error_code& ec);

template <typename TeardownHandler>
void async_teardown(boost::beast::role_type, StreamAdapter& s, TeardownHandler&& handler) {
  s.stream().close();
  boost::asio::post(s.get_executor(), [h = std::forward<TeardownHandler>(handler)]() mutable {
    std::move(h)(boost::system::error_code{});
  });
}

}  // namespace dae::outbound
