#include "outbound/ShareLink.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <map>
#include <sstream>

#include "outbound/Crypto.h"
#include "outbound/Error.h"

namespace dae::outbound {

std::string_view protocolName(Protocol p) noexcept {
  switch (p) {
    case Protocol::Direct: return "direct";
    case Protocol::Block: return "block";
    case Protocol::Socks5: return "socks5";
    case Protocol::Socks4: return "socks4";
    case Protocol::Socks4a: return "socks4a";
    case Protocol::Http: return "http";
    case Protocol::Shadowsocks: return "ss";
    case Protocol::Vmess: return "vmess";
    case Protocol::Vless: return "vless";
    case Protocol::Trojan: return "trojan";
  }
  return "unknown";
}

std::string percentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      auto hex = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (c | 0x20) - 'a' + 10; };
      out.push_back(static_cast<char>(hex(s[i + 1]) << 4 | hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string base64Decode(std::string_view s) {
  std::string norm;
  norm.reserve(s.size() + 3);
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c))) continue;
    if (c == '-') c = '+';
    else if (c == '_') c = '/';
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '='))
      throw LinkError("invalid base64: unexpected character '" + std::string(1, c) + "'");
    norm.push_back(c);
  }
  while (!norm.empty() && norm.back() == '=') norm.pop_back();
  if (norm.find('=') != std::string::npos) throw LinkError("invalid base64: '=' inside the data");
  if (norm.size() % 4 == 1) throw LinkError("invalid base64: truncated data");
  std::size_t pad = (4 - norm.size() % 4) % 4;
  norm.append(pad, '=');
  std::string out(norm.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(norm.data()), static_cast<int>(norm.size()));
  if (n < 0) throw LinkError("invalid base64");
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

std::string base64Encode(std::string_view s) {
  std::string out((s.size() + 2) / 3 * 4 + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

namespace {

struct Url {
  std::string scheme;
  std::string userinfo;  // raw (still percent-encoded)
  bool hasUserinfo = false;
  std::string authority;  // host:port, raw
  std::string path;
  std::map<std::string, std::string> query;  // decoded
  std::string fragment;                       // decoded
};

[[noreturn]] void bad(std::string_view scheme, const std::string& what) {
  throw LinkError(std::string(scheme) + " link: " + what);
}

Url splitUrl(std::string_view link) {
  Url u;
  auto sep = link.find("://");
  if (sep == std::string_view::npos || sep == 0) throw LinkError("not a share link (expected scheme://...)");
  for (char c : link.substr(0, sep)) u.scheme.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  std::string_view rest = link.substr(sep + 3);
  if (auto hash = rest.find('#'); hash != std::string_view::npos) {
    u.fragment = percentDecode(rest.substr(hash + 1));
    rest = rest.substr(0, hash);
  }
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    std::string_view query = rest.substr(q + 1);
    rest = rest.substr(0, q);
    while (!query.empty()) {
      auto amp = query.find('&');
      std::string_view kv = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
      if (kv.empty()) continue;
      auto eq = kv.find('=');
      std::string key = percentDecode(kv.substr(0, eq));
      u.query[key] = eq == std::string_view::npos ? std::string() : percentDecode(kv.substr(eq + 1));
    }
  }
  auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) u.path = percentDecode(rest.substr(slash));
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    u.userinfo = std::string(authority.substr(0, at));
    u.hasUserinfo = true;
    authority = authority.substr(at + 1);
  }
  u.authority = std::string(authority);
  return u;
}

Endpoint parseServer(std::string_view scheme, std::string_view authority) {
  try {
    return Endpoint::parse(authority);
  } catch (const OutboundError& e) {
    bad(scheme, std::string("server address: ") + e.what());
  }
}

bool parseBool(std::string_view scheme, const std::string& key, const std::string& v) {
  if (v == "1" || v == "true" || v == "True" || v == "yes") return true;
  if (v.empty() || v == "0" || v == "false" || v == "False" || v == "no") return false;
  bad(scheme, "parameter " + key + "=" + v + " is not a boolean");
}

std::string param(const Url& u, const std::string& key) {
  auto it = u.query.find(key);
  return it == u.query.end() ? std::string() : it->second;
}

