#include "quantize.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <cstring>
#include <vector>

#include "../core/qmatrix.h"
#include "dequantize_codes.h"
#include "ggml_types.h"
#include "iq4.h"

namespace lowbit {
namespace {

// Round half to even, as NumPy's np.round; relies on the default FE_TONEAREST mode.
inline float round_even(float x) { return std::nearbyint(x); }

struct ScaleStats {
  float lo = 0.0f;  // min(min w, 0)
  float hi = 0.0f;  // max(max w, 0)
  float amax = 0.0f;
};

// Visits each run of elements of rows [r0, r1) and columns [c0, c1) that share
// one scale: f(row, first column, scale index, count). Column granularity
// yields runs of one element.
template <typename F>
void for_each_scale_run(const QuantLayout& L, int64_t r0, int64_t r1, int64_t c0, int64_t c1, F&& f) {
  const int64_t span = L.scale_span();
  for (int64_t r = r0; r < r1; ++r) {
    for (int64_t c = c0; c < c1; c += span) f(r, c, L.scale_index(r, c), std::min(span, c1 - c));
  }
}

// Runs fn(first, end) over chunks of `units` (rows, or column blocks) of about
// 64K elements each, on the pool if any; `progress` counts the elements done.
void for_row_chunks(ThreadPool* pool, int64_t units, int64_t elems_per_unit,
                    const std::function<void(int64_t, int64_t)>& fn, Work* progress = nullptr) {
  const int64_t per = std::max<int64_t>(1, (int64_t{1} << 16) / elems_per_unit);
  const int64_t tasks = (units + per - 1) / per;
  auto task = [&](int64_t t) {
    const int64_t first = t * per, end = std::min(units, (t + 1) * per);
    fn(first, end);
    if (progress) progress->advance((end - first) * elems_per_unit);
  };
  if (pool) {
    pool->parallel_for(tasks, task);
  } else {
    for (int64_t t = 0; t < tasks; ++t) task(t);
  }
}

}  // namespace

void quantize_row_q8_0(const float* x, int64_t n, uint8_t* out) {
  for (int64_t b = 0; b < n / 32; ++b) {
    const float* p = x + b * 32;
    uint8_t* blk = out + b * 34;
    float amax = 0.0f;
    for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(p[i]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    const uint16_t h = fp32_to_fp16(d);
    std::memcpy(blk, &h, 2);
    for (int i = 0; i < 32; ++i) blk[2 + i] = static_cast<uint8_t>(static_cast<int8_t>(std::round(p[i] * id)));
  }
}

int64_t first_non_finite(const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) return i;
  }
  return -1;
}

namespace {

// The largest-magnitude element with its sign (the first of equals), as ggml's Q4_0 picks it.
float signed_max(const float* p, int n) {
  float amax = 0.0f, max = 0.0f;
  for (int i = 0; i < n; ++i) {
    if (amax < std::fabs(p[i])) {
      amax = std::fabs(p[i]);
      max = p[i];
    }
  }
  return max;
}

void store_fp16(uint8_t* p, float v) {
  const uint16_t h = fp32_to_fp16(v);
  std::memcpy(p, &h, 2);
}

const char* const kKQuantRange =
    "a block's fp16 scale overflows (ggml's blocks hold weights up to about 6e4 in magnitude for q4_1 and q5_1, whose "
    "min is an fp16, and tq1_0 and tq2_0, whose scale is the absmax, 1e6 for q5_0, q4_k, q5_k and q2_k, 8e6 for q3_k and iq4_nl, 2e8 for q6_k and iq4_xs); scale the "
    "weights down or use another format";

const char* const kF16Range =
    "a weight's magnitude rounds past float16's largest value, 65504; scale the weights down or use bf16";
const char* const kBF16Range = "a weight's magnitude rounds past bfloat16's largest value, about 3.39e38";

// ggml's quantize_row_q8_0_ref / quantize_row_q4_0_ref, one row.
void quantize_ggml_row(const float* x, const QuantLayout& L, uint8_t* row) {
  if (L.format == Format::kQ8_0) {
    quantize_row_q8_0(x, L.cols, row);
    return;
  }
  if (L.format == Format::kIQ4_NL) {
    for (int64_t b = 0; b < L.cols / 32; ++b) quantize_iq4_nl_block(x + b * 32, row + b * L.block_bytes());
    return;
  }
  for (int64_t b = 0; b < L.cols / 32; ++b) {
    const float* p = x + b * 32;
    uint8_t* blk = row + b * L.block_bytes();
    const float d = signed_max(p, 32) / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    store_fp16(blk, d);
    for (int i = 0; i < 16; ++i) {
      const int lo = std::min(15, static_cast<int>(static_cast<int8_t>(p[i] * id + 8.5f)));
      const int hi = std::min(15, static_cast<int>(static_cast<int8_t>(p[i + 16] * id + 8.5f)));
      blk[2 + i] = static_cast<uint8_t>(lo | (hi << 4));
    }
  }
}

// Rounds a computed scale to the stored type; returns the value the codes are computed with.
float store_scale(ScaleType t, void* scales, int64_t i, float s) {
  if (t == ScaleType::kF16) {
    const uint16_t h = fp32_to_fp16(s);
    static_cast<uint16_t*>(scales)[i] = h;
    return fp16_to_fp32(h);
  }
  static_cast<float*>(scales)[i] = s;
  return s;
}

}  // namespace

