#include "dispatch.h"

#include <atomic>
#include <cstdlib>

#include "../core/matmul_ref.h"
#include "cpu_features.h"
#include "isa_tables.h"

namespace lowbit {
namespace {

struct IsaEntry {
  const char* name;
  bool (*supported)(const CpuFeatures&);
  const KernelTable* table;
};

#if LOWBIT_HAVE_X86_KERNELS
bool avx2(const CpuFeatures& f) { return f.avx2 && f.fma && f.f16c; }
bool avx512(const CpuFeatures& f) { return avx2(f) && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq; }
#endif

// Best first. Only kernel sets compiled into this binary are listed.
const IsaEntry kIsas[] = {
#if LOWBIT_HAVE_X86_KERNELS
    // AVX-512 needs F, BW, VL and DQ (and the OS saving zmm state, checked in cpu_features).
    {"avx512vnni", [](const CpuFeatures& f) { return avx512(f) && f.avx512vnni; }, &avx512vnni::kTable},
    {"avx512", [](const CpuFeatures& f) { return avx512(f); }, &avx512::kTable},
    {"avxvnni", [](const CpuFeatures& f) { return avx2(f) && f.avxvnni; }, &avxvnni::kTable},
    {"avx2", [](const CpuFeatures& f) { return avx2(f); }, &avx2::kTable},
#endif
#if LOWBIT_HAVE_ARM_KERNELS
    {"neon-i8mm", [](const CpuFeatures& f) { return f.neon && f.dotprod && f.i8mm; }, &neon_i8mm::kTable},
    {"neon-dotprod", [](const CpuFeatures& f) { return f.neon && f.dotprod; }, &neon_dotprod::kTable},
    {"neon", [](const CpuFeatures& f) { return f.neon; }, &neon::kTable},
#endif
    {"scalar", [](const CpuFeatures&) { return true; }, &ref::kTable},
};

const KernelTable* best() {
  for (const auto& e : kIsas) {
    if (e.supported(cpu_features())) return e.table;
  }
  return &ref::kTable;
}

std::atomic<const KernelTable*>& active() {
  static std::atomic<const KernelTable*> a{best()};
  return a;
}

const char* const kAllIsaNames[] = {"scalar", "avx2", "avxvnni", "avx512", "avx512vnni",
                                    "neon",   "neon-dotprod", "neon-i8mm"};

}  // namespace

const KernelTable& active_kernels() { return *active().load(std::memory_order_acquire); }

std::vector<std::string> supported_isas() {
  std::vector<std::string> out;
  for (const auto& e : kIsas) {
    if (e.supported(cpu_features())) out.push_back(e.name);
  }
  return out;
}

const KernelTable* kernels_for(const std::string& name) {
  for (const auto& e : kIsas) {
    if (name == e.name && e.supported(cpu_features())) return e.table;
  }
  return nullptr;
}

std::string select_isa(const std::string& name) {
  if (const KernelTable* t = kernels_for(name)) {
    active().store(t, std::memory_order_release);
    return "";
  }
  std::string list;
  for (const auto& s : supported_isas()) list += (list.empty() ? "'" : ", '") + s + "'";
  for (const char* known : kAllIsaNames) {
    if (name == known) {
      bool built = false;
      for (const auto& e : kIsas) built |= name == e.name;
      return "ISA '" + name + (built ? "' is not supported by this CPU" : "' is not built into this binary for " +
                                                                            std::string(cpu_features().arch)) +
             "; this machine can use " + list;
    }
  }
  return "unknown ISA '" + name + "'; this machine can use " + list;
}

std::string init_dispatch_from_env() {
  const char* env = std::getenv("LOWBIT_ISA");
  if (!env || !*env) return "";
  std::string err = select_isa(env);
  return err.empty() ? "" : "LOWBIT_ISA: " + err;
}

}  // namespace lowbit