std::vector<std::string> splitList(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    auto comma = s.find(',', start);
    std::string item = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!item.empty()) out.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

void requireUuid(std::string_view scheme, const std::string& id) {
  if (!crypto::parseUuid(id)) bad(scheme, "'" + id + "' is not a UUID");
}

// user:pass from a userinfo that is either percent-encoded or (v2rayN's
// socks links) base64 of "user:pass".
void parseCredentials(std::string_view scheme, const Url& u, NodeConfig& n) {
  if (!u.hasUserinfo) return;
  std::string info = percentDecode(u.userinfo);
  if (info.find(':') == std::string::npos) {
    try {
      info = base64Decode(info);
    } catch (const LinkError& e) {
      bad(scheme, std::string("credentials must be user:password or base64 of it (") + e.what() + ")");
    }
    if (info.find(':') == std::string::npos) bad(scheme, "credentials must be user:password");
  }
  auto colon = info.find(':');
  n.username = info.substr(0, colon);
  n.password = info.substr(colon + 1);
}

void parseTlsParams(std::string_view scheme, const Url& u, NodeConfig& n) {
  n.tls.sni = param(u, "sni");
  if (n.tls.sni.empty()) n.tls.sni = param(u, "peer");
  for (const char* key : {"allowInsecure", "insecure", "skip-cert-verify"})
    if (u.query.count(key)) n.tls.allowInsecure = parseBool(scheme, key, param(u, key));
  n.tls.alpn = splitList(param(u, "alpn"));
}

void parseTransportParams(std::string_view scheme, const Url& u, NodeConfig& n) {
  std::string type = param(u, "type");
  if (type.empty() || type == "tcp") {
    n.network = Network::Tcp;
    std::string header = param(u, "headerType");
    if (!header.empty() && header != "none") bad(scheme, "tcp header type '" + header + "' is not supported");
  } else if (type == "ws") {
    n.network = Network::Ws;
    n.ws.host = param(u, "host");
    n.ws.path = param(u, "path");
    if (n.ws.path.empty()) n.ws.path = "/";
  } else {
    bad(scheme, "transport type=" + type + " is not supported (tcp, ws)");
  }
}

NodeConfig parseSimpleProxy(const Url& u, Protocol p) {
  NodeConfig n;
  n.protocol = p;
  n.server = parseServer(u.scheme, u.authority);
  if (p == Protocol::Socks4 || p == Protocol::Socks4a) {
    n.username = percentDecode(u.userinfo);  // a user id, no password
    if (n.username.find(':') != std::string::npos) bad(u.scheme, "SOCKS4 has no passwords (only a user id)");
  } else {
    parseCredentials(u.scheme, u, n);
  }
  if (p == Protocol::Http) {
    n.tls.enabled = u.scheme == "https";
    parseTlsParams(u.scheme, u, n);
  }
  return n;
}

bool ssCipherKnown(const std::string& m) {
  return m == "aes-128-gcm" || m == "aes-256-gcm" || m == "chacha20-ietf-poly1305" || m == "chacha20-poly1305";
}

NodeConfig parseSs(std::string_view link, const Url& u) {
  NodeConfig n;
  n.protocol = Protocol::Shadowsocks;
  std::string methodPass;
  if (u.hasUserinfo) {  // SIP002
    std::string info = percentDecode(u.userinfo);
    if (info.find(':') != std::string::npos) {
      methodPass = info;  // plain "method:password" (allowed for AEAD-2022 style links)
    } else {
      try {
        methodPass = base64Decode(info);
      } catch (const LinkError& e) {
        bad("ss", std::string("userinfo is not base64(method:password): ") + e.what());
      }
    }
    n.server = parseServer("ss", u.authority);
  } else {  // legacy: ss://base64(method:password@host:port)#name
    std::string_view body = link.substr(link.find("://") + 3);
    body = body.substr(0, body.find_first_of("#?"));
    std::string decoded;
    try {
      decoded = base64Decode(body);
    } catch (const LinkError& e) {
      bad("ss", std::string("neither SIP002 (userinfo@host:port) nor base64 of method:password@host:port: ") +
                    e.what());
    }
    auto at = decoded.rfind('@');
    if (at == std::string::npos) bad("ss", "legacy link lacks '@host:port'");
    methodPass = decoded.substr(0, at);
    n.server = parseServer("ss", decoded.substr(at + 1));
  }
  auto colon = methodPass.find(':');
  if (colon == std::string::npos) bad("ss", "userinfo must be method:password");
  n.cipher = methodPass.substr(0, colon);
  std::transform(n.cipher.begin(), n.cipher.end(), n.cipher.begin(), ::tolower);
  n.password = methodPass.substr(colon + 1);
  if (!ssCipherKnown(n.cipher))
    bad("ss", "cipher '" + n.cipher + "' is not supported (aes-128-gcm, aes-256-gcm, chacha20-ietf-poly1305)");
  if (n.password.empty()) bad("ss", "empty password");
  if (u.query.count("plugin") && !param(u, "plugin").empty())
    bad("ss", "plugins are not supported (plugin=" + param(u, "plugin") + ")");
  return n;
}

