#include "driver/Artifact.h"

#include <openssl/evp.h>

#include <filesystem>
#include <sstream>
#include <stdexcept>

#include "artifact.pb.h"
#include "driver/BpfCompiler.h"
#include "ir/IrDump.h"
#include "sema/Options.h"
#include "sema/Values.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "llvm/ObjCopy/ConfigManager.h"
#include "llvm/ObjCopy/ObjCopy.h"
#include "llvm/Object/ObjectFile.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

namespace dae::driver {
namespace {

// Deterministic serialization: the same input must give byte-identical objects.
std::string serialize(const google::protobuf::MessageLite& m) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream raw(&out);
    google::protobuf::io::CodedOutputStream coded(&raw);
    coded.SetSerializationDeterministic(true);
    m.SerializeToCodedStream(&coded);
  }
  return out;
}

std::string optionText(const sema::OptionValue& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, bool>) return x ? "true" : "false";
        else if constexpr (std::is_same_v<T, sema::Duration>) return sema::formatDuration(x);
        else if constexpr (std::is_same_v<T, std::string>) return x;
        else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          std::string out;
          for (size_t i = 0; i < x.size(); ++i) out += (i ? "," : "") + x[i];
          return out;
        } else return std::to_string(x);
      },
      v);
}

const char* domainKind(sema::Matcher::Kind k) {
  using K = sema::Matcher::Kind;
  switch (k) {
    case K::DomainSuffix: return "suffix";
    case K::DomainFull: return "full";
    case K::DomainKeyword: return "keyword";
    case K::DomainRegex: return "regex";
    case K::Geosite: return "geosite";
    case K::ExtSite: return "ext";
    default: return "?";
  }
}

void fillRule(artifact::Rule* out, const ir::Rule* r, const ir::Outbound& ob, const ir::Program& p,
              const frontend::SourceManager& sources, uint32_t index) {
  out->set_index(index);
  out->set_outbound(p.outbounds.at(ob.id));
  out->set_must(ob.must);
  out->set_mark(ob.mark);
  if (!r) {
    out->set_text("fallback");
    return;
  }
  out->set_text(r->text);
  out->set_must_rules(r->mustRules);
  for (const auto& at : r->mergedFrom) {
    auto* loc = out->add_locations();
    if (at.valid()) loc->set_file(std::filesystem::path(sources.path(at.file)).filename().string());
    loc->set_line(at.line);
    loc->set_column(at.col);
  }
}

}  // namespace

std::string sourceHash(const frontend::SourceManager& sources) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  for (uint32_t f = 1; f <= sources.fileCount(); ++f) {
    const std::string& t = sources.text(f);
    uint64_t len = t.size();
    EVP_DigestUpdate(ctx, &len, sizeof len);
    EVP_DigestUpdate(ctx, t.data(), t.size());
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx, md, &n);
  EVP_MD_CTX_free(ctx);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

