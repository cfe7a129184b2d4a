// The table of global options upstream dae documents: name, type, default. The
// checker, `--emit=ast`-independent docs and the runtime all read this one table.
#pragma once
#include <string>
#include <vector>

namespace dae::sema {

enum class OptionType { Port, Uint32, Uint, Int, Bool, Duration, String, Enum, List, Bandwidth, IpPort, Range };

struct OptionSpec {
  const char* name;
  OptionType type;
  const char* defaultValue;          // in the language's own syntax; "" = empty
  std::vector<std::string> choices;  // for Enum
  const char* summary;
  bool deprecated = false;           // accepted, has no effect, warned about
};

const std::vector<OptionSpec>& globalOptionSpecs();
const OptionSpec* findGlobalOption(const std::string& name);

// Keys upstream removed or renamed: `section` is where the key stood.
struct RemovedKey {
  const char* section;
  const char* key;
  const char* advice;  // what to write instead
};
const RemovedKey* findRemovedKey(const std::string& section, const std::string& key);

const char* optionTypeName(OptionType t);

}  // namespace dae::sema