// Boost.PropertyTree keeps JSON strings, numbers and booleans as text, which
// suits v2rayN links (port and aid appear both as strings and as numbers).
std::string jsonString(const boost::property_tree::ptree& j, const char* key) {
  auto child = j.get_child_optional(boost::property_tree::ptree::path_type(key, '\0'));
  if (!child) return {};
  if (!child->empty()) bad("vmess", std::string("field '") + key + "' is not a string or number");
  std::string v = child->data();
  return v == "null" ? std::string() : v;
}

NodeConfig parseVmess(std::string_view link) {
  std::string_view body = link.substr(link.find("://") + 3);
  body = body.substr(0, body.find('#'));
  std::string text;
  try {
    text = base64Decode(body);
  } catch (const LinkError& e) {
    bad("vmess", std::string("expected base64 of the v2rayN JSON: ") + e.what());
  }
  boost::property_tree::ptree j;
  try {
    std::istringstream in(text);
    boost::property_tree::read_json(in, j);
  } catch (const boost::property_tree::json_parser_error& e) {
    bad("vmess", "the base64 payload is not JSON: " + e.message() + " (line " + std::to_string(e.line()) + ")");
  }
  if (j.empty() || !j.data().empty() || j.front().first.empty()) bad("vmess", "the base64 payload is not a JSON object");
  NodeConfig n;
  n.protocol = Protocol::Vmess;
  n.name = jsonString(j, "ps");
  std::string add = jsonString(j, "add"), port = jsonString(j, "port");
  if (add.empty() || port.empty()) bad("vmess", "'add' and 'port' are required");
  n.server = parseServer("vmess", (add.find(':') != std::string::npos ? "[" + add + "]" : add) + ":" + port);
  n.uuid = jsonString(j, "id");
  requireUuid("vmess", n.uuid);
  std::string aid = jsonString(j, "aid");
  if (!aid.empty()) {
    auto [p, ec] = std::from_chars(aid.data(), aid.data() + aid.size(), n.alterId);
    if (ec != std::errc() || p != aid.data() + aid.size() || n.alterId < 0) bad("vmess", "aid '" + aid + "' is not a number");
  }
  n.cipher = jsonString(j, "scy");
  if (n.cipher.empty()) n.cipher = "auto";
  if (n.cipher != "auto" && n.cipher != "aes-128-gcm" && n.cipher != "chacha20-poly1305" && n.cipher != "none" &&
      n.cipher != "zero")
    bad("vmess", "security '" + n.cipher + "' is not supported (auto, aes-128-gcm, chacha20-poly1305, none, zero)");
  std::string net = jsonString(j, "net");
  if (net.empty() || net == "tcp") {
    n.network = Network::Tcp;
    std::string type = jsonString(j, "type");
    if (!type.empty() && type != "none") bad("vmess", "tcp header type '" + type + "' is not supported");
  } else if (net == "ws") {
    n.network = Network::Ws;
    n.ws.host = jsonString(j, "host");
    n.ws.path = jsonString(j, "path");
    if (n.ws.path.empty()) n.ws.path = "/";
  } else {
    bad("vmess", "network '" + net + "' is not supported (tcp, ws)");
  }
  std::string tls = jsonString(j, "tls");
  if (tls == "tls") n.tls.enabled = true;
  else if (!tls.empty() && tls != "none") bad("vmess", "tls '" + tls + "' is not supported (tls or empty)");
  n.tls.sni = jsonString(j, "sni");
  n.tls.alpn = splitList(jsonString(j, "alpn"));
  for (const char* key : {"allowInsecure", "skip-cert-verify", "insecure"}) {
    std::string v = jsonString(j, key);
    if (!v.empty()) n.tls.allowInsecure = parseBool("vmess", key, v);
  }
  auto hash = link.find('#');
  if (n.name.empty() && hash != std::string_view::npos) n.name = percentDecode(link.substr(hash + 1));
  return n;
}

