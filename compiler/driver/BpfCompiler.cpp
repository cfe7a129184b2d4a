// In-process BPF compilation with the Clang 16 libraries.
//
// We build a cc1 invocation by hand rather than running clang's Driver: the
// driver's job is to find toolchains and spawn processes, neither of which we
// want, and a hand-written argument list pins every default that could make
// the output differ between machines (include order, paths, debug dirs).
#include "driver/BpfCompiler.h"

#include <filesystem>
#include <memory>
#include <mutex>

#include <clang/Basic/Diagnostic.h>
#include <clang/Basic/DiagnosticOptions.h>
#include <clang/CodeGen/BackendUtil.h>
#include <clang/CodeGen/CodeGenAction.h>
#include <clang/Frontend/CompilerInstance.h>
#include <clang/Frontend/CompilerInvocation.h>
#include <clang/Frontend/TextDiagnosticPrinter.h>
#include <llvm/ADT/IntrusiveRefCntPtr.h>
#include <llvm/ADT/STLExtras.h>
#include <llvm/ADT/SmallVector.h>
#include <llvm/ADT/StringExtras.h>
#include <llvm/IR/IntrinsicInst.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/PassManager.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/VirtualFileSystem.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/Target/TargetOptions.h>
#include <llvm/Transforms/IPO/GlobalDCE.h>
#include <llvm/Transforms/IPO/GlobalOpt.h>
#include <llvm/Transforms/InstCombine/InstCombine.h>
#include <llvm/Transforms/Scalar/SROA.h>
#include <llvm/Transforms/Scalar/SimplifyCFG.h>

#include "common/embedded.h"

// Set by CMake from the LLVM/Clang packages and the libbpf headers found at
// configure time (see compiler/driver/CMakeLists.txt).
#ifndef DAE_CLANG_RESOURCE_DIR
#error "DAE_CLANG_RESOURCE_DIR must be defined by the build"
#endif
#ifndef DAE_BPF_SYSTEM_INCLUDE_DIRS
#error "DAE_BPF_SYSTEM_INCLUDE_DIRS must be defined by the build"
#endif