const char* quantize_matrix(const float* w, const QuantLayout& L, uint8_t* data, void* scales, uint8_t* zeros,
                            float* tensor_scale, ThreadPool* pool, Work* progress) {
  if (tensor_scale) *tensor_scale = 1.0f;
  // Progress in elements visited: one pass for the block formats, a scan and a coding pass otherwise.
  const int64_t elems = L.rows * L.cols;
  if (progress) progress->set_total(L.ggml_blocks() || L.super_blocks() || L.float_halves() ? elems : 2 * elems);
  if (L.float_halves()) {
    // Weights are finite (checked by the caller); f16 refuses those that round past its 65504, bf16
    // those that round past float32's range.
    const bool f16 = L.format == Format::kF16;
    for (int64_t i = 0; i < elems; ++i) {
      if (!(std::fabs(w[i]) < (f16 ? 65520.0f : 3.38953139e38f))) return f16 ? kF16Range : kBF16Range;
    }
    for_row_chunks(pool, L.rows, L.cols, [&](int64_t r0, int64_t r1) {
      for (int64_t i = r0 * L.cols; i < r1 * L.cols; ++i) {
        const uint16_t h = f16 ? fp32_to_fp16(w[i]) : fp32_to_bf16(w[i]);
        std::memcpy(data + 2 * i, &h, 2);
      }
    }, progress);
    return nullptr;
  }
  if (L.format == Format::kQ4_0 || L.format == Format::kQ8_0) {
    for_row_chunks(pool, L.rows, L.cols, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) quantize_ggml_row(w + r * L.cols, L, data + r * L.row_bytes());
    }, progress);
    return nullptr;
  }
  if (L.ggml_blocks() || L.super_blocks()) {
    // ggml writes an infinite d or dmin when a block's scales pass fp16's 65504 (from about 6e4 for
    // q4_1's min to 3e8 for q6_k), and from 1e13 the x^3 sums of q6_k's and q3_k's searches overflow
    // into all-zero blocks: both refused. Below 1e9 the bytes are exactly ggml's; past it every
    // block would overflow anyway.
    bool ok = true;
    for (int64_t i = 0; i < L.rows * L.cols && ok; ++i) ok = std::fabs(w[i]) < 1e9f;
    if (!ok) return kKQuantRange;
    for_row_chunks(pool, L.rows, L.cols, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        if (L.super_blocks()) ggml_quantize_row(L.format, w + r * L.cols, L.cols, data + r * L.row_bytes());
        else quantize_ggml_row(w + r * L.cols, L, data + r * L.row_bytes());
      }
    }, progress);
    if (work::cancelled()) return nullptr;
    for (int64_t b = 0; b < L.data_bytes() / L.block_bytes(); ++b) {
      float d = 0.0f, dmin = 0.0f;
      if (L.super_blocks()) ggml_block_scales(L.format, data + b * L.block_bytes(), &d, &dmin);
      else d = decode_scale(ScaleType::kF16, data + b * L.block_bytes());
      if (!std::isfinite(d) || !std::isfinite(dmin)) return kKQuantRange;
    }
    return nullptr;
  }
  const bool sym = L.scheme == Scheme::kSymmetric;
  const int64_t ns = L.num_scales();
  std::vector<ScaleStats> stats(static_cast<size_t>(ns));

  // min/max are exact in any order, so splitting the scan cannot change a scale.
  auto scan = [&](int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
    for_each_scale_run(L, r0, r1, c0, c1, [&](int64_t r, int64_t c, int64_t idx, int64_t n) {
      ScaleStats& st = stats[idx];
      const float* p = w + r * L.cols + c;
      for (int64_t i = 0; i < n; ++i) {
        st.lo = std::min(st.lo, p[i]);
        st.hi = std::max(st.hi, p[i]);
        st.amax = std::max(st.amax, std::fabs(p[i]));
      }
    });
  };
  if (L.granularity == Granularity::kTensor) {
    scan(0, L.rows, 0, L.cols);
    if (progress) progress->advance(elems);
  } else if (L.granularity == Granularity::kColumn) {
    // Column scales gather over all rows: split by column ranges instead.
    for_row_chunks(pool, (L.cols + 255) / 256, 256 * L.rows, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) scan(0, L.rows, b * 256, std::min(L.cols, (b + 1) * 256));
    }, progress);
  } else {
    for_row_chunks(pool, L.rows, L.cols, [&](int64_t r0, int64_t r1) { scan(r0, r1, 0, L.cols); }, progress);
  }
  if (work::cancelled()) return nullptr;

  // Per-scale parameters in float32: sf is the value codes are computed with (the stored one).
  std::vector<float> sf(static_cast<size_t>(ns)), zf(static_cast<size_t>(ns), 0.0f);
  float ts = 1.0f;
  if (L.format == Format::kNVFP4) {
    float amax = 0.0f;
    for (const ScaleStats& st : stats) amax = std::max(amax, st.amax);
    // The tensor scale maps the largest block scale (amax / 6) onto E4M3's 448.
    ts = amax / (448.0f * 6.0f);
    if (tensor_scale) *tensor_scale = ts;
  }
  for (int64_t i = 0; i < ns; ++i) {
    const ScaleStats& st = stats[i];
    float s = 0.0f;
    switch (L.format) {
      case Format::kInt:
        if (sym) {
          s = st.amax / static_cast<float>(L.qmax());
        } else {
          s = (st.hi - st.lo) / static_cast<float>((1 << L.bits) - 1);
          if (!std::isfinite(s)) {
            return "the asymmetric range max(w) - min(w) of a scale group overflows float32 "
                   "(values must span less than 3.4e38); use the symmetric scheme";
          }
        }
        break;
      case Format::kNF4:
      case Format::kBnbFP4: s = st.amax; break;
      case Format::kFP8E4M3: s = st.amax / kE4M3.max; break;
      case Format::kFP8E5M2: s = st.amax / kE5M2.max; break;
      case Format::kMXFP4: {
        // 2^(floor(log2 amax) - 2): E2M1's largest binade (4..6) holds the block's top.
        int e = -127 + 1 + 2;  // all-zero block: the smallest scale, code 0
        if (st.amax > 0.0f) std::frexp(st.amax, &e);
        const int code = std::min(254, std::max(0, e - 1 - 2 + 127));
        static_cast<uint8_t*>(scales)[i] = static_cast<uint8_t>(code);
        sf[i] = e8m0_to_fp32(static_cast<uint8_t>(code));
        continue;
      }
      case Format::kNVFP4: {
        const uint8_t code = ts > 0.0f ? fp32_to_fp8(st.amax / 6.0f / ts, kE4M3) : 0;
        static_cast<uint8_t*>(scales)[i] = code;
        sf[i] = fp8_to_fp32(code, kE4M3) * ts;
        continue;
      }
      default: break;
    }
    s = store_scale(L.scale_type, scales, i, s);
    if (!std::isfinite(s)) {
      return "a scale exceeds float16's range (65504); use scaleType 'float32'";
    }
    sf[i] = s;
    if (L.format == Format::kInt && !sym) {
      const float qmax = static_cast<float>(L.qmax());
      zf[i] = s == 0.0f ? 0.0f : std::min(std::max(round_even(-st.lo / s), 0.0f), qmax);
      zeros[i] = static_cast<uint8_t>(zf[i]);
    }
  }

  const float qmin = static_cast<float>(L.qmin());
  const float qmax = static_cast<float>(L.qmax());
  const int64_t rb = L.row_bytes();
  for_row_chunks(pool, L.rows, L.cols, [&](int64_t r0, int64_t r1) {
    if (L.bits < 8) std::fill(data + r0 * rb, data + r1 * rb, uint8_t{0});
    for_each_scale_run(L, r0, r1, 0, L.cols, [&](int64_t r, int64_t c0, int64_t idx, int64_t n) {
      const float s = sf[idx];
      const float z = zf[idx];
      const float* p = w + r * L.cols + c0;
      uint8_t* row = data + r * rb;
      for (int64_t i = 0; i < n; ++i) {
        uint8_t code;
        switch (L.format) {
          case Format::kNF4: code = s == 0.0f ? 7 : nearest_nf4(p[i] / s); break;
          // As bitsandbytes' kernel: times the reciprocal of absmax, then its midpoint comparisons.
          case Format::kBnbFP4: code = s == 0.0f ? 0 : nearest_bnb_fp4(p[i] * (1.0f / s)); break;
          case Format::kFP8E4M3: code = s == 0.0f ? 0 : fp32_to_fp8(p[i] / s, kE4M3); break;
          case Format::kFP8E5M2: code = s == 0.0f ? 0 : fp32_to_fp8(p[i] / s, kE5M2); break;
          case Format::kMXFP4:
          case Format::kNVFP4: code = s == 0.0f ? 0 : fp32_to_e2m1(p[i] / s); break;
          default: {
            const float q = s == 0.0f ? z : std::min(std::max(round_even(p[i] / s) + z, qmin), qmax);
            code = stored_int_code(L, static_cast<int>(q));
          }
        }
        put_element_code(L, row, c0 + i, code);
      }
    });
  }, progress);
  return nullptr;
}

