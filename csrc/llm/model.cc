#include "model.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include "../formats/quantize.h"
#include "../gemm/packed.h"
#include "../runtime/work.h"

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
  if (src.act == Activations::kInt8 && plan_pack(src.q).packable) {
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
  if (!ws.empty()) {
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

void Scratch::resize(const Config& c, int64_t tokens, int64_t n_ctx) {
  const auto n = [&](int64_t per_token) { return static_cast<size_t>(tokens * per_token); };
  x.resize(n(c.n_embd));
  h.resize(x.size());
  y.resize(x.size());
  q.resize(n(c.n_head * c.head_dim));
  att.resize(q.size());
  k_new.resize(n(c.n_head_kv * c.head_dim));
  v_new.resize(k_new.size());
  g.resize(n(c.n_ff));
  u.resize(g.size());
  attn.resize(static_cast<size_t>(attention_scratch(c.n_head_kv, c.head_dim, n_ctx)));
}

Session::Session(std::shared_ptr<const Model> model, int64_t n_ctx, KvType kv)
    : model_(std::move(model)), n_ctx_(n_ctx), kv_(kv) {
  const Config& c = model_->config;
  row_bytes_ = kv_row_bytes(kv_, c.head_dim);
  const size_t cache = static_cast<size_t>(c.n_layer * c.n_head_kv * n_ctx_ * row_bytes_);
  k_.resize(cache);
  v_.resize(cache);
  scratch_.resize(c, kChunk, n_ctx_);
}

uint8_t* Session::k_row(int64_t layer, int64_t kv_head, int64_t pos) {
  const Config& c = model_->config;
  return k_.data() + ((layer * c.n_head_kv + kv_head) * n_ctx_ + pos) * row_bytes_;
}

uint8_t* Session::v_row(int64_t layer, int64_t kv_head, int64_t pos) {
  const Config& c = model_->config;
  return v_.data() + ((layer * c.n_head_kv + kv_head) * n_ctx_ + pos) * row_bytes_;
}

KvLayer Session::kv_layer(int64_t layer) {
  return KvLayer{k_row(layer, 0, 0), v_row(layer, 0, 0), n_ctx_ * row_bytes_, row_bytes_, kv_};
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
    const Span span{this, pos_, b};
    // Logits of every position of this chunk, or of the last position of the last chunk only.
    float* out = all_logits ? logits + done * vocab : last ? logits : nullptr;
    run_tokens(kt, pool, *model_, &span, 1, tokens + done, b, all_logits, out, scratch_, profile_);
    if (work::cancelled()) {
      pos_ = start;
      return false;
    }
    pos_ += b;
    profile_.tokens += b;
  }
  return true;
}

void run_tokens(const KernelTable& kt, ThreadPool& pool, const Model& m, const Span* spans, int64_t n_spans,
                const int32_t* tokens, int64_t b, bool all_logits, float* logits, Scratch& s, Profile& profile) {
  const Config& c = m.config;
  const int64_t d = c.n_embd, hd = c.head_dim, nh = c.n_head, nkv = c.n_head_kv;
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd)));
  float* x = s.x.data();
  float* h = s.h.data();
  for (int64_t i = 0; i < b; ++i) m.embedding.row(tokens[i], x + i * d);
  for (int64_t l = 0; l < c.n_layer; ++l) {
    if (work::cancelled()) return;
    const Layer& L = m.layers[l];
    for (int64_t i = 0; i < b; ++i) rms_norm(x + i * d, L.attn_norm.data(), d, c.rms_eps, h + i * d);
    {
      Timed t(&profile.matmul_ns);
      Linear::apply_all(kt, {{&L.wq, s.q.data()}, {&L.wk, s.k_new.data()}, {&L.wv, s.v_new.data()}}, h, b, pool);
    }
    for (int64_t sp = 0, i = 0; sp < n_spans; ++sp) {
      Session& S = *spans[sp].session;
      for (int64_t j = 0; j < spans[sp].count; ++j, ++i) {
        const int64_t pos = spans[sp].pos + j;
        float* q = s.q.data() + i * nh * hd;
        float* k = s.k_new.data() + i * nkv * hd;
        float* v = s.v_new.data() + i * nkv * hd;
        if (!L.bq.empty()) {
          for (int64_t e = 0; e < nh * hd; ++e) q[e] += L.bq[e];
          for (int64_t e = 0; e < nkv * hd; ++e) k[e] += L.bk[e];
          for (int64_t e = 0; e < nkv * hd; ++e) v[e] += L.bv[e];
        }
        if (!L.q_norm.empty()) {
          for (int64_t hh = 0; hh < nh; ++hh) rms_norm(q + hh * hd, L.q_norm.data(), hd, c.rms_eps, q + hh * hd);
          for (int64_t hh = 0; hh < nkv; ++hh) rms_norm(k + hh * hd, L.k_norm.data(), hd, c.rms_eps, k + hh * hd);
        }
        apply_rope(m.rope, q, nh, hd, pos);
        apply_rope(m.rope, k, nkv, hd, pos);
        for (int64_t hh = 0; hh < nkv; ++hh) {
          kv_store(kt, S.kv_type(), k + hh * hd, hd, S.k_row(l, hh, pos));
          kv_store(kt, S.kv_type(), v + hh * hd, hd, S.v_row(l, hh, pos));
        }
      }
    }
    {
      Timed t(&profile.attention_ns);
      for (int64_t sp = 0, i = 0; sp < n_spans; i += spans[sp].count, ++sp) {
        attention(kt, pool, s.q.data() + i * nh * hd, spans[sp].count, spans[sp].pos, nh, nkv, hd, scale,
                  spans[sp].session->kv_layer(l), s.attn.data(), s.att.data() + i * nh * hd);
      }
    }
    {
      Timed t(&profile.matmul_ns);
      L.wo.apply(kt, s.att.data(), b, s.y.data(), pool);
    }
    for (int64_t j = 0; j < b * d; ++j) x[j] += s.y[j];
    for (int64_t i = 0; i < b; ++i) rms_norm(x + i * d, L.ffn_norm.data(), d, c.rms_eps, h + i * d);
    {
      Timed t(&profile.matmul_ns);
      Linear::apply_all(kt, {{&L.gate, s.g.data()}, {&L.up, s.u.data()}}, h, b, pool);
    }
    silu_mul(s.g.data(), s.u.data(), b * c.n_ff);
    {
      Timed t(&profile.matmul_ns);
      L.down.apply(kt, s.g.data(), b, s.y.data(), pool);
    }
    for (int64_t j = 0; j < b * d; ++j) x[j] += s.y[j];
  }
  if (!logits) return;
  const int64_t first = all_logits ? 0 : b - 1, rows = b - first;
  for (int64_t i = first; i < b; ++i) rms_norm(x + i * d, m.output_norm.data(), d, c.rms_eps, h + (i - first) * d);
  Timed t(&profile.matmul_ns);
  m.output.apply(kt, h, rows, logits, pool);
}

bool decode_batch(const KernelTable& kt, ThreadPool& pool, Session* const* sessions, const int32_t* tokens, int64_t n,
                  float* logits) {
  const Model& m = sessions[0]->model();
  Session* longest = sessions[0];
  std::vector<Span> spans(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    spans[i] = Span{sessions[i], sessions[i]->pos_, 1};
    if (sessions[i]->context() > longest->context()) longest = sessions[i];
  }
  // The scratch of the session with the longest context fits the batch's attention, and its kChunk tokens
  // any batch up to that size (the batch holds the session, so nothing else uses it meanwhile); a larger
  // batch gets its own.
  Scratch own;
  Scratch* scratch = &longest->scratch_;
  if (n > kChunk) {
    own.resize(m.config, n, longest->context());
    scratch = &own;
  }
  Profile profile;  // a batched step is not one session's; their profiles count their own passes only
  run_tokens(kt, pool, m, spans.data(), n, tokens, n, true, logits, *scratch, profile);
  if (work::cancelled()) return false;
  for (int64_t i = 0; i < n; ++i) ++sessions[i]->pos_;
  return true;
}

}  // namespace lowbit::llm
