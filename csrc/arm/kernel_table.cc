// A NEON kernel set's dispatch table (core/kernels.h), each entry filled by name from the set's
// families (kernel_set.h), checked complete by the native tests (core/kernels.h: complete()).
#include "kernel_set.h"

namespace lowbit::LOWBIT_NS {

LOWBIT_DEFINE_KERNEL_TABLE(LOWBIT_SET_NAME, true)

}  // namespace lowbit::LOWBIT_NS