NodeConfig parseVless(const Url& u) {
  NodeConfig n;
  n.protocol = Protocol::Vless;
  if (!u.hasUserinfo) bad("vless", "missing uuid@ before the server");
  n.uuid = percentDecode(u.userinfo);
  requireUuid("vless", n.uuid);
  n.server = parseServer("vless", u.authority);
  std::string enc = param(u, "encryption");
  if (!enc.empty() && enc != "none") bad("vless", "encryption=" + enc + " is not supported (none)");
  std::string flow = param(u, "flow");
  if (!flow.empty()) bad("vless", "flow=" + flow + " (XTLS) is not supported");
  std::string security = param(u, "security");
  if (security == "tls") n.tls.enabled = true;
  else if (!security.empty() && security != "none")
    bad("vless", "security=" + security + " is not supported (tls, none)");
  parseTlsParams("vless", u, n);
  parseTransportParams("vless", u, n);
  return n;
}

NodeConfig parseTrojan(const Url& u) {
  NodeConfig n;
  n.protocol = Protocol::Trojan;
  if (!u.hasUserinfo) bad("trojan", "missing password@ before the server");
  n.password = percentDecode(u.userinfo);
  if (n.password.empty()) bad("trojan", "empty password");
  n.server = parseServer("trojan", u.authority);
  n.tls.enabled = true;
  std::string security = param(u, "security");
  if (!security.empty() && security != "tls") bad("trojan", "security=" + security + " is not supported (tls)");
  parseTlsParams("trojan", u, n);
  parseTransportParams("trojan", u, n);
  return n;
}

}  // namespace

NodeConfig parseShareLink(std::string_view link) {
  while (!link.empty() && std::isspace(static_cast<unsigned char>(link.front()))) link.remove_prefix(1);
  while (!link.empty() && std::isspace(static_cast<unsigned char>(link.back()))) link.remove_suffix(1);
  Url u = splitUrl(link);
  NodeConfig n;
  const std::string& s = u.scheme;
  if (s == "direct" || s == "block") {
    n.protocol = s == "direct" ? Protocol::Direct : Protocol::Block;
  } else if (s == "socks5" || s == "socks" || s == "socks5h") {
    n = parseSimpleProxy(u, Protocol::Socks5);
  } else if (s == "socks4") {
    n = parseSimpleProxy(u, Protocol::Socks4);
  } else if (s == "socks4a") {
    n = parseSimpleProxy(u, Protocol::Socks4a);
  } else if (s == "http" || s == "https") {
    n = parseSimpleProxy(u, Protocol::Http);
  } else if (s == "ss") {
    n = parseSs(link, u);
  } else if (s == "vmess") {
    return parseVmess(link);  // the name comes from "ps"
  } else if (s == "vless") {
    n = parseVless(u);
  } else if (s == "trojan" || s == "trojan-go") {
    n = parseTrojan(u);
  } else {
    throw LinkError("unsupported scheme '" + s + "://' (socks5, socks4, socks4a, http, https, ss, vmess, vless, trojan)");
  }
  n.name = u.fragment;
  return n;
}

std::vector<NodeConfig> parseChain(std::string_view spec) {
  std::vector<NodeConfig> hops;
  while (true) {
    auto arrow = spec.find("->");
    hops.push_back(parseShareLink(spec.substr(0, arrow)));
    if (arrow == std::string_view::npos) break;
    spec = spec.substr(arrow + 2);
  }
  return hops;
}

}  // namespace dae::outbound
