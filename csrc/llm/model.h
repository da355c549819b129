// A decoder-only transformer (the llama family: Llama 2/3, Mistral, TinyLlama; Qwen2 with q/k/v biases;
// Qwen3 with per-head q/k RMSNorm) over lowbit's matrices, and a session: a KV cache and a forward pass
// that runs a batch of tokens through every layer in one call.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <utility>
#include <memory>
#include <string>
#include <vector>

#include "../core/kernels.h"
#include "../core/layout.h"
#include "../gemm/matmul.h"
#include "../gemm/prepared.h"
#include "../runtime/thread_pool.h"
#include "attention.h"
#include "ops.h"

namespace lowbit::llm {

enum class Arch : uint8_t { kLlama, kQwen2, kQwen3 };

struct Config {
  Arch arch = Arch::kLlama;
  int64_t n_layer = 0, n_embd = 0, n_head = 0, n_head_kv = 0, head_dim = 0, n_ff = 0, n_vocab = 0;
  float rms_eps = 1e-5f;
  double rope_base = 10000.0;
  bool rope_neox = false;
};

// Bytes [p, p + n) of memory the model reads where it lies.
struct Range {
  const void* p;
  size_t n;
};

// Appends the ranges of q's buffers.
void view_ranges(const QMatrixView& q, std::vector<Range>& out);

// A weight matrix [rows = out, cols = in]: prepared for the kernels, a view of memory the model keeps
// alive (the formats prepare keeps plain, multiplied where they lie), or float32 rows.
class Linear {
 public:
  Linear() = default;
  static Linear prepared(std::shared_ptr<const Prepared> p);
  static Linear view(const QMatrixView& q, Activations act);
  static Linear floats(const float* w, int64_t rows, int64_t cols);

  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  // Bytes one product reads.
  int64_t bytes() const { return bytes_; }
  // Whether the weights were copied into packed tiles (else they are read where they lie).
  bool packed() const { return prepared_ != nullptr; }
  // Appends the memory ranges read in place (none for a packed copy).
  void in_place(std::vector<Range>& out) const;
  // y [m, rows] = x [m, cols] * W^T.
  void apply(const KernelTable& kt, const float* x, int64_t m, float* y, ThreadPool& pool) const;
  // Several products of the same x (q, k and v; gate and up): one parallel region over all of them
  // when they are packed alike, else one after another. The outputs' bits are apply()'s either way.
  static void apply_all(const KernelTable& kt, std::initializer_list<std::pair<const Linear*, float*>> products,
                        const float* x, int64_t m, ThreadPool& pool);

 private:
  std::shared_ptr<const Prepared> prepared_;
  QMatrixView view_;
  Activations act_ = Activations::kInt8;
  const float* floats_ = nullptr;
  int64_t rows_ = 0, cols_ = 0, bytes_ = 0;
};

// Where a weight matrix comes from when a model is built: a quantized view, or float32 rows.
struct MatrixSource {
  QMatrixView q;
  const float* floats = nullptr;  // set for float32 weights (q unused)
  int64_t rows = 0, cols = 0;
  Activations act = Activations::kInt8;
  int64_t bytes() const { return floats ? rows * cols * 4 : q.layout.byte_length(); }
};

// The Linear the kernels run fastest: packed tiles where the packed int8 kernels take the matrix
// (a copy: the source may be released afterwards), else the source itself, in place (the caller
// keeps its memory alive for the model's life).
Linear make_linear(const MatrixSource& src, const KernelTable& kt);

// A table of rows read one at a time: the token embeddings (any format, or float32).
class Rows {
 public:
  Rows() = default;
  explicit Rows(const QMatrixView& q) : view_(q), quantized_(true) {}
  Rows(const float* w, int64_t rows, int64_t cols) : floats_(w), rows_(rows), cols_(cols) {}
  int64_t rows() const { return quantized_ ? view_.layout.rows : rows_; }
  int64_t cols() const { return quantized_ ? view_.layout.cols : cols_; }
  void row(int64_t r, float* out) const;
  void in_place(std::vector<Range>& out) const;

 private:
  QMatrixView view_;
  bool quantized_ = false;
  const float* floats_ = nullptr;
  int64_t rows_ = 0, cols_ = 0;
};

struct Layer {
  std::vector<float> attn_norm, ffn_norm;
  Linear wq, wk, wv, wo, gate, up, down;
  std::vector<float> bq, bk, bv;          // Qwen2's biases, else empty
  std::vector<float> q_norm, k_norm;      // Qwen3's per-head norms [head_dim], else empty
};

struct Model {
  Config config;
  std::vector<Layer> layers;
  Rows embedding;
  std::vector<float> output_norm;
  Linear output;
  Rope rope;
  // Whatever keeps the weights' memory alive (mapped files, buffers), held for the model's life.
  std::vector<std::shared_ptr<const void>> keep;

