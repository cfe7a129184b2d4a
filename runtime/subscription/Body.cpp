#include "subscription/Body.h"

#include <nlohmann/json.hpp>

#include "outbound/Error.h"
#include "outbound/ShareLink.h"

namespace dae::subscription {

namespace {

constexpr std::string_view kBlanks = " \t\r\n\f\v";

std::string_view trim(std::string_view s) {
  auto first = s.find_first_not_of(kBlanks);
  if (first == std::string_view::npos) return {};
  auto last = s.find_last_not_of(kBlanks);
  return s.substr(first, last - first + 1);
}

// At most `max` bytes of s, with "…" when cut (never inside a UTF-8 sequence).
std::string clip(std::string_view s, std::size_t max) {
  if (s.size() <= max) return std::string(s);
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return std::string(s.substr(0, n)) + "\u2026";
}

// How a link is named in a warning: its scheme and name, never its credentials.
std::string linkLabel(std::string_view line) {
  auto sep = line.find("://");
  std::string label = clip(line.substr(0, sep), 16) + "://\u2026";
  if (auto hash = line.find('#'); hash != std::string_view::npos && hash + 1 < line.size())
    label += "#" + clip(outbound::percentDecode(line.substr(hash + 1)), 40);
  return label;
}

// A link whose name contains "->" would be read as a chain by the node pool:
// percent-encode the name. A "->" before the name cannot be fixed that way.
bool protectArrows(std::string& link) {
  auto arrow = link.find("->");
  if (arrow == std::string::npos) return true;
  auto hash = link.find('#');
  if (hash == std::string::npos || arrow < hash) return false;
  link = link.substr(0, hash + 1) + percentEncode(outbound::percentDecode(link.substr(hash + 1)));
  return true;
}

// One share link -> a node, or the reason it is skipped.
bool acceptLink(std::string link, const std::string& where, ParsedBody& out) {
  std::string label = where + " (" + linkLabel(link) + ")";
  outbound::NodeConfig n;
  try {
    n = outbound::parseShareLink(link);
  } catch (const outbound::LinkError& e) {
    out.warnings.push_back(label + ": " + e.what());
    return false;
  } catch (const outbound::OutboundError& e) {
    out.warnings.push_back(label + ": " + e.what());
    return false;
  }
  if (n.protocol == outbound::Protocol::Direct || n.protocol == outbound::Protocol::Block) {
    out.warnings.push_back(label + ": " + std::string(outbound::protocolName(n.protocol)) + " is not a proxy node");
    return false;
  }
  if (!protectArrows(link)) {
    out.warnings.push_back(label + ": contains '->' outside its name (the node pool reads '->' as a proxy chain)");
    return false;
  }
  std::string name = n.name.empty() ? n.server.toString() : n.name;
  out.nodes.push_back(ParsedNode{std::move(name), std::move(link)});
  return true;
}

void parseLines(std::string_view text, ParsedBody& out) {
  std::size_t lineNo = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++lineNo;
    if (line.empty() || line.front() == '#') continue;
    std::string where = "line " + std::to_string(lineNo);
    if (line.find("://") == std::string_view::npos) {
      out.warnings.push_back(where + ": not a share link (no 'scheme://'), " + std::to_string(line.size()) +
                             " characters");
      continue;
    }
    acceptLink(std::string(line), where, out);
  }
}

std::string jsonString(const nlohmann::json& server, const char* key) {
  auto it = server.find(key);
  if (it == server.end() || it->is_null()) return {};
  if (!it->is_string()) throw BodyError(std::string("'") + key + "' is not a string");
  return it->get<std::string>();
}

unsigned jsonPort(const nlohmann::json& server) {
  auto it = server.find("server_port");
  if (it == server.end()) throw BodyError("no 'server_port'");
  long long port = -1;
  if (it->is_number_integer()) {
    port = it->get<long long>();
  } else if (it->is_string()) {
    const std::string s = it->get<std::string>();
    if (!s.empty() && s.size() <= 5 && s.find_first_not_of("0123456789") == std::string::npos) port = std::stoll(s);
  }
  if (port < 1 || port > 65535) throw BodyError("'server_port' is not a port number");
  return static_cast<unsigned>(port);
}

void parseSip008(std::string_view text, ParsedBody& out) {
  out.format = Format::Sip008;
  nlohmann::json doc = nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) throw BodyError("the body starts with '{' but is not valid JSON");
  const auto version = doc.find("version");
  const auto servers = doc.find("servers");
  if (version == doc.end() || !version->is_number_integer() || servers == doc.end() || !servers->is_array())
    throw BodyError("JSON that is not SIP008 (expected {\"version\": 1, \"servers\": [...]})");
  if (version->get<long long>() != 1)
    throw BodyError("SIP008 version " + std::to_string(version->get<long long>()) + " (only version 1 is known)");
  std::size_t index = 0;
  for (const auto& server : *servers) {
    std::string where = "servers[" + std::to_string(index++) + "]";
    try {
      if (!server.is_object()) throw BodyError("not an object");
      std::string remarks = jsonString(server, "remarks");
      if (!remarks.empty()) where += " '" + clip(remarks, 40) + "'";
      std::string host = jsonString(server, "server");
      if (host.empty()) throw BodyError("no 'server'");
      unsigned port = jsonPort(server);
      std::string method = jsonString(server, "method");
      if (method.empty()) throw BodyError("no 'method'");
      std::string password = jsonString(server, "password");
      std::string plugin = jsonString(server, "plugin");
      if (!plugin.empty()) throw BodyError("plugin '" + clip(plugin, 40) + "' (the shadowsocks outbound has no plugins)");
      std::string link = sip002Link(method, password, host, port, remarks);
      acceptLink(std::move(link), where, out);
    } catch (const BodyError& e) {
      out.warnings.push_back(where + ": " + e.what());
    }
  }
}

}  // namespace

