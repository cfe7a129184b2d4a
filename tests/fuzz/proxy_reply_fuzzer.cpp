// libFuzzer target: the replies of SOCKS5, SOCKS4 and HTTP CONNECT proxies.
// The first byte picks the parser. Invariants: a complete SOCKS5 reply
// consumes no more than it was given; an incomplete one asks for more bytes
// than it has; an HTTP head ends inside the data.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string_view>

#include "outbound/Error.h"
#include "outbound/HttpProxy.h"
#include "outbound/Socks.h"

using namespace dae::outbound;

namespace {
[[noreturn]] void broken(const char* what) {
  std::fprintf(stderr, "invariant broken: %s\n", what);
  std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::span<const std::uint8_t> in(data + 1, size - 1);
  try {
    switch (data[0] % 3) {
      case 0: {
        std::size_t used = 0, need = 0;
        auto r = parseSocks5Reply(in, used, &need);
        if (r && used > in.size()) broken("SOCKS5 reply consumed more than given");
        if (!r && need <= in.size()) broken("incomplete SOCKS5 reply did not ask for more");
        if (r && r->code != 0) (void)socks5ReplyMessage(r->code);
        break;
      }
      case 1:
        if (in.size() >= 8) checkSocks4Reply(in.first(8));
        break;
      default: {
        std::string_view text(reinterpret_cast<const char*>(in.data()), in.size());
        auto r = parseHttpConnectReply(text);
        if (r && (r->headerLength == 0 || r->headerLength > text.size())) broken("HTTP head length out of range");
        break;
      }
    }
  } catch (const OutboundError&) {
  }
  return 0;
}
