#include "quantize.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

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
// 64K elements each, on the pool if any.
void for_row_chunks(ThreadPool* pool, int64_t units, int64_t elems_per_unit,
                    const std::function<void(int64_t, int64_t)>& fn) {
  const int64_t per = std::max<int64_t>(1, (int64_t{1} << 16) / elems_per_unit);
  const int64_t tasks = (units + per - 1) / per;
  auto task = [&](int64_t t) { fn(t * per, std::min(units, (t + 1) * per)); };
  if (pool) {
    pool->parallel_for(tasks, task);
  } else {
    for (int64_t t = 0; t < tasks; ++t) task(t);
  }
}

}  // namespace

int64_t first_non_finite(const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) return i;
  }
  return -1;
}

const char* quantize_matrix(const float* w, const QuantLayout& L, uint8_t* data, float* scales,
                            uint8_t* zeros, ThreadPool* pool) {
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
  } else if (L.granularity == Granularity::kColumn) {
    // Column scales gather over all rows: split by column ranges instead.
    for_row_chunks(pool, (L.cols + 255) / 256, 256 * L.rows, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) scan(0, L.rows, b * 256, std::min(L.cols, (b + 1) * 256));
    });
  } else {
    for_row_chunks(pool, L.rows, L.cols, [&](int64_t r0, int64_t r1) { scan(r0, r1, 0, L.cols); });
  }

  // Per-scale float32 parameters, exactly as the seed's NumPy code computes them.
  std::vector<float> zf(static_cast<size_t>(ns), 0.0f);
  const float levels = static_cast<float>(sym ? L.qmax() : (1 << L.bits) - 1);
  for (int64_t i = 0; i < ns; ++i) {
    const ScaleStats& st = stats[i];
    float s;
    if (sym) {
      s = st.amax / levels;
    } else {
      s = (st.hi - st.lo) / levels;
      if (!std::isfinite(s)) {
        return "the asymmetric range max(w) - min(w) of a scale group overflows float32 "
               "(values must span less than 3.4e38); use the symmetric scheme";
      }
      zf[i] = s == 0.0f ? 0.0f : round_even(-st.lo / s);
      zeros[i] = static_cast<uint8_t>(zf[i]);
    }
    scales[i] = s;
  }

  const float qmin = static_cast<float>(L.qmin());
  const float qmax = static_cast<float>(L.qmax());
  const int64_t rb = L.row_bytes();
  for_row_chunks(pool, L.rows, L.cols, [&](int64_t r0, int64_t r1) {
    if (L.bits == 4) std::fill(data + r0 * rb, data + r1 * rb, uint8_t{0});
    for_each_scale_run(L, r0, r1, 0, L.cols, [&](int64_t r, int64_t c0, int64_t idx, int64_t n) {
      const float s = scales[idx];
      const float z = zf[idx];
      const float* p = w + r * L.cols + c0;
      uint8_t* row = data + r * rb;
      for (int64_t i = 0; i < n; ++i) {
        float q = s == 0.0f ? z : std::min(std::max(round_even(p[i] / s) + z, qmin), qmax);
        int qi = static_cast<int>(q);
        int64_t c = c0 + i;
        if (L.bits == 8) {
          row[c] = static_cast<uint8_t>(qi);  // two's complement for symmetric
        } else {
          uint8_t nib = static_cast<uint8_t>(sym ? qi + 8 : qi);
          row[c >> 1] |= (c & 1) ? static_cast<uint8_t>(nib << 4) : nib;
        }
      }
    });
  });
  return nullptr;
}

namespace {

// out[(r - r0) * cols + c] = scale * (q - z) for rows [r0, r1).
void dequantize_rows(const QMatrixView& q, int64_t r0, int64_t r1, float* out) {
  const QuantLayout& L = q.layout;
  const bool sym = L.scheme == Scheme::kSymmetric;
  const int64_t rb = L.row_bytes();
  for_each_scale_run(L, r0, r1, 0, L.cols, [&](int64_t r, int64_t c0, int64_t idx, int64_t n) {
    const float s = q.scales[idx];
    const int z = q.zeros ? q.zeros[idx] : 0;
    const uint8_t* row = q.data + r * rb;
    float* o = out + (r - r0) * L.cols + c0;
    if (L.bits == 8) {
      for (int64_t i = 0; i < n; ++i) {
        const int v = sym ? static_cast<int8_t>(row[c0 + i]) : row[c0 + i] - z;
        o[i] = s * static_cast<float>(v);
      }
    } else {
      const int bias = sym ? 8 : z;
      for (int64_t i = 0; i < n; ++i) {
        const int64_t c = c0 + i;
        const int nib = (c & 1) ? row[c >> 1] >> 4 : row[c >> 1] & 0xF;
        o[i] = s * static_cast<float>(nib - bias);
      }
    }
  });
}

}  // namespace

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
