// An x86 kernel set's dispatch table (core/kernels.h), each entry filled by name from the set's
// families (kernel_set.h): constant-initialized, and checked complete by the native tests
// (core/kernels.h: complete()).
#include "kernel_set.h"

namespace lowbit::LOWBIT_NS {
namespace {

constexpr KernelTable kTableOfSet = LOWBIT_KERNEL_TABLE_OF_SET(LOWBIT_SET_NAME, true);

}  // namespace

extern const KernelTable kTable = kTableOfSet;

}  // namespace lowbit::LOWBIT_NS
