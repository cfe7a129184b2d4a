// A whole dae program (rules.o without the .dae sections): a generated router
// compiled per config and linked to the prebuilt skeleton variant it needs.
#pragma once

#include <span>
#include <string_view>

#include "driver/BpfCompiler.h"
#include "driver/Skeleton.h"

namespace dae::driver {

// The skeleton variant compiled into this binary. Throws DriverError if the
// build did not embed it.
std::span<const char> prebuiltSkeleton(const SkeletonFeatures& features);

// Compiles routerSource (C that includes "dae/router.h", see that file) and
// links it to the skeleton variant. Errors in the router come back as ok=false
// with the compiler's diagnostics; a failed link throws DriverError.
CompileResult compileProgram(std::string_view routerSource, const SkeletonFeatures& features,
                             const CompileOptions& options = routerOptions());

}  // namespace dae::driver
