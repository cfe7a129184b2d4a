#include "driver/Program.h"

#include "common/embedded.h"
#include "driver/BpfLinker.h"

namespace dae::driver {

std::span<const char> prebuiltSkeleton(const SkeletonFeatures& features) {
  std::string name = skeletonObjectName(features);
  auto object = embedded::find(embedded::bpf_skeletons(), name);
  if (!object) throw DriverError("dae driver: this build has no datapath skeleton " + name);
  return {object->data(), object->size()};
}

CompileResult compileProgram(std::string_view routerSource, const SkeletonFeatures& features,
                             const CompileOptions& options) {
  CompileResult router = compileBpf(routerSource, options);
  if (!router.ok) return router;
  // The skeleton first: its programs, maps and BTF come first in the result,
  // the same for every config.
  const std::span<const char> objects[] = {prebuiltSkeleton(features), router.object};
  router.object = linkBpfObjects(objects);
  return router;
}

}  // namespace dae::driver