Sections buildSections(const sema::Config& config, const ir::Program& program, const codegen::Generated& generated,
                       const frontend::SourceManager& sources) {
  Sections out;

  artifact::Meta meta;
  meta.set_compiler(kCompilerVersion);
  meta.set_abi_version(1);
  meta.set_source_sha256(sourceHash(sources));
  meta.set_backend(codegen::backendName(generated.backend));
  meta.set_rule_count(static_cast<uint32_t>(program.rules.size()));
  meta.set_domain_words(generated.domainWords);
  for (const auto& n : generated.notes) meta.add_notes(n);
  out.emplace_back(".dae.meta", serialize(meta));

  artifact::OutboundTable outbounds;
  for (const auto& n : program.outbounds) outbounds.add_names(n);
  out.emplace_back(".dae.outbounds", serialize(outbounds));

  artifact::RuleTable rules;
  for (size_t i = 0; i < program.rules.size(); ++i)
    fillRule(rules.add_rules(), &program.rules[i], program.rules[i].outbound, program, sources, static_cast<uint32_t>(i));
  fillRule(rules.mutable_fallback(), nullptr, program.fallback, program, sources, static_cast<uint32_t>(program.rules.size()));
  for (size_t i = 0; i < program.domainSets.size(); ++i) {
    auto* ds = rules.add_domain_sets();
    ds->set_index(static_cast<uint32_t>(i));
    for (const auto& d : program.domainSets[i]) {
      auto* pat = ds->add_patterns();
      pat->set_kind(domainKind(d.kind));
      pat->set_value(d.value);
    }
  }
  out.emplace_back(".dae.rules", serialize(rules));

  artifact::SetTable sets;
  for (const auto& m : generated.maps) {
    auto* mc = sets.add_maps();
    mc->set_map(m.map);
    mc->set_key_size(m.keySize);
    mc->set_value_size(m.valueSize);
    for (const auto& k : m.keys) mc->add_keys(k);
    for (const auto& v : m.values) mc->add_values(v);
  }
  out.emplace_back(".dae.sets", serialize(sets));

  artifact::ConfigData data;
  for (const auto& spec : sema::globalOptionSpecs()) {
    auto* kv = data.add_global();
    kv->set_key(spec.name);
    kv->set_value(optionText(config.global.at(spec.name).value));
  }
  for (const auto& n : config.nodes) {
    auto* node = data.add_nodes();
    node->set_name(n.name);
    node->set_link(n.link);
  }
  for (const auto& s : config.subscriptions) {
    auto* sub = data.add_subscriptions();
    sub->set_tag(s.tag);
    sub->set_link(s.link);
  }
  for (const auto& g : config.groups) {
    auto* group = data.add_groups();
    group->set_name(g.name);
    group->set_policy(sema::policyName(g.policy));
    group->set_fixed_index(g.fixedIndex);
    for (const auto& f : g.filters) {
      auto* filter = group->add_filters();
      filter->set_add_latency_ns(f.addLatency.ns);
      for (const auto& c : f.calls) {
        auto* call = filter->add_calls();
        call->set_function(c.function);
        call->set_negated(c.negated);
        for (const auto& a : c.args) {
          auto* arg = call->add_args();
          arg->set_key(a.key);
          arg->set_value(a.value);
        }
      }
    }
    auto addOpt = [&](const char* key, const std::string& value) {
      auto* kv = group->add_options();
      kv->set_key(key);
      kv->set_value(value);
    };
    if (g.tcpCheckUrl) addOpt("tcp_check_url", optionText(*g.tcpCheckUrl));
    if (g.udpCheckDns) addOpt("udp_check_dns", optionText(*g.udpCheckDns));
    if (g.tcpCheckHttpMethod) addOpt("tcp_check_http_method", *g.tcpCheckHttpMethod);
    if (g.checkInterval) addOpt("check_interval", sema::formatDuration(*g.checkInterval));
    if (g.checkTolerance) addOpt("check_tolerance", sema::formatDuration(*g.checkTolerance));
  }
  auto* dns = data.mutable_dns();
  for (const auto& u : config.dns.upstreams) {
    auto* up = dns->add_upstreams();
    up->set_name(u.name);
    up->set_scheme(u.scheme);
    up->set_host(u.host);
    up->set_port(u.port);
    up->set_path(u.path);
  }
  auto fillDnsRouting = [](artifact::DnsRouting* out, const sema::DnsRouting& in) {
    out->set_fallback(in.fallback);
    for (const auto& r : in.rules) {
      auto* rule = out->add_rules();
      rule->set_outbound(r.outbound);
      for (const auto& c : r.conditions) {
        auto* call = rule->add_conditions();
        call->set_function(c.function);
        call->set_negated(c.negated);
        for (const auto& [k, v] : c.args) {
          auto* arg = call->add_args();
          arg->set_key(k);
          arg->set_value(v);
        }
      }
    }
  };
  fillDnsRouting(dns->mutable_request(), config.dns.request);
  fillDnsRouting(dns->mutable_response(), config.dns.response);
  dns->set_ipversion_prefer(config.dns.ipversionPrefer);
  for (const auto& [domain, ttl] : config.dns.fixedDomainTtl) {
    auto* kv = dns->add_fixed_domain_ttl();
    kv->set_key(domain);
    kv->set_value(std::to_string(ttl));
  }
  dns->set_bind(config.dns.bind);
  dns->set_optimistic_cache(config.dns.optimisticCache);
  dns->set_optimistic_cache_ttl(config.dns.optimisticCacheTtl);
  dns->set_max_cache_size(config.dns.maxCacheSize);
  out.emplace_back(".dae.config", serialize(data));
  return out;
}

std::vector<char> addSections(const std::vector<char>& object, const Sections& sections) {
  llvm::objcopy::ConfigManager config;
  for (const auto& [name, contents] : sections)
    config.Common.AddSection.emplace_back(name, llvm::MemoryBuffer::getMemBufferCopy(contents, name));
  auto in = llvm::object::ObjectFile::createObjectFile(
      llvm::MemoryBufferRef(llvm::StringRef(object.data(), object.size()), "rules.o"));
  if (!in) throw DriverError("cannot read the compiled object: " + llvm::toString(in.takeError()));
  llvm::SmallVector<char, 0> buffer;
  llvm::raw_svector_ostream os(buffer);
  if (llvm::Error e = llvm::objcopy::executeObjcopyOnBinary(config, **in, os))
    throw DriverError("cannot add the .dae sections: " + llvm::toString(std::move(e)));
  return std::vector<char>(buffer.begin(), buffer.end());
}

std::map<std::string, std::string> readSections(const std::vector<char>& object, const std::string& prefix) {
  auto in = llvm::object::ObjectFile::createObjectFile(
      llvm::MemoryBufferRef(llvm::StringRef(object.data(), object.size()), "rules.o"));
  if (!in) throw std::runtime_error("not an ELF object: " + llvm::toString(in.takeError()));
  std::map<std::string, std::string> out;
  for (const auto& section : (*in)->sections()) {
    auto name = section.getName();
    if (!name) {
      llvm::consumeError(name.takeError());
      continue;
    }
    if (!name->startswith(prefix)) continue;
    auto contents = section.getContents();
    if (!contents) throw std::runtime_error("cannot read section " + name->str() + ": " + llvm::toString(contents.takeError()));
    out[name->str()] = contents->str();
  }
  return out;
}

}  // namespace dae::driver