namespace dae::driver {
namespace {

// The directory of the fake main file doubles as the compilation directory
// recorded in DWARF (DW_AT_comp_dir), so it is the same on every machine.
constexpr std::string_view kCompDir = "/dae";

void initBpfTarget() {
  // Only the BPF backend: nothing else is ever generated, and initialising all
  // targets would cost startup time in every binary that links the driver.
  static std::once_flag once;
  std::call_once(once, [] {
    LLVMInitializeBPFTargetInfo();
    LLVMInitializeBPFTarget();
    LLVMInitializeBPFTargetMC();
    LLVMInitializeBPFAsmPrinter();
    // Inline asm in bpf_helpers.h (barrier_var, bpf_tail_call_static) is
    // parsed into the object, which needs the assembler parser.
    LLVMInitializeBPFAsmParser();
  });
}

// Splits a PATH-like ':'-separated list.
std::vector<std::string> splitList(std::string_view list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(':', start);
    if (end == std::string_view::npos) end = list.size();
    if (end > start) out.emplace_back(list.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string joinPath(std::string_view dir, std::string_view rel) {
  std::string p(dir);
  p += '/';
  p += rel;
  return p;
}

// An overlay with the main file and the templates in memory over the real
// filesystem (for the system headers). The physical filesystem is a private
// instance so that nothing here touches the process's working directory.
llvm::IntrusiveRefCntPtr<llvm::vfs::FileSystem> makeFileSystem(std::string_view mainSource,
                                                               const CompileOptions& options) {
  auto mem = llvm::makeIntrusiveRefCnt<llvm::vfs::InMemoryFileSystem>();
  // Fixed modification times: nothing should depend on when we compiled.
  auto add = [&](std::string path, std::string_view contents) {
    if (!mem->addFile(path, /*ModificationTime=*/0,
                      llvm::MemoryBuffer::getMemBufferCopy(
                          llvm::StringRef(contents.data(), contents.size()), path)))
      throw DriverError("dae driver: duplicate or conflicting in-memory file " + path);
  };
  add(std::string(kMainFile), mainSource);
  for (const auto& f : embedded::bpf_templates()) add(joinPath(kTemplateRoot, f.path), f.contents);
  for (const auto& [rel, contents] : options.extraFiles) {
    if (rel.empty() || rel.front() == '/' || rel.find("..") != std::string::npos)
      throw DriverError("dae driver: extra file path must be relative and inside the template root: " +
                        rel);
    add(joinPath(kTemplateRoot, rel), contents);
  }
  auto overlay = llvm::makeIntrusiveRefCnt<llvm::vfs::OverlayFileSystem>(
      llvm::IntrusiveRefCntPtr<llvm::vfs::FileSystem>(llvm::vfs::createPhysicalFileSystem()));
  overlay->pushOverlay(mem);
  return overlay;
}

// Keeps source locations only where the IR needs them: on calls (the IR
// verifier wants one on every call of a function that has debug info, and the
// inliner builds the inlined-at chain from it). Everything else loses its
// location and the llvm.dbg.* intrinsics go. The functions keep their
// DISubprogram, so BTF still has a FUNC (with its prototype) for each one and
// a line record at its first instruction, which is what the kernel requires;
// only the per-instruction line table, which no one reads for generated rules,
// is gone.
void dropLineInfo(llvm::Module& module) {
  for (llvm::Function& function : module)
    for (llvm::BasicBlock& block : function)
      for (llvm::Instruction& inst : llvm::make_early_inc_range(block)) {
        if (llvm::isa<llvm::DbgInfoIntrinsic>(inst))
          inst.eraseFromParent();
        else if (!llvm::isa<llvm::CallBase>(inst))
          inst.setDebugLoc({});
      }
}

std::unique_ptr<llvm::TargetMachine> bpfTargetMachine(const clang::TargetOptions& target) {
  std::string error;
  const llvm::Target* t = llvm::TargetRegistry::lookupTarget(target.Triple, error);
  if (!t) throw DriverError("dae driver: no LLVM target for " + target.Triple + ": " + error);
  std::unique_ptr<llvm::TargetMachine> tm(t->createTargetMachine(
      target.Triple, target.CPU, llvm::join(target.Features, ","), llvm::TargetOptions(), llvm::Reloc::Static,
      std::nullopt, llvm::CodeGenOpt::Default));
  if (!tm) throw DriverError("dae driver: cannot create the LLVM target machine for " + target.Triple);
  return tm;
}

// The Router pipeline's optimisation (see Pipeline::Router). The O0 pipeline
// brings what any BPF compilation needs: the target's own IR passes (CO-RE
// relocation, the verifier-friendly adjustments) and the always-inliner.
void runRouterPasses(llvm::Module& module, llvm::TargetMachine& tm) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(&tm);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);

  llvm::ModulePassManager mpm = pb.buildO0DefaultPipeline(llvm::OptimizationLevel::O0);
  // bpf_helpers.h declares each helper as a static function pointer holding
  // its number; GlobalOpt proves them constant, so that InstCombine turns the
  // calls through them into the direct `call N` the verifier wants.
  mpm.addPass(llvm::GlobalOptPass());
  llvm::FunctionPassManager fpm;
  // No EarlyCSE or GVN: sharing a field's address computation between rules
  // keeps it live across the whole function, and the code generator spills it
  // (more instructions, more for the verifier, more compile time).
  fpm.addPass(llvm::SROAPass(llvm::SROAOptions::ModifyCFG));
  fpm.addPass(llvm::InstCombinePass());
  fpm.addPass(llvm::SimplifyCFGPass());
  mpm.addPass(llvm::createModuleToFunctionPassAdaptor(std::move(fpm)));
  mpm.addPass(llvm::GlobalDCEPass());
  mpm.run(module, mam);
}

}  // namespace

CompileOptions routerOptions() {
  CompileOptions o;
  o.pipeline = Pipeline::Router;
  return o;
}

std::vector<std::string> cc1Arguments(const CompileOptions& options) {
  if (options.optLevel < 0 || options.optLevel > 3)
    throw DriverError("dae driver: optimisation level must be 0..3, got " +
                      std::to_string(options.optLevel));
  std::vector<std::string> a = {
      "-triple", "bpfel", "-emit-obj",
      "-main-file-name", std::string(std::filesystem::path(kMainFile).filename()),
      "-mrelocation-model", "static",
      // What clang's driver passes for -target bpf; no code depends on the
      // frame pointer but matching the driver keeps objects comparable.
      "-mframe-pointer=all",
      "-O" + std::to_string(options.optLevel),
      "-fdebug-compilation-dir=" + std::string(kCompDir),
      "-fcoverage-compilation-dir=" + std::string(kCompDir),
      // The driver's default; linux/*.h test __GNUC__.
      "-fgnuc-version=4.2.1",
      "-ferror-limit", "50",
      "-fmessage-length=0",
      "-discard-value-names",
      "-Wall",
  };
  if (options.pipeline == Pipeline::Clang && options.optLevel >= 2) {
    a.push_back("-vectorize-loops");
    a.push_back("-vectorize-slp");
  }
  if (options.pipeline == Pipeline::Router) {
    // IR generation as for -O<n> (no optnone, TBAA, lifetime markers), then
    // our passes instead of clang's (runRouterPasses). clang's own driver
    // turns the IR verifier off the same way in release builds.
    a.push_back("-disable-llvm-passes");
    a.push_back("-disable-llvm-verifier");
  }
  if (options.debugInfo) {
    // -g for BPF: DWARF 5 from which the backend derives .BTF and .BTF.ext.
    for (const char* s : {"-debug-info-kind=constructor", "-dwarf-version=5", "-debugger-tuning=gdb"})
      a.emplace_back(s);
    // Columns would only make more locations for dropLineInfo() to drop.
    if (options.pipeline == Pipeline::Router) a.emplace_back("-gno-column-info");
  }
  if (options.warningsAsErrors) a.push_back("-Werror");

  // Header search, fully explicit: no /usr/local/include, no host defaults.
  a.push_back("-nostdsysteminc");
  a.push_back("-nobuiltininc");
  std::string resourceDir = DAE_CLANG_RESOURCE_DIR;
  a.push_back("-resource-dir");
  a.push_back(resourceDir);
  if (std::filesystem::is_directory(resourceDir + "/include")) {
    a.push_back("-internal-isystem");
    a.push_back(resourceDir + "/include");
  }
  a.push_back("-I");
  a.push_back(std::string(kTemplateRoot));
  for (const auto& dir : splitList(DAE_BPF_SYSTEM_INCLUDE_DIRS)) {
    a.push_back("-internal-externc-isystem");
    a.push_back(dir);
  }
  for (const auto& [name, value] : options.defines) {
    if (name.empty()) throw DriverError("dae driver: empty macro name in defines");
    a.push_back("-D" + name + (value.empty() ? "" : "=" + value));
  }
  a.push_back("-x");
  a.push_back("c");
  return a;
}

CompileResult compileBpf(std::string_view mainSource, const CompileOptions& options) {
  initBpfTarget();
  for (const auto& dir : splitList(DAE_BPF_SYSTEM_INCLUDE_DIRS))
    if (!std::filesystem::is_directory(dir))
      throw DriverError("dae driver: system include directory " + dir +
                        " is missing (install linux-libc-dev and libbpf-dev)");

  std::vector<std::string> args = cc1Arguments(options);
  args.emplace_back(kMainFile);
  std::vector<const char*> argv;
  argv.reserve(args.size());
  for (const auto& s : args) argv.push_back(s.c_str());

  CompileResult result;
  llvm::raw_string_ostream diagStream(result.diagnostics);

  // Argument parsing gets its own engine: its errors are our bugs, not the
  // generated code's, so they become DriverError.
  auto invocation = std::make_shared<clang::CompilerInvocation>();
  {
    std::string argErrors;
    llvm::raw_string_ostream argStream(argErrors);
    llvm::IntrusiveRefCntPtr<clang::DiagnosticOptions> argDiagOpts(new clang::DiagnosticOptions());
    clang::TextDiagnosticPrinter argPrinter(argStream, argDiagOpts.get());
    clang::DiagnosticsEngine argDiags(
        llvm::IntrusiveRefCntPtr<clang::DiagnosticIDs>(new clang::DiagnosticIDs()), argDiagOpts,
        &argPrinter, /*ShouldOwnClient=*/false);
    bool parsed = clang::CompilerInvocation::CreateFromArgs(*invocation, argv, argDiags);
    argStream.flush();
    if (!parsed || argDiags.hasErrorOccurred())
      throw DriverError("dae driver: clang rejected the cc1 arguments: " + argErrors);
  }
  // Diagnostics as text, no colours: they end up in logs and test output.
  invocation->getDiagnosticOpts().ShowColors = false;
  invocation->getFrontendOpts().DisableFree = false;
  invocation->getFileSystemOpts().WorkingDir = std::string(kCompDir);

  // Declared before the instance so that it outlives the engine using it.
  clang::TextDiagnosticPrinter printer(diagStream, &invocation->getDiagnosticOpts());
  clang::CompilerInstance ci;
  ci.setInvocation(invocation);
  ci.createDiagnostics(&printer, /*ShouldOwnClient=*/false);
  // ExecuteAction prints "N errors generated." to the verbose stream, stderr
  // by default; keep it with the rest of the diagnostics.
  ci.setVerboseOutputStream(diagStream);
  ci.createFileManager(makeFileSystem(mainSource, options));

  llvm::SmallVector<char, 0> object;
  bool ok;
  if (options.pipeline == Pipeline::Clang) {
    ci.setOutputStream(std::make_unique<llvm::raw_svector_ostream>(object));
    clang::EmitObjAction action;
    ok = ci.ExecuteAction(action);
  } else {
    // Front end to IR, our passes, then clang's back end (the same target
    // options and code generator as EmitObjAction; its optimisation pipeline
    // is off through -disable-llvm-passes).
    llvm::LLVMContext context;
    clang::EmitLLVMOnlyAction action(&context);
    ok = ci.ExecuteAction(action);
    std::unique_ptr<llvm::Module> module = ok ? action.takeModule() : nullptr;
    if (module && !ci.getDiagnostics().hasErrorOccurred()) {
      if (options.debugInfo) dropLineInfo(*module);
      runRouterPasses(*module, *bpfTargetMachine(ci.getTargetOpts()));
      clang::EmitBackendOutput(ci.getDiagnostics(), ci.getHeaderSearchOpts(), ci.getCodeGenOpts(),
                               ci.getTargetOpts(), ci.getLangOpts(), module->getDataLayoutStr(), module.get(),
                               clang::Backend_EmitObj, std::make_unique<llvm::raw_svector_ostream>(object));
    } else {
      ok = false;
    }
  }
  diagStream.flush();

  result.ok = ok && !ci.getDiagnostics().hasErrorOccurred() && !object.empty();
  if (result.ok) result.object.assign(object.begin(), object.end());
  return result;
}

}  // namespace dae::driver
