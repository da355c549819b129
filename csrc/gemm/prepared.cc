#include "prepared.h"

#include <cstring>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "packed.h"

namespace lowbit {
namespace {

constexpr std::align_val_t kAlign{64};
// Buffers of at least this many bytes start on a 2 MiB boundary and, on Linux, ask for transparent huge
// pages (madvise; the kernel's default mode here is "madvise"): writing a model's tiles into fresh
// memory otherwise takes a page fault per 4 KiB, which was a third of loadModel's time (perf, a
// 1.1B-parameter q4_0 file).
constexpr int64_t kHugeFrom = int64_t{4} << 20;
constexpr std::align_val_t kHugeAlign{size_t{2} << 20};

uint8_t* alloc_aligned(int64_t n) {
  if (n < kHugeFrom) return static_cast<uint8_t*>(::operator new(static_cast<size_t>(n > 0 ? n : 1), kAlign));
  void* p = ::operator new(static_cast<size_t>(n), kHugeAlign);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  madvise(p, static_cast<size_t>(n), MADV_HUGEPAGE);  // advice only: failure leaves ordinary pages
#endif
  return static_cast<uint8_t*>(p);
}

int64_t round_up(int64_t n) { return (n + 63) / 64 * 64; }

}  // namespace

void Prepared::FreeAligned::operator()(uint8_t* p) const {
  if (huge) ::operator delete(p, kHugeAlign);
  else ::operator delete(p, kAlign);
}

Prepared::Prepared(const QMatrixView& q, Activations act, const KernelTable& kernels, Work* progress)
    : layout_(q.layout), act_(act) {
  if (act == Activations::kInt8) {
    const PackPlan plan = plan_pack(q);
    if (plan.packable) {
      bytes_ = plan.bytes;
      buf_ = std::unique_ptr<uint8_t, FreeAligned>(alloc_aligned(bytes_), FreeAligned(bytes_ >= kHugeFrom));
      pack_weights(q, plan, buf_.get(), progress);
      packed_args_ = plan.args;
      packed_args_.data = buf_.get();
      packed_ = true;
      return;
    }
    why_ = plan.why;
  } else {
    why_ = "float activations";
  }
  const QuantLayout& L = q.layout;
  const int64_t data = L.data_bytes(), scales = L.stored_scales() * scale_type_bytes(L.scale_type), zeros = L.num_zeros();
  bytes_ = round_up(data) + round_up(scales) + zeros;
  buf_ = std::unique_ptr<uint8_t, FreeAligned>(alloc_aligned(bytes_), FreeAligned(bytes_ >= kHugeFrom));
  uint8_t* p = buf_.get();
  std::memcpy(p, q.data, data);
  if (scales) std::memcpy(p + round_up(data), q.scales, scales);
  if (zeros) std::memcpy(p + round_up(data) + round_up(scales), q.zeros, zeros);
  view_.layout = L;
  view_.data = p;
  view_.scales = p + round_up(data);
  view_.zeros = zeros ? p + round_up(data) + round_up(scales) : nullptr;
  view_.tensor_scale = q.tensor_scale;
}

void Prepared::matmul(const KernelTable& kernels, const float* x, int64_t m, float* y, ThreadPool& pool) const {
  if (packed_) {
    matmul_packed(kernels, packed_args_, x, m, y, pool);
  } else {
    lowbit::matmul(kernels, view_, x, m, act_, y, pool);
  }
}

}  // namespace lowbit