void dequantize_rows(const QMatrixView& q, int64_t r0, int64_t r1, float* out) {
  const QuantLayout& L = q.layout;
  if (L.float_halves()) {
    halves_to_fp32(L.format == Format::kBF16, q.data + r0 * L.row_bytes(), (r1 - r0) * L.cols, out);
    return;
  }
  if (L.super_blocks()) {
    for (int64_t r = r0; r < r1; ++r)
      ggml_dequantize_row(L.format, q.data + r * L.row_bytes(), L.cols, out + (r - r0) * L.cols);
    return;
  }
  dequantize_code_rows(q, r0, r1, out);
}

void dequantize_matrix(const QMatrixView& q, float* out, ThreadPool* pool) {
  const int64_t cols = q.layout.cols;
  for_row_chunks(pool, q.layout.rows, cols,
                 [&](int64_t r0, int64_t r1) { dequantize_rows(q, r0, r1, out + r0 * cols); });
}

ErrorStats quantization_error(const float* w, const QMatrixView& q) {
  const QuantLayout& L = q.layout;
  double diff2 = 0.0, ref2 = 0.0, maxabs = 0.0;
  std::vector<float> wh(static_cast<size_t>(L.cols));  // one dequantized row at a time
  for (int64_t r = 0; r < L.rows; ++r) {
    dequantize_rows(q, r, r + 1, wh.data());
    const float* wr = w + r * L.cols;
    for (int64_t c = 0; c < L.cols; ++c) {
      double d = static_cast<double>(wr[c]) - static_cast<double>(wh[c]);
      diff2 += d * d;
      ref2 += static_cast<double>(wr[c]) * wr[c];
      maxabs = std::max(maxabs, std::fabs(d));
    }
  }
  double rel = ref2 > 0.0 ? std::sqrt(diff2) / std::sqrt(ref2) : (diff2 > 0.0 ? INFINITY : 0.0);
  return {rel, maxabs};
}

}  // namespace lowbit
