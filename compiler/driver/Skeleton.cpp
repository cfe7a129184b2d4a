#include "driver/Skeleton.h"

namespace dae::driver {

std::vector<SkeletonFeatures> skeletonVariants() {
  SkeletonFeatures withPname;
  SkeletonFeatures withoutPname;
  withoutPname.pname = false;
  return {withPname, withoutPname};
}

std::string skeletonObjectName(const SkeletonFeatures& features) {
  return features.pname ? "skeleton-pname.o" : "skeleton.o";
}

std::vector<char> compileSkeleton(const SkeletonFeatures& features) {
  CompileOptions options;  // Pipeline::Clang, -O2, -g
  options.defines = {{"DAE_FEATURE_PNAME", features.pname ? "1" : "0"}};
  options.warningsAsErrors = true;
  CompileResult r = compileBpf("#include \"dae/skeleton.c\"\n", options);
  if (!r.ok)
    throw DriverError("dae driver: the datapath skeleton (" + skeletonObjectName(features) +
                      ") does not compile:\n" + r.diagnostics);
  return r.object;
}

}  // namespace dae::driver
