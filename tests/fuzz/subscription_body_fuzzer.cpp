// libFuzzer target: subscription bodies (SIP008 JSON, link lists, base64 of them).
// Beyond "no crash": parseBody throws nothing but BodyError, is deterministic, and
// every node it returns has a name and a link the node pool reads as exactly one
// hop (never a chain), so GroupManager never misreads a subscription line.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "outbound/Error.h"
#include "outbound/ShareLink.h"
#include "subscription/Body.h"

using namespace dae::subscription;

namespace {

[[noreturn]] void broken(const char* what, const std::string& detail) {
  std::fprintf(stderr, "invariant broken: %s: %s\n", what, detail.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 64 * 1024) return 0;
  std::string body(reinterpret_cast<const char*>(data), size);
  ParsedBody parsed;
  try {
    parsed = parseBody(body);
  } catch (const BodyError&) {
    return 0;
  }
  ParsedBody again = parseBody(body);
  if (again.nodes.size() != parsed.nodes.size() || again.warnings != parsed.warnings)
    broken("parsing is not deterministic", std::to_string(parsed.nodes.size()));
  for (const auto& n : parsed.nodes) {
    if (n.name.empty()) broken("a node without a name", n.link);
    try {
      auto hops = dae::outbound::parseChain(n.link);
      if (hops.size() != 1) broken("a subscription link reads as a chain", n.link);
    } catch (const dae::outbound::LinkError& e) {
      broken("an accepted link does not parse", e.what());
    } catch (const dae::outbound::OutboundError& e) {
      broken("an accepted link does not parse", e.what());
    }
  }
  return 0;
}
