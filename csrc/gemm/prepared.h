// A prepared matrix: a QuantizedMatrix copied once into memory the addon owns, in
// the layout its kernels read fastest. Packed tiles (PackedArgs) where the packed int8
// kernels take the matrix; otherwise (float activations, fp8, column scales, shapes
// the packed layout does not take) a plain copy that runs the ordinary kernels. Immutable
// after construction, so any number of threads may multiply by it at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "../core/kernels.h"
#include "../core/layout.h"
#include "../runtime/thread_pool.h"
#include "../runtime/work.h"
#include "matmul.h"

namespace lowbit {

class Prepared {
 public:
  // Copies (and packs) q. `act` is the activation mode every matmul with it will use. `progress`
  // (optional) counts packed tiles; a cancelled construction (work.h) leaves unspecified contents.
  Prepared(const QMatrixView& q, Activations act, const KernelTable& kernels, Work* progress = nullptr);

  const QuantLayout& layout() const { return layout_; }
  Activations activations() const { return act_; }
  bool packed() const { return packed_; }
  // The packed tiles' description, or null for a plain copy.
  const PackedArgs* packed_args() const { return packed_ ? &packed_args_ : nullptr; }
  // Bytes the addon holds for it.
  int64_t bytes() const { return bytes_; }
  // Why the plain layout was kept (empty when packed).
  const std::string& plain_reason() const { return why_; }

  // y = x * W^T on the active kernel set: x [m, cols], y [m, rows].
  void matmul(const KernelTable& kernels, const float* x, int64_t m, float* y, ThreadPool& pool) const;

 private:
  struct FreeAligned {
    FreeAligned() : huge(false) {}
    explicit FreeAligned(bool h) : huge(h) {}
    bool huge;  // allocated with the 2 MiB alignment (prepared.cc)
    void operator()(uint8_t* p) const;
  };
  QuantLayout layout_;
  Activations act_;
  bool packed_ = false;
  std::string why_;
  int64_t bytes_ = 0;
  std::unique_ptr<uint8_t, FreeAligned> buf_;
  PackedArgs packed_args_;
  QMatrixView view_;  // the plain copy's view into buf_
};

}  // namespace lowbit
