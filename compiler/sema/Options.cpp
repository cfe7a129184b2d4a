#include "sema/Options.h"

namespace dae::sema {

const std::vector<OptionSpec>& globalOptionSpecs() {
  using T = OptionType;
  static const std::vector<OptionSpec> specs = {
      {"tproxy_port", T::Port, "12345", {}, "port of the transparent listeners the BPF program hands flows to"},
      {"tproxy_port_protect", T::Bool, "true", {}, "drop traffic to tproxy_port that the BPF program did not steer"},
      {"so_mark_from_dae", T::Uint32, "0", {}, "SO_MARK on the runtime's own sockets so they are never captured"},
      {"log_level", T::Enum, "info", {"error", "warn", "warning", "info", "debug", "trace", "panic", "fatal"}, "log level"},
      {"tcp_check_url", T::List, "http://cp.cloudflare.com,1.1.1.1,2606:4700:4700::1111", {}, "URL for TCP health checks, then fixed addresses of its host"},
      {"tcp_check_http_method", T::Enum, "HEAD", {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}, "HTTP method of TCP health checks"},
      {"udp_check_dns", T::List, "dns.google:53,8.8.8.8,2001:4860:4860::8888", {}, "DNS server for UDP health checks, then fixed addresses of its host"},
      {"check_interval", T::Duration, "30s", {}, "interval of health checks"},
      {"check_tolerance", T::Duration, "0", {}, "switch node only when the new latency is better by this much"},
      {"lan_interface", T::List, "", {}, "LAN interfaces to proxy"},
      {"wan_interface", T::List, "", {}, "WAN interfaces to proxy the host's own traffic on; auto = default route's"},
      {"allow_insecure", T::Bool, "false", {}, "accept invalid TLS certificates of nodes"},
      {"dial_mode", T::Enum, "domain", {"ip", "domain", "domain+", "domain++"}, "what the proxy dials: the IP or the sniffed domain"},
      {"disable_waiting_network", T::Bool, "false", {}, "do not wait for the network before pulling subscriptions"},
      {"disable_thp", T::Bool, "true", {}, "disable transparent huge pages for the runtime (upstream default: on)"},
      {"enable_local_tcp_fast_redirect", T::Bool, "false", {}, "deprecated upstream; no effect", true},
      {"auto_config_kernel_parameter", T::Bool, "false", {}, "set ip_forward, send_redirects and other sysctls"},
      {"auto_config_firewall_rule", T::Bool, "false", {}, "deprecated upstream; no effect", true},
      {"sniffing_timeout", T::Duration, "30ms", {}, "how long to wait for the first data to sniff a domain"},
      {"tls_implementation", T::Enum, "tls", {"tls", "utls"}, "TLS library for node connections"},
      {"utls_imitate", T::String, "chrome_auto", {}, "Client Hello to imitate with utls"},
      {"tls_fragment", T::Bool, "false", {}, "send the TLS Client Hello in fragments"},
      {"tls_fragment_length", T::Range, "50-100", {}, "range of fragment lengths in bytes"},
      {"tls_fragment_interval", T::Range, "10-20", {}, "range of fragment intervals in milliseconds"},
      {"pprof_port", T::Port, "0", {}, "debug profiling port (0 = off)"},
      {"admin_listen", T::String, "", {}, "address of the management API (off when empty)"},
      {"admin_secret", T::String, "", {}, "bearer token of the management API"},
      {"mptcp", T::Bool, "false", {}, "use Multipath TCP to nodes"},
      {"bootstrap_resolver", T::IpPort, "", {}, "resolver for bootstrap lookups (ip:port)"},
      {"fallback_resolver", T::IpPort, "8.8.8.8:53", {}, "resolver used when the system's fails (ip:port)"},
      {"bandwidth_max_tx", T::Bandwidth, "0", {}, "uplink bandwidth for protocols that use it"},
      {"bandwidth_max_rx", T::Bandwidth, "0", {}, "downlink bandwidth for protocols that use it"},
      {"udphop_interval", T::Duration, "30s", {}, "port hopping interval for protocols that use it"},
      {"bpf_conn_state_map_size", T::Uint32, "262144", {}, "entries of the kernel's connection-state map"},
      // Not in upstream dae (docs/runtime.md).
      {"metrics_listen", T::IpPort, "", {}, "ip:port of the runtime's Prometheus metrics endpoint (off when empty)"},
  };
  return specs;
}

const OptionSpec* findGlobalOption(const std::string& name) {
  for (const auto& s : globalOptionSpecs())
    if (name == s.name) return &s;
  return nullptr;
}

const RemovedKey* findRemovedKey(const std::string& section, const std::string& key) {
  static const RemovedKey removed[] = {
      {"global", "check_url", "it was split into 'tcp_check_url' and 'udp_check_dns'"},
      {"global", "dns_upstream", "declare upstreams in 'dns { upstream { name: 'udp://host:53' } }'"},
      {"global", "ingress_interface", "it was renamed to 'lan_interface'"},
      {"global", "lan_nat_direct", "it was removed; LAN traffic to the router is always direct now"},
      {"global", "dns_performance_level", "it was removed upstream"},
      {"global", "dns_ingress_manual", "it was removed upstream"},
      {"routing", "final", "it was renamed to 'fallback'"},
      {"dns", "request", "move it into 'dns { routing { request { ... } } }'"},
      {"dns", "response", "move it into 'dns { routing { response { ... } } }'"},
  };
  for (const auto& r : removed)
    if (section == r.section && key == r.key) return &r;
  return nullptr;
}

const char* optionTypeName(OptionType t) {
  switch (t) {
    case OptionType::Port: return "port";
    case OptionType::Uint32: return "32-bit unsigned integer";
    case OptionType::Uint: return "unsigned integer";
    case OptionType::Int: return "integer";
    case OptionType::Bool: return "boolean";
    case OptionType::Duration: return "duration";
    case OptionType::String: return "string";
    case OptionType::Enum: return "one of a fixed set";
    case OptionType::List: return "comma-separated list";
    case OptionType::Bandwidth: return "bandwidth";
    case OptionType::IpPort: return "ip:port";
    case OptionType::Range: return "range N-M";
  }
  return "value";
}

}  // namespace dae::sema