std::string_view formatName(Format f) noexcept {
  switch (f) {
    case Format::Sip008: return "SIP008 JSON";
    case Format::LinkList: return "link list";
    case Format::Base64LinkList: return "base64 link list";
  }
  return "?";
}

std::string percentEncode(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(hex[u >> 4]);
      out.push_back(hex[u & 15]);
    }
  }
  return out;
}

std::string sip002Link(const std::string& method, const std::string& password, const std::string& host,
                       unsigned port, const std::string& remarks) {
  std::string userinfo = outbound::base64Encode(method + ":" + password);
  for (char& c : userinfo) {
    if (c == '+') c = '-';
    else if (c == '/') c = '_';
  }
  while (!userinfo.empty() && userinfo.back() == '=') userinfo.pop_back();
  std::string link = "ss://" + userinfo + "@";
  link += host.find(':') != std::string::npos ? "[" + host + "]" : host;
  link += ":" + std::to_string(port);
  if (!remarks.empty()) link += "#" + percentEncode(remarks);
  return link;
}

ParsedBody parseBody(std::string_view body) {
  if (body.substr(0, 3) == "\xEF\xBB\xBF") body.remove_prefix(3);  // UTF-8 byte order mark
  std::string_view text = trim(body);
  if (text.empty()) throw BodyError("the body is empty");
  ParsedBody out;
  if (text.front() == '{') {
    parseSip008(text, out);
    return out;
  }
  if (text.front() == '[') throw BodyError("a JSON array is not a subscription format (SIP008 is an object)");
  if (text.find("://") != std::string_view::npos) {
    out.format = Format::LinkList;
    parseLines(text, out);
    return out;
  }
  std::string decoded;
  try {
    decoded = outbound::base64Decode(text);
  } catch (const outbound::LinkError& e) {
    std::string hint;
    if (text.rfind("proxies:", 0) == 0 || text.find("\nproxies:") != std::string_view::npos)
      hint = " (this looks like a Clash YAML profile, which is not supported)";
    throw BodyError("neither SIP008 JSON, a link list nor base64 of one: " + std::string(e.what()) + hint);
  }
  if (decoded.find("://") == std::string::npos)
    throw BodyError("base64 that decodes to no share link (" + std::to_string(decoded.size()) + " bytes)");
  out.format = Format::Base64LinkList;
  parseLines(decoded, out);
  return out;
}

}  // namespace dae::subscription
