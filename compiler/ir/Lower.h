// Lowering: the checked config model -> the rule IR.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "frontend/Diagnostics.h"
#include "ir/Ir.h"
#include "sema/Model.h"

namespace dae::ir {

// Resolves `geoip:TAG` / `ext:FILE:TAG` to networks. Returns nullopt and sets `error`
// when the tag or its file is unavailable.
using GeoIpResolver = std::function<std::optional<std::vector<Cidr>>(const std::string& source, std::string& error)>;
// Resolves `geosite:TAG[@attr]` / `ext:FILE:TAG[@attr]` to domain patterns (kinds
// DomainSuffix, DomainFull, DomainKeyword, DomainRegex), the same way.
using GeoSiteResolver =
    std::function<std::optional<std::vector<DomainPattern>>(const std::string& source, std::string& error)>;

struct LowerOptions {
  // When unset, geo tags stay unexpanded in the IR (enough for --check and
  // --emit=ir); code generation needs them expanded.
  GeoIpResolver geoip;
  GeoSiteResolver geosite;
};

Program lower(const sema::Config& config, const frontend::SourceManager& sources, frontend::DiagnosticEngine& diags,
              const LowerOptions& options = {});

// The networks of geoip:private, built in so that the preset rules work without
// geodata files (RFC 1918, loopback, link-local, CGNAT, ULA, ...).
std::vector<Cidr> builtinPrivateNetworks();

}  // namespace dae::ir
