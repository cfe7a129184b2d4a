// `daec --emit=model`: what the compiler understood, one line per fact, stable for
// golden files and readable for users ("what will this config do?").
#pragma once
#include <ostream>

#include "sema/Model.h"

namespace dae::sema {

void dumpModel(const Config& config, std::ostream& out);

}  // namespace dae::sema
