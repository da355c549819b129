// Declarations of the per-ISA kernel tables that this architecture builds.
// Each lives in a translation unit compiled with its own ISA flags.
#pragma once

#include "../core/kernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#define LOWBIT_HAVE_X86_KERNELS 1
namespace lowbit::avx2 { extern const KernelTable kTable; }
namespace lowbit::avxvnni { extern const KernelTable kTable; }
namespace lowbit::avx512 { extern const KernelTable kTable; }
namespace lowbit::avx512vnni { extern const KernelTable kTable; }
#elif defined(__aarch64__) || defined(_M_ARM64)
#define LOWBIT_HAVE_ARM_KERNELS 1
namespace lowbit::neon { extern const KernelTable kTable; }
namespace lowbit::neon_dotprod { extern const KernelTable kTable; }
namespace lowbit::neon_i8mm { extern const KernelTable kTable; }
#endif
