// The datapath skeleton (bpf-templates/dae/skeleton.c) as prebuilt objects.
//
// The skeleton does not depend on a config's rules, only on a few feature
// switches, so it is compiled when daec is built, once per variant, and each
// generated router is linked to the variant its rules need (Program.h). This
// file knows the variants; the build compiles them with the dae-skeletons tool
// into dae::embedded::bpf_skeletons().
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "driver/BpfCompiler.h"

namespace dae::driver {

// The switches of dae/common.h that a config decides for the skeleton.
struct SkeletonFeatures {
  bool pname = true;  // DAE_FEATURE_PNAME: look up the process of WAN sockets (pname() rules)

  friend bool operator==(const SkeletonFeatures&, const SkeletonFeatures&) = default;
};

// Every variant the build compiles.
std::vector<SkeletonFeatures> skeletonVariants();

// The name of a variant's object in the embedded table ("skeleton-pname.o").
std::string skeletonObjectName(const SkeletonFeatures& features);

// Compiles a variant from the embedded templates with the options the build
// uses (clang's -O2 pipeline, full BTF). Throws DriverError if it does not
// compile: the skeleton is ours, not generated.
std::vector<char> compileSkeleton(const SkeletonFeatures& features);

}  // namespace dae::driver
