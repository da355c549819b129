#include "model.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include "../core/packed.h"
#include "../core/quantize.h"
#include "../core/work.h"

namespace lowbit::llm {
namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Adds the time from construction to destruction to *sum.
class Timed {
 public:
  explicit Timed(int64_t* sum) : sum_(sum), t0_(now_ns()) {}
  ~Timed() { *sum_ += now_ns() - t0_; }

 private:
  int64_t* sum_;
  int64_t t0_;
};

}  // namespace

Linear Linear::prepared(std::shared_ptr<const Prepared> p) {
  Linear l;
  l.rows_ = p->layout().rows;
  l.cols_ = p->layout().cols;
  l.bytes_ = p->bytes();
  l.prepared_ = std::move(p);
  return l;
}

Linear Linear::view(const QMatrixView& q, Activations act) {
  Linear l;
  l.view_ = q;
  l.act_ = act;
  l.rows_ = q.layout.rows;
  l.cols_ = q.layout.cols;
  l.bytes_ = q.layout.byte_length();
  return l;
}

Linear Linear::floats(const float* w, int64_t rows, int64_t cols) {
  Linear l;
  l.floats_ = w;
  l.rows_ = rows;
  l.cols_ = cols;
  l.bytes_ = rows * cols * 4;
  return l;
}

Linear make_linear(const MatrixSource& src, const KernelTable& kt) {
  if (src.floats) return Linear::floats(src.floats, src.rows, src.cols);
  if (src.act == Activations::kInt8 && kt.gemm_i8_packed && plan_pack(src.q).packable) {
    return Linear::prepared(std::make_shared<const Prepared>(src.q, src.act, kt));
  }
  return Linear::view(src.q, src.act);
}

void Linear::apply(const KernelTable& kt, const float* x, int64_t m, float* y, ThreadPool& pool) const {
  if (prepared_) {
    prepared_->matmul(kt, x, m, y, pool);
  } else if (floats_) {
    sgemm(kt, x, floats_, m, rows_, cols_, y, pool);
  } else {
    matmul(kt, view_, x, m, act_, y, pool);
  }
}

void view_ranges(const QMatrixView& q, std::vector<Range>& out) {
  const QuantLayout& L = q.layout;
  out.push_back({q.data, static_cast<size_t>(L.data_bytes())});
  const int64_t scales = L.stored_scales() * scale_type_bytes(L.scale_type);
  if (scales > 0) out.push_back({q.scales, static_cast<size_t>(scales)});
  if (q.zeros && L.num_zeros() > 0) out.push_back({q.zeros, static_cast<size_t>(L.num_zeros())});
}

void Linear::in_place(std::vector<Range>& out) const {
  if (prepared_) return;
  if (floats_) out.push_back({floats_, static_cast<size_t>(rows_ * cols_ * 4)});
  else view_ranges(view_, out);
}

void Rows::in_place(std::vector<Range>& out) const {
  if (quantized_) view_ranges(view_, out);
  else out.push_back({floats_, static_cast<size_t>(rows_ * cols_ * 4)});
}

void Linear::apply_all(const KernelTable& kt, std::initializer_list<std::pair<const Linear*, float*>> products,
                       const float* x, int64_t m, ThreadPool& pool) {
  std::vector<const PackedArgs*> ws;
  std::vector<float*> ys;
  for (const auto& [l, y] : products) {
    const PackedArgs* p = l->prepared_ ? l->prepared_->packed_args() : nullptr;
    if (!p || p->k != products.begin()->first->cols_) {
      ws.clear();
      break;
    }
    ws.push_back(p);
    ys.push_back(y);
  }
  if (!ws.empty() && kt.gemm_i8_packed) {
    matmul_packed_multi(kt, ws.data(), ys.data(), static_cast<int>(ws.size()), x, m, pool);
    return;
  }
  for (const auto& [l, y] : products) l->apply(kt, x, m, y, pool);
}

