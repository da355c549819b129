#include "attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace lowbit::llm {
namespace {

// Queries of one head per task. Below kPanelMinRows the GEMM kernels take their row-tile path, where
// an output element's sum does not depend on the other rows or columns computed with it: with the
// padding below, a query gets the same bits alone (a decode step) or in a prefill's batch.
constexpr int64_t kQueryBlock = 8;
static_assert(kQueryBlock < kPanelMinRows, "the row-tile path of the GEMM kernels");
// P V sums over the positions a query sees, zero-padded to a multiple of this: every kernel set's
// vector loop then covers the whole sum (no scalar tail), and a zero adds nothing, so the sum's
// grouping is the same whatever the padded length.
constexpr int64_t kSumPad = 64;
int64_t padded(int64_t n) { return (n + kSumPad - 1) / kSumPad * kSumPad; }
// Cache positions converted per task.
constexpr int64_t kPosBlock = 64;

// One row of the cache as fp32.
void load_row(const KernelTable& kt, KvType t, const uint8_t* row, int64_t hd, float* out) {
  if (t == KvType::kF16) {
    kt.f16_to_f32(reinterpret_cast<const uint16_t*>(row), out, hd);
  } else {
    kv_load(t, row, hd, out);
  }
}

// Scores of one row in place -> probabilities over the first `visible`, zeros after them up to `n`.
void softmax_row(float* s, int64_t visible, int64_t n, float scale) {
  float max = -INFINITY;
  for (int64_t j = 0; j < visible; ++j) {
    s[j] *= scale;
    max = std::max(max, s[j]);
  }
  float sum = 0.0f;
  for (int64_t j = 0; j < visible; ++j) {
    s[j] = std::exp(s[j] - max);
    sum += s[j];
  }
  const float inv = 1.0f / sum;
  for (int64_t j = 0; j < visible; ++j) s[j] *= inv;
  std::fill(s + visible, s + n, 0.0f);
}

}  // namespace

int64_t attention_scratch(int64_t n_head_kv, int64_t head_dim, int64_t len) {
  return n_head_kv * head_dim * (len + padded(len));
}

void attention(const KernelTable& kt, ThreadPool& pool, const float* q, int64_t b, int64_t pos, int64_t n_head,
               int64_t n_head_kv, int64_t head_dim, float scale, const KvLayer& kv, float* scratch, float* out) {
  const int64_t len = pos + b, hd = head_dim, group = n_head / n_head_kv, lp = padded(len);
  // kf[g]: [len, hd] keys; vt[g]: [hd, lp] values, transposed so that P V is x * w^T for the GEMM, with
  // zeros past len.
  float* kf = scratch;
  float* vt = scratch + n_head_kv * len * hd;
  const int64_t pos_blocks = (len + kPosBlock - 1) / kPosBlock;
  pool.parallel_for(n_head_kv * pos_blocks, [&](int64_t t) {
    const int64_t g = t / pos_blocks, p0 = (t % pos_blocks) * kPosBlock, p1 = std::min(len, p0 + kPosBlock);
    thread_local std::vector<float> row;
    row.resize(static_cast<size_t>(hd));
    for (int64_t p = p0; p < p1; ++p) {
      load_row(kt, kv.type, kv.k + g * kv.head_stride + p * kv.row_bytes, hd, kf + (g * len + p) * hd);
      load_row(kt, kv.type, kv.v + g * kv.head_stride + p * kv.row_bytes, hd, row.data());
      float* v = vt + g * hd * lp + p;
      for (int64_t c = 0; c < hd; ++c) v[c * lp] = row[c];
    }
    if (p1 == len) {
      for (int64_t c = 0; c < hd; ++c) std::fill(vt + (g * hd + c) * lp + len, vt + (g * hd + c + 1) * lp, 0.0f);
    }
  });
  const int64_t q_blocks = (b + kQueryBlock - 1) / kQueryBlock, stride = n_head * hd;
  pool.parallel_for(n_head * q_blocks, [&](int64_t t) {
    const int64_t h = t / q_blocks, g = h / group;
    const int64_t i0 = (t % q_blocks) * kQueryBlock, i1 = std::min(b, i0 + kQueryBlock), m = i1 - i0;
    const int64_t n = pos + i1, np = padded(n);  // positions the block's last query sees; earlier rows are masked
    thread_local std::vector<float> s;
    if (static_cast<int64_t>(s.size()) < m * np) s.resize(static_cast<size_t>(m * np));
    kt.sgemm(q + i0 * stride + h * hd, stride, kf + g * len * hd, hd, hd, m, 0, n, s.data(), np);
    for (int64_t r = 0; r < m; ++r) softmax_row(s.data() + r * np, pos + i0 + r + 1, np, scale);
    kt.sgemm(s.data(), np, vt + g * hd * lp, lp, np, m, 0, hd, out + i0 * stride + h * hd, stride);
  });
}

}  // namespace lowbit::llm
