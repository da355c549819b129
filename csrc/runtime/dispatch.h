// The one place that chooses kernels: a table of function pointers per ISA,
// picked at load from the CPU's features and capped by LOWBIT_ISA or setIsa().
#pragma once

#include <string>
#include <vector>

#include "../core/kernels.h"

namespace lowbit {

// The active kernel table (the best supported one unless forced).
const KernelTable& active_kernels();

// Kernel sets built into this binary that this CPU supports, best first.
std::vector<std::string> supported_isas();

// Forces a kernel set; returns an error message (empty on success).
std::string select_isa(const std::string& name);

// The table for a supported ISA name, or nullptr (used by the native tests).
const KernelTable* kernels_for(const std::string& name);

// Applies LOWBIT_ISA if set; returns an error message (empty on success).
std::string init_dispatch_from_env();

}  // namespace lowbit
