// A parsed node: what a share link (or a config) says about one proxy.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "outbound/Endpoint.h"

namespace dae::outbound {

enum class Protocol {
  Direct,
  Block,
  Socks5,
  Socks4,
  Socks4a,
  Http,  // HTTP CONNECT; with tls.enabled it is an https proxy
  Shadowsocks,
  Vmess,
  Vless,
  Trojan,
};

std::string_view protocolName(Protocol p) noexcept;

enum class Network { Tcp, Ws };

struct TlsSettings {
  bool enabled = false;
  std::string sni;             // empty: the server host when it is a name
  bool allowInsecure = false;  // skip certificate verification
  std::vector<std::string> alpn;
};

struct WsSettings {
  std::string host;  // Host header; empty: the TLS SNI or the server host
  std::string path = "/";
};

struct NodeConfig {
  Protocol protocol = Protocol::Direct;
  std::string name;  // from the link's #fragment (URL-decoded) or "ps"
  Endpoint server;
  std::string username;  // socks5 / http
  std::string password;  // socks5 / http / shadowsocks / trojan
  std::string cipher;    // shadowsocks method; vmess security (aes-128-gcm, chacha20-poly1305, none, zero)
  std::string uuid;      // vmess / vless id
  int alterId = 0;       // vmess (only the AEAD header is sent: alterId is ignored)
  Network network = Network::Tcp;
  WsSettings ws;
  TlsSettings tls;
};

}  // namespace dae::outbound
