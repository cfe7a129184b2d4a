// libFuzzer target: share-link parsing (every scheme, chains). Beyond "no
// crash": a link that parses has a server port unless it is direct/block,
// and parsing is deterministic.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "outbound/Error.h"
#include "outbound/ShareLink.h"

using namespace dae::outbound;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    NodeConfig n = parseShareLink(text);
    if (n.protocol != Protocol::Direct && n.protocol != Protocol::Block && n.server.port == 0) {
      std::fprintf(stderr, "invariant broken: parsed node without a port\n");
      std::abort();
    }
    NodeConfig again = parseShareLink(text);
    if (again.server != n.server || again.password != n.password || again.name != n.name) {
      std::fprintf(stderr, "invariant broken: parsing is not deterministic\n");
      std::abort();
    }
  } catch (const LinkError&) {
  } catch (const OutboundError&) {
  }
  try {
    (void)parseChain(text);
  } catch (const LinkError&) {
  } catch (const OutboundError&) {
  }
  return 0;
}
