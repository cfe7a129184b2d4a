# lit configuration for daec golden tests (FileCheck).
import os
import lit.formats

config.name = "dae"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".dae", ".test"]
config.excludes = ["Inputs"]
config.test_source_root = os.path.dirname(__file__)

build = lit_config.params.get("build", os.environ.get("DAE_BUILD_DIR", os.path.join(config.test_source_root, "..", "..", "build")))
build = os.path.abspath(build)
config.test_exec_root = os.path.join(build, "tests", "lit")
bindir = os.path.join(build, "bin")
llvm_bin = "/usr/lib/llvm-16/bin"

config.substitutions.append(("%daec", os.path.join(bindir, "daec")))
config.substitutions.append(("%dae-runtime", os.path.join(bindir, "dae-runtime")))
config.substitutions.append(("%shared", os.path.abspath(os.path.join(config.test_source_root, "..", "..", "..", "shared"))))
config.environment["PATH"] = os.pathsep.join([bindir, llvm_bin, config.environment.get("PATH", os.environ.get("PATH", ""))])
# Diagnostics must not depend on the terminal.
config.environment["TERM"] = "dumb"

if os.geteuid() == 0:
    config.available_features.add("root")
if os.path.isdir(os.path.join(config.test_source_root, "..", "..", "..", "shared", "data")):
    config.available_features.add("shared-data")
