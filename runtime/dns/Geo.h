// geosite:/geoip:/ext: in the dns section, from the same v2ray geodata files the
// compiler reads (compiler/geodata): the search path is the -L directories, then
// $DAE_LOCATION_ASSET, /usr/local/share/dae, /usr/share/dae. Files are parsed once, on
// the first tag a dns rule asks for; a config without geo tags in its dns section
// never opens one. geoip:private works without geoip.dat (built in, as in the compiler).
#pragma once
#include <string>
#include <vector>

#include "dns/Routing.h"

namespace dae::dns {

// -L directories first, then the default locations.
std::vector<std::string> geodataSearchPath(const std::vector<std::string>& extraDirs);

// Resolvers over one geodata store on `searchPath`; a missing file or tag throws
// std::invalid_argument naming it and the directories searched.
GeoResolvers geodataResolvers(const std::vector<std::string>& searchPath);

}  // namespace dae::dns