void Rows::row(int64_t r, float* out) const {
  if (quantized_) {
    dequantize_rows(view_, r, r + 1, out);
  } else {
    std::memcpy(out, floats_ + r * cols_, static_cast<size_t>(cols_) * 4);
  }
}

int64_t Model::bytes_per_token() const {
  int64_t b = output.bytes() + embedding.cols() * 4;
  for (const Layer& l : layers) {
    b += l.wq.bytes() + l.wk.bytes() + l.wv.bytes() + l.wo.bytes() + l.gate.bytes() + l.up.bytes() + l.down.bytes();
  }
  return b;
}

int64_t Model::packed_bytes() const {
  int64_t b = output.packed() ? output.bytes() : 0;
  for (const Layer& l : layers) {
    for (const Linear* w : {&l.wq, &l.wk, &l.wv, &l.wo, &l.gate, &l.up, &l.down}) b += w->packed() ? w->bytes() : 0;
  }
  return b;
}

std::vector<Range> Model::in_place() const {
  std::vector<Range> r;
  embedding.in_place(r);
  output.in_place(r);
  for (const Layer& l : layers) {
    for (const Linear* w : {&l.wq, &l.wk, &l.wv, &l.wo, &l.gate, &l.up, &l.down}) w->in_place(r);
  }
  return r;
}

Session::Session(std::shared_ptr<const Model> model, int64_t n_ctx, KvType kv)
    : model_(std::move(model)), n_ctx_(n_ctx), kv_(kv) {
  const Config& c = model_->config;
  row_bytes_ = kv_row_bytes(kv_, c.head_dim);
  const size_t cache = static_cast<size_t>(c.n_layer * c.n_head_kv * n_ctx_ * row_bytes_);
  k_.resize(cache);
  v_.resize(cache);
  x_.resize(static_cast<size_t>(kChunk * c.n_embd));
  h_.resize(x_.size());
  y_.resize(x_.size());
  q_.resize(static_cast<size_t>(kChunk * c.n_head * c.head_dim));
  att_.resize(q_.size());
  k_new_.resize(static_cast<size_t>(kChunk * c.n_head_kv * c.head_dim));
  v_new_.resize(k_new_.size());
  g_.resize(static_cast<size_t>(kChunk * c.n_ff));
  u_.resize(g_.size());
  attn_scratch_.resize(static_cast<size_t>(attention_scratch(c.n_head_kv, c.head_dim, n_ctx_)));
}

uint8_t* Session::k_row(int64_t layer, int64_t kv_head, int64_t pos) {
  const Config& c = model_->config;
  return k_.data() + ((layer * c.n_head_kv + kv_head) * n_ctx_ + pos) * row_bytes_;
}

uint8_t* Session::v_row(int64_t layer, int64_t kv_head, int64_t pos) {
  const Config& c = model_->config;
  return v_.data() + ((layer * c.n_head_kv + kv_head) * n_ctx_ + pos) * row_bytes_;
}

bool Session::forward(const KernelTable& kt, ThreadPool& pool, const int32_t* tokens, int64_t n, bool all_logits,
                      float* logits) {
  const int64_t start = pos_;
  const int64_t vocab = model_->config.n_vocab;
  Timed timed(&profile_.total_ns);
  ++profile_.forwards;
  for (int64_t done = 0; done < n; done += kChunk) {
    const int64_t b = std::min(kChunk, n - done);
    const bool last = done + b == n;
    // Logits of every position of this chunk, or of the last position of the last chunk only.
    if (all_logits || last) run_chunk(kt, pool, tokens + done, b, all_logits, all_logits ? logits + done * vocab : logits);
    else run_chunk(kt, pool, tokens + done, b, false, nullptr);
    if (work::cancelled()) {
      pos_ = start;
      return false;
    }
    pos_ += b;
    profile_.tokens += b;
  }
  return true;
}