  // Bytes of weights one decode step reads: every matrix once, and one row of the embeddings.
  int64_t bytes_per_token() const;
  // Bytes of weights in packed copies.
  int64_t packed_bytes() const;
  // Every memory range the model reads where it lies (the views, not the packed copies).
  std::vector<Range> in_place() const;
};

// Where a session's forward passes spent their time, summed since the session was made (steady
// clock, nanoseconds): the weight products, attention, and the rest of the passes (norms, rotary
// embeddings, cache stores, SwiGLU, residuals, embedding rows).
struct Profile {
  int64_t forwards = 0, tokens = 0;
  int64_t total_ns = 0, matmul_ns = 0, attention_ns = 0;
};

// The activations of a pass over some tokens, every layer's in turn (and attention()'s scratch).
struct Scratch {
  std::vector<float> x, h, y, q, att, k_new, v_new, g, u, attn;
  // Room for `tokens` tokens attending over up to `n_ctx` positions.
  void resize(const Config& c, int64_t tokens, int64_t n_ctx);
};

class Session;

// Consecutive tokens of a pass that belong to one session, at its positions pos .. pos + count - 1.
struct Span {
  Session* session;
  int64_t pos, count;
};

// Runs tokens [0, b) through every layer; `spans` cover them in order (a prefill chunk: one span; a
// batched decode step: a token per session). Each span's keys and values go into its session's cache and
// its queries attend over that cache; the weight products run once for all b tokens. Writes the logits of
// every token (all_logits, [b, vocab]) or of the last one, when `logits` is not null; adds its time split
// to `profile`. Positions do not move (the caller moves them once the pass was not cancelled).
void run_tokens(const KernelTable& kt, ThreadPool& pool, const Model& m, const Span* spans, int64_t n_spans,
                const int32_t* tokens, int64_t b, bool all_logits, float* logits, Scratch& s, Profile& profile);

// One decode step of several sessions of one model (distinct, each with room for a token): token i at
// session i's position, the weights read once for all of them; logits [n, vocab]. Returns false, no
// position moved, when the current Work was cancelled.
bool decode_batch(const KernelTable& kt, ThreadPool& pool, Session* const* sessions, const int32_t* tokens, int64_t n,
                  float* logits);

// A sequence's state: its KV cache and position, and the scratch of a forward pass.
class Session {
 public:
  Session(std::shared_ptr<const Model> model, int64_t n_ctx, KvType kv);

  const Model& model() const { return *model_; }
  int64_t position() const { return pos_; }
  int64_t context() const { return n_ctx_; }
  KvType kv_type() const { return kv_; }
  // Bytes the KV cache holds.
  int64_t kv_bytes() const { return static_cast<int64_t>(k_.size() + v_.size()); }
  void reset() { pos_ = 0; }
  const Profile& profile() const { return profile_; }
  // Back to an earlier position (the cache beyond it is overwritten by the next tokens).
  void rewind(int64_t pos) { pos_ = pos; }

  // Runs tokens [0, n) at positions position() .. position() + n - 1 (the caller checked the ids and
  // the context) and writes the logits of the last position, or of every one (all_logits: [n, vocab]).
  // Returns false, position unchanged, when the current Work was cancelled.
  bool forward(const KernelTable& kt, ThreadPool& pool, const int32_t* tokens, int64_t n, bool all_logits,
               float* logits);

  // The cache rows of a layer's KV head at a position.
  uint8_t* k_row(int64_t layer, int64_t kv_head, int64_t pos);
  uint8_t* v_row(int64_t layer, int64_t kv_head, int64_t pos);
  // One layer's cache as attention() reads it.
  KvLayer kv_layer(int64_t layer);

 private:
  friend bool decode_batch(const KernelTable&, ThreadPool&, Session* const*, const int32_t*, int64_t, float*);

  std::shared_ptr<const Model> model_;
  int64_t n_ctx_;
  KvType kv_;
  int64_t row_bytes_;
  int64_t pos_ = 0;
  std::vector<uint8_t> k_, v_;  // [layer][kv_head][position] rows
  Scratch scratch_;
  Profile profile_;
};

// Tokens of a forward pass processed together (the scratch is sized for this many).
constexpr int64_t kChunk = 256;

}  // namespace lowbit::llm
