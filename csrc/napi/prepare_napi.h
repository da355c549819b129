// PreparedMatrix: the JS object that owns a core Prepared matrix.
#pragma once

#include <napi.h>

#include <memory>
#include <string>

#include "../gemm/prepared.h"

namespace lowbit::napi {

// The matrix behind `v` when it is a PreparedMatrix (a RangeError naming `what` if it
// was disposed), else nullptr. The shared pointer keeps it alive for async work that
// outlives a dispose().
std::shared_ptr<const Prepared> unwrap_prepared(Napi::Value v, const std::string& what);

}  // namespace lowbit::napi