void Session::run_chunk(const KernelTable& kt, ThreadPool& pool, const int32_t* tokens, int64_t b, bool all_logits,
                        float* logits) {
  const Model& m = *model_;
  const Config& c = m.config;
  const int64_t d = c.n_embd, hd = c.head_dim, nh = c.n_head, nkv = c.n_head_kv;
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd)));
  float* x = x_.data();
  float* h = h_.data();
  for (int64_t i = 0; i < b; ++i) m.embedding.row(tokens[i], x + i * d);
  for (int64_t l = 0; l < c.n_layer; ++l) {
    if (work::cancelled()) return;
    const Layer& L = m.layers[l];
    for (int64_t i = 0; i < b; ++i) rms_norm(x + i * d, L.attn_norm.data(), d, c.rms_eps, h + i * d);
    {
      Timed t(&profile_.matmul_ns);
      Linear::apply_all(kt, {{&L.wq, q_.data()}, {&L.wk, k_new_.data()}, {&L.wv, v_new_.data()}}, h, b, pool);
    }
    for (int64_t i = 0; i < b; ++i) {
      float* q = q_.data() + i * nh * hd;
      float* k = k_new_.data() + i * nkv * hd;
      float* v = v_new_.data() + i * nkv * hd;
      if (!L.bq.empty()) {
        for (int64_t j = 0; j < nh * hd; ++j) q[j] += L.bq[j];
        for (int64_t j = 0; j < nkv * hd; ++j) k[j] += L.bk[j];
        for (int64_t j = 0; j < nkv * hd; ++j) v[j] += L.bv[j];
      }
      if (!L.q_norm.empty()) {
        for (int64_t hh = 0; hh < nh; ++hh) rms_norm(q + hh * hd, L.q_norm.data(), hd, c.rms_eps, q + hh * hd);
        for (int64_t hh = 0; hh < nkv; ++hh) rms_norm(k + hh * hd, L.k_norm.data(), hd, c.rms_eps, k + hh * hd);
      }
      apply_rope(m.rope, q, nh, hd, pos_ + i);
      apply_rope(m.rope, k, nkv, hd, pos_ + i);
      for (int64_t hh = 0; hh < nkv; ++hh) {
        kv_store(kt, kv_, k + hh * hd, hd, k_row(l, hh, pos_ + i));
        kv_store(kt, kv_, v + hh * hd, hd, v_row(l, hh, pos_ + i));
      }
    }
    const KvLayer kv{k_row(l, 0, 0), v_row(l, 0, 0), n_ctx_ * row_bytes_, row_bytes_, kv_};
    {
      Timed t(&profile_.attention_ns);
      attention(kt, pool, q_.data(), b, pos_, nh, nkv, hd, scale, kv, attn_scratch_.data(), att_.data());
    }
    {
      Timed t(&profile_.matmul_ns);
      L.wo.apply(kt, att_.data(), b, y_.data(), pool);
    }
    for (int64_t j = 0; j < b * d; ++j) x[j] += y_[j];
    for (int64_t i = 0; i < b; ++i) rms_norm(x + i * d, L.ffn_norm.data(), d, c.rms_eps, h + i * d);
    {
      Timed t(&profile_.matmul_ns);
      Linear::apply_all(kt, {{&L.gate, g_.data()}, {&L.up, u_.data()}}, h, b, pool);
    }
    silu_mul(g_.data(), u_.data(), b * c.n_ff);
    {
      Timed t(&profile_.matmul_ns);
      L.down.apply(kt, g_.data(), b, y_.data(), pool);
    }
    for (int64_t j = 0; j < b * d; ++j) x[j] += y_[j];
  }
  if (!logits) return;
  const int64_t first = all_logits ? 0 : b - 1, rows = b - first;
  for (int64_t i = first; i < b; ++i) rms_norm(x + i * d, m.output_norm.data(), d, c.rms_eps, h + (i - first) * d);
  Timed t(&profile_.matmul_ns);
  m.output.apply(kt, h, rows, logits, pool);
}

}  // namespace lowbit::llm
