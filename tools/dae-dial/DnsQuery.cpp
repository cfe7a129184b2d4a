#include "DnsQuery.h"

#include <ldns/ldns.h>

#include <memory>
#include <stdexcept>

namespace daedial {

namespace {
struct PktFree {
  void operator()(ldns_pkt* p) const noexcept { ldns_pkt_free(p); }
};
struct MallocFree {
  void operator()(void* p) const noexcept { free(p); }
};
using Pkt = std::unique_ptr<ldns_pkt, PktFree>;

ldns_rr_type typeOf(const std::string& type) {
  if (type == "A") return LDNS_RR_TYPE_A;
  if (type == "AAAA") return LDNS_RR_TYPE_AAAA;
  throw std::invalid_argument("DNS type must be A or AAAA, not '" + type + "'");
}
}  // namespace

std::vector<std::uint8_t> buildDnsQuery(const std::string& name, const std::string& type, std::uint16_t id) {
  ldns_rr_type t = typeOf(type);
  ldns_rdf* dname = ldns_dname_new_frm_str(name.c_str());
  if (!dname) throw std::invalid_argument("'" + name + "' is not a valid DNS name");
  Pkt q(ldns_pkt_query_new(dname, t, LDNS_RR_CLASS_IN, LDNS_RD));  // owns dname
  if (!q) throw std::runtime_error("cannot build a DNS query");
  ldns_pkt_set_id(q.get(), id);
  uint8_t* wire = nullptr;
  size_t len = 0;
  if (ldns_pkt2wire(&wire, q.get(), &len) != LDNS_STATUS_OK) throw std::runtime_error("cannot encode the DNS query");
  std::unique_ptr<uint8_t, MallocFree> owned(wire);
  return std::vector<std::uint8_t>(wire, wire + len);
}

DnsAnswer parseDnsAnswer(const std::uint8_t* data, std::size_t len, std::uint16_t id, const std::string& type) {
  DnsAnswer a;
  ldns_pkt* raw = nullptr;
  ldns_status st = ldns_wire2pkt(&raw, data, len);
  Pkt p(raw);
  if (st != LDNS_STATUS_OK) {
    a.error = std::string("malformed DNS answer: ") + ldns_get_errorstr_by_id(st);
    return a;
  }
  if (ldns_pkt_id(p.get()) != id) {
    a.error = "DNS answer id does not match the query";
    return a;
  }
  a.ok = true;
  ldns_lookup_table* rc = ldns_lookup_by_id(ldns_rcodes, static_cast<int>(ldns_pkt_get_rcode(p.get())));
  a.rcode = rc ? rc->name : std::to_string(static_cast<int>(ldns_pkt_get_rcode(p.get())));
  ldns_rr_list* answers = ldns_pkt_answer(p.get());
  ldns_rr_type t = typeOf(type);
  for (size_t i = 0; answers && i < ldns_rr_list_rr_count(answers); ++i) {
    ldns_rr* rr = ldns_rr_list_rr(answers, i);
    if (ldns_rr_get_type(rr) != t || ldns_rr_rd_count(rr) < 1) continue;
    std::unique_ptr<char, MallocFree> s(ldns_rdf2str(ldns_rr_rdf(rr, 0)));
    if (s) a.records.emplace_back(s.get());
  }
  return a;
}

}  // namespace daedial
