// The model runner's bindings (lib/llm wraps them): llmModel / llmModelAsync build a model from weights
// lib/llm read out of a GGUF file, llmSession makes a KV cache, llmForward / llmForwardAsync run tokens.
// Models and sessions are type-tagged Externals; their memory goes when dispose() is called (or the
// External is collected) and no call in flight holds it any more.
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "../core/formats.h"
#include "../llm/model.h"
#include "../runtime/dispatch.h"
#include "args.h"
#include "async_call.h"
#include "bindings.h"
#include "file_napi.h"
#include "llm_handles.h"
#include "pinned.h"

namespace lowbit::napi {
namespace {

using llm::Model;
using llm::Session;

int64_t get_int(Napi::Object o, const char* key, const std::string& fn) {
  return to_positive_int(o.Get(key), fn + ": spec." + key);
}

double get_number(Napi::Object o, const char* key, const std::string& fn) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) throw_type_error(o.Env(), fn + ": spec." + key + " must be a number (got " + describe(v) + ")");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d > 0) || !std::isfinite(d)) throw_range_error(o.Env(), fn + ": spec." + key + " must be positive and finite");
  return d;
}

// Builds a model: everything read and checked on the JS thread, the matrices packed by execute().
class ModelJob : public AsyncJob {
 public:
  ModelJob(const Napi::CallbackInfo& info, const std::string& fn) : fn_(fn) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) throw_type_error(env, fn + ": spec must be an object (got " + describe(info[0]) + ")");
    if (!info[1].IsObject()) throw_type_error(env, fn + ": weights must be an object (got " + describe(info[1]) + ")");
    Napi::Object spec = info[0].As<Napi::Object>(), w = info[1].As<Napi::Object>();
    if (!info[2].IsUndefined() && !info[2].IsNull()) file_ = open_file_handle(info[2], fn.c_str()).file;

    model_ = std::make_shared<Model>();
    llm::Config& c = model_->config;
    const std::string arch = spec.Get("arch").IsString() ? spec.Get("arch").As<Napi::String>().Utf8Value() : "";
    if (arch == "llama") c.arch = llm::Arch::kLlama;
    else if (arch == "qwen2") c.arch = llm::Arch::kQwen2;
    else if (arch == "qwen3") c.arch = llm::Arch::kQwen3;
    else throw_range_error(env, fn + ": spec.arch must be 'llama', 'qwen2' or 'qwen3'");
    c.n_layer = get_int(spec, "layers", fn);
    c.n_embd = get_int(spec, "embd", fn);
    c.n_head = get_int(spec, "heads", fn);
    c.n_head_kv = get_int(spec, "headsKv", fn);
    c.head_dim = get_int(spec, "headDim", fn);
    c.n_ff = get_int(spec, "ff", fn);
    c.n_vocab = get_int(spec, "vocab", fn);
    c.rms_eps = static_cast<float>(get_number(spec, "rmsEps", fn));
    c.rope_base = get_number(spec, "ropeBase", fn);
    c.rope_neox = spec.Get("ropeNeox").ToBoolean();
    const Napi::Value acts = spec.Get("activations");
    if (!acts.IsUndefined()) {
      const std::string a = acts.IsString() ? acts.As<Napi::String>().Utf8Value() : "";
      if (a != "int8" && a != "float") throw_range_error(env, fn + ": spec.activations must be 'int8' or 'float'");
      float_acts_ = a == "float";
    }
    if (c.n_head % c.n_head_kv != 0) throw_range_error(env, fn + ": spec.heads must be a multiple of spec.headsKv");
    if (c.head_dim % 2 != 0) throw_range_error(env, fn + ": spec.headDim must be even (rotary pairs)");

    const int64_t d = c.n_embd, q = c.n_head * c.head_dim, kv = c.n_head_kv * c.head_dim;
    model_->embedding = rows(w, "embedding", c.n_vocab, d);
    model_->output_norm = vec(w, "outputNorm", d, true);
    add_linear(w, "output", c.n_vocab, d, &model_->output);
    const std::vector<float> factors = vec(w, "ropeFactors", c.head_dim / 2, false);
    model_->rope = llm::make_rope(c.head_dim, c.rope_base, c.rope_neox, factors.empty() ? nullptr : factors.data());

    Napi::Value lv = w.Get("layers");
    if (!lv.IsArray() || lv.As<Napi::Array>().Length() != static_cast<uint32_t>(c.n_layer)) {
      throw_type_error(env, fn + ": weights.layers must be an array of spec.layers (" + std::to_string(c.n_layer) + ") objects");
    }
    Napi::Array layers = lv.As<Napi::Array>();
    model_->layers.resize(static_cast<size_t>(c.n_layer));
    for (uint32_t i = 0; i < layers.Length(); ++i) {
      Napi::Value v = layers.Get(i);
      const std::string at = "layers[" + std::to_string(i) + "].";
      if (!v.IsObject()) throw_type_error(env, fn + ": weights." + at.substr(0, at.size() - 1) + " must be an object");
      Napi::Object o = v.As<Napi::Object>();
      llm::Layer& L = model_->layers[i];
      prefix_ = at;
      L.attn_norm = vec(o, "attnNorm", d, true);
      L.ffn_norm = vec(o, "ffnNorm", d, true);
      add_linear(o, "wq", q, d, &L.wq);
      add_linear(o, "wk", kv, d, &L.wk);
      add_linear(o, "wv", kv, d, &L.wv);
      add_linear(o, "wo", d, q, &L.wo);
      add_linear(o, "gate", c.n_ff, d, &L.gate);
      add_linear(o, "up", c.n_ff, d, &L.up);
      add_linear(o, "down", d, c.n_ff, &L.down);
      const bool qwen2 = c.arch == llm::Arch::kQwen2, qwen3 = c.arch == llm::Arch::kQwen3;
      L.bq = vec(o, "bq", q, qwen2);
      L.bk = vec(o, "bk", kv, qwen2);
      L.bv = vec(o, "bv", kv, qwen2);
      L.q_norm = vec(o, "qNorm", c.head_dim, qwen3);
      L.k_norm = vec(o, "kNorm", c.head_dim, qwen3);
    }
    prefix_.clear();
  }

  std::string execute(Work& work) override {
    int64_t total = 0;
    for (const Pending& p : pending_) total += p.src.bytes();
    work.set_total(total);
    const KernelTable& kt = active_kernels();
    for (const Pending& p : pending_) {
      if (work.cancelled()) return "";
      *p.dest = llm::make_linear(p.src, kt);
      work.advance(p.src.bytes());
    }
    if (file_) {
      // The pages of repacked matrices (and of the header) are not read again: drop them, so that
      // the model's resident memory is its packed copies plus the matrices it reads in place.
      const uint8_t* base = file_->data();
      std::vector<std::pair<size_t, size_t>> keep;
      for (const llm::Range& r : model_->in_place()) {
        const uint8_t* p = static_cast<const uint8_t*>(r.p);
        if (p >= base && p + r.n <= base + file_->size()) keep.emplace_back(static_cast<size_t>(p - base), r.n);
      }
      file_->release_except(std::move(keep));
    }
    return "";
  }

  Napi::Value settle(Napi::Env env) override {
    auto* h = new ModelHandle{model_, {}};
    auto ext = Napi::External<ModelHandle>::New(env, h, [](Napi::Env, ModelHandle* p) {
      p->release();
      delete p;
    });
    NAPI_THROW_IF_FAILED(env, napi_type_tag_object(env, ext, &kModelTag), Napi::Value());
    h->memory.report(env, model_->packed_bytes());
    return ext;
  }

 private:
  struct Pending {
    llm::MatrixSource src;
    llm::Linear* dest;
  };

  std::string name(const char* key) const { return fn_ + ": weights." + prefix_ + key; }

  // Memory of a typed array the model reads for its whole life: lowbit's own (held by its owner), or
  // a copy the model owns.
  const void* hold(Napi::Env env, Napi::TypedArray a) {
    const ArrayBytes b = array_bytes(a);
    if (b.bytes == 0) return b.data;
    Owner o = owner_of(env, b.buffer);
    if (o) {
      model_->keep.push_back(std::move(o));
      return b.data;
    }
    std::shared_ptr<void> copy(std::malloc(b.bytes), std::free);
    if (!copy) throw Napi::Error::New(env, fn_ + ": out of memory copying a weight");
    std::memcpy(copy.get(), b.data, b.bytes);
    model_->keep.push_back(copy);
    return copy.get();
  }

  const float* float_matrix(Napi::Object o, const char* key, int64_t rows, int64_t cols) {
    Napi::Value v = o.Get(key);
    Napi::Float32Array a = v.As<Napi::Float32Array>();
    if (static_cast<int64_t>(a.ElementLength()) != rows * cols) {
      throw_range_error(o.Env(), name(key) + " must hold " + std::to_string(rows) + " x " + std::to_string(cols) +
                                     " values (got " + std::to_string(a.ElementLength()) + ")");
    }
    return static_cast<const float*>(hold(o.Env(), a));
  }

  // A QuantizedMatrix or Float32Array [rows, cols] under `key`.
  llm::MatrixSource matrix(Napi::Object o, const char* key, int64_t rows, int64_t cols) {
    Napi::Value v = o.Get(key);
    llm::MatrixSource s;
    s.rows = rows;
    s.cols = cols;
    if (v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array) {
      s.floats = float_matrix(o, key, rows, cols);
      return s;
    }
    if (!v.IsObject()) throw_type_error(o.Env(), name(key) + " must be a QuantizedMatrix or a Float32Array (got " + describe(v) + ")");
    QMatrixArg q = parse_qmatrix(v, name(key), false);
    if (q.view.layout.rows != rows || q.view.layout.cols != cols) {
      throw_range_error(o.Env(), name(key) + " must be " + std::to_string(rows) + " x " + std::to_string(cols) + " (got " +
                                     std::to_string(q.view.layout.rows) + " x " + std::to_string(q.view.layout.cols) + ")");
    }
    s.q = q.view;
    s.q.data = static_cast<const uint8_t*>(hold(o.Env(), q.data));
    if (!q.scales.IsEmpty()) s.q.scales = hold(o.Env(), q.scales);
    if (!q.zeros.IsEmpty()) s.q.zeros = static_cast<const uint8_t*>(hold(o.Env(), q.zeros));
    s.act = format_info(q.view.layout.format).int8_activations && !float_acts_ ? Activations::kInt8 : Activations::kFloat;
    return s;
  }

  void add_linear(Napi::Object o, const char* key, int64_t rows, int64_t cols, llm::Linear* dest) {
    pending_.push_back({matrix(o, key, rows, cols), dest});
  }

  llm::Rows rows(Napi::Object o, const char* key, int64_t rows, int64_t cols) {
    llm::MatrixSource s = matrix(o, key, rows, cols);
    return s.floats ? llm::Rows(s.floats, rows, cols) : llm::Rows(s.q);
  }

  // A float vector of n values under `key` (copied: they are small), or empty when absent and not required.
  std::vector<float> vec(Napi::Object o, const char* key, int64_t n, bool required) {
    Napi::Value v = o.Get(key);
    if ((v.IsUndefined() || v.IsNull()) && !required) return {};
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      throw_type_error(o.Env(), name(key) + " must be a Float32Array (got " + describe(v) + ")");
    }
    Napi::Float32Array a = v.As<Napi::Float32Array>();
    if (static_cast<int64_t>(a.ElementLength()) != n) {
      throw_range_error(o.Env(), name(key) + " must hold " + std::to_string(n) + " values (got " +
                                     std::to_string(a.ElementLength()) + ")");
    }
    return std::vector<float>(a.Data(), a.Data() + n);
  }

  std::string fn_, prefix_;
  bool float_acts_ = false;  // every product in float (the weights' exact values), else int8 where the format has it
  std::shared_ptr<io::MappedFile> file_;
  std::shared_ptr<Model> model_;
  std::vector<Pending> pending_;
};

Napi::Value LlmModel(const Napi::CallbackInfo& info) { return run_sync<ModelJob>(info, std::string("llmModel")); }

Napi::Value LlmModelAsync(const Napi::CallbackInfo& info) {
  return queue_async(info.Env(), "lowbit.llmModel", std::make_unique<ModelJob>(info, "llmModelAsync"));
}

// llmModelInfo(model) -> { bytesPerToken, packedBytes, inPlaceBytes }
Napi::Value LlmModelInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Model& m = *model_handle(info[0], "llmModelInfo").model;
  int64_t in_place = 0;
  for (const llm::Range& r : m.in_place()) in_place += static_cast<int64_t>(r.n);
  Napi::Object o = Napi::Object::New(env);
  o.Set("bytesPerToken", Napi::Number::New(env, static_cast<double>(m.bytes_per_token())));
  o.Set("packedBytes", Napi::Number::New(env, static_cast<double>(m.packed_bytes())));
  o.Set("inPlaceBytes", Napi::Number::New(env, static_cast<double>(in_place)));
  return o;
}

Napi::Value LlmModelDispose(const Napi::CallbackInfo& info) {
  tagged<ModelHandle>(info[0], kModelTag, "llmModelDispose", "model")->release();
  return info.Env().Undefined();
}

// llmSession(model, contextLength, kvType) -> session handle
Napi::Value LlmSession(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ModelHandle& mh = model_handle(info[0], "llmSession");
  const int64_t ctx = to_positive_int(info[1], "createSession: contextLength");
  const std::string kv = info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "";
  llm::KvType t;
  if (kv == "f16") t = llm::KvType::kF16;
  else if (kv == "q8_0") t = llm::KvType::kQ8_0;
  else throw_range_error(env, "createSession: kvType must be 'f16' or 'q8_0'");
  if (t == llm::KvType::kQ8_0 && mh.model->config.head_dim % 32 != 0) {
    throw_range_error(env, "createSession: kvType 'q8_0' needs a head size that is a multiple of 32 (this model's is " +
                               std::to_string(mh.model->config.head_dim) + "); use 'f16'");
  }
  std::shared_ptr<Session> s;
  try {
    s = std::make_shared<Session>(mh.model, ctx, t);
  } catch (const std::bad_alloc&) {
    throw_range_error(env, "createSession: not enough memory for a KV cache of " + std::to_string(ctx) + " positions");
  }
  auto* h = new SessionHandle{s, false, {}};
  auto ext = Napi::External<SessionHandle>::New(env, h, [](Napi::Env, SessionHandle* p) {
    p->release();
    delete p;
  });
  NAPI_THROW_IF_FAILED(env, napi_type_tag_object(env, ext, &kSessionTag), Napi::Value());
  h->memory.report(env, s->kv_bytes());
  return ext;
}

// llmSessionState(session) -> { position, contextLength, kvBytes, profile }: not while an async call runs
// (the forward pass moves the position and the profile on another thread).
Napi::Value LlmSessionState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SessionHandle& h = session_handle(info[0], "llmSessionState", true);
  Napi::Object o = Napi::Object::New(env);
  o.Set("position", Napi::Number::New(env, static_cast<double>(h.session->position())));
  o.Set("contextLength", Napi::Number::New(env, static_cast<double>(h.session->context())));
  o.Set("kvBytes", Napi::Number::New(env, static_cast<double>(h.session->kv_bytes())));
  const llm::Profile& p = h.session->profile();
  Napi::Object prof = Napi::Object::New(env);
  prof.Set("forwards", Napi::Number::New(env, static_cast<double>(p.forwards)));
  prof.Set("tokens", Napi::Number::New(env, static_cast<double>(p.tokens)));
  prof.Set("totalNs", Napi::Number::New(env, static_cast<double>(p.total_ns)));
  prof.Set("matmulNs", Napi::Number::New(env, static_cast<double>(p.matmul_ns)));
  prof.Set("attentionNs", Napi::Number::New(env, static_cast<double>(p.attention_ns)));
  o.Set("profile", prof);
  return o;
}

// llmSessionRewind(session, position): back to an earlier position (0 = reset).
Napi::Value LlmSessionRewind(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SessionHandle& h = session_handle(info[0], "llmSessionRewind", true);
  if (!info[1].IsNumber()) throw_type_error(env, "Session: position must be a number (got " + describe(info[1]) + ")");
  const double p = info[1].As<Napi::Number>().DoubleValue();
  if (!(p >= 0 && p <= static_cast<double>(h.session->position())) || p != static_cast<double>(static_cast<int64_t>(p))) {
    throw_range_error(env, "Session: position must be an integer from 0 to the current position (" +
                               std::to_string(h.session->position()) + ")");
  }
  h.session->rewind(static_cast<int64_t>(p));
  return env.Undefined();
}

Napi::Value LlmSessionDispose(const Napi::CallbackInfo& info) {
  // An async forward in flight keeps its own reference; the cache goes when it settles.
  tagged<SessionHandle>(info[0], kSessionTag, "llmSessionDispose", "session")->release();
  return info.Env().Undefined();
}

// One forward pass: tokens copied and checked on the JS thread, the logits written to a new array.
class ForwardJob : public AsyncJob {
 public:
  ForwardJob(const Napi::CallbackInfo& info, const char* fn, bool async) {
    Napi::Env env = info.Env();
    SessionHandle& h = session_handle(info[0], fn, true);
    session_ = h.session;
    const llm::Config& c = session_->model().config;
    if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
      throw_type_error(env, "Session: tokens must be an Int32Array (got " + describe(info[1]) + ")");
    }
    Napi::Int32Array t = info[1].As<Napi::Int32Array>();
    const int64_t n = static_cast<int64_t>(t.ElementLength());
    if (n == 0) throw_range_error(env, "Session: tokens is empty (give at least one token)");
    if (session_->position() + n > session_->context()) {
      throw_range_error(env, "Session: " + std::to_string(n) + " tokens at position " + std::to_string(session_->position()) +
                                 " overflow the context of " + std::to_string(session_->context()) +
                                 " positions (createSession({ contextLength }) sets it; rewind or reset to reuse the session)");
    }
    start_ = session_->position();
    tokens_.assign(t.Data(), t.Data() + n);
    for (int64_t i = 0; i < n; ++i) {
      if (tokens_[i] < 0 || tokens_[i] >= c.n_vocab) {
        throw_range_error(env, "Session: token " + std::to_string(tokens_[i]) + " at index " + std::to_string(i) +
                                   " is outside the vocabulary [0, " + std::to_string(c.n_vocab) + ")");
      }
    }
    all_ = info[2].ToBoolean();
    const size_t count = static_cast<size_t>((all_ ? n : 1) * c.n_vocab);
    out_ = Napi::Reference<Napi::TypedArray>::New(owned_array(env, napi_float32_array, count), 1);
    logits_ = out_.Value().As<Napi::Float32Array>().Data();
    if (async) {
      handle_ = &h;
      handle_ref_ = Napi::Reference<Napi::External<SessionHandle>>::New(info[0].As<Napi::External<SessionHandle>>(), 1);
      h.busy = true;
    }
  }

  ~ForwardJob() override {
    if (handle_) handle_->busy = false;
  }

  void aborted() override { session_->rewind(start_); }

  std::string execute(Work&) override {
    session_->forward(active_kernels(), ThreadPool::global(), tokens_.data(), static_cast<int64_t>(tokens_.size()), all_,
                      logits_);
    return "";
  }

  Napi::Value settle(Napi::Env) override { return out_.Value(); }

 private:
  std::shared_ptr<Session> session_;
  SessionHandle* handle_ = nullptr;  // async: the busy flag to clear when the job ends
  Napi::Reference<Napi::External<SessionHandle>> handle_ref_;  // keeps handle_ from being collected meanwhile
  std::vector<int32_t> tokens_;
  int64_t start_ = 0;  // the position before the call
  bool all_ = false;
  Napi::Reference<Napi::TypedArray> out_;
  float* logits_ = nullptr;
};

Napi::Value LlmForward(const Napi::CallbackInfo& info) { return run_sync<ForwardJob>(info, "llmForward", false); }

Napi::Value LlmForwardAsync(const Napi::CallbackInfo& info) {
  return queue_async(info.Env(), "lowbit.llmForward", std::make_unique<ForwardJob>(info, "llmForwardAsync", true));
}

}  // namespace

void register_llm(Napi::Env env, Napi::Object exports) {
  exports.Set("llmModel", Napi::Function::New(env, LlmModel, "llmModel"));
  exports.Set("llmModelAsync", Napi::Function::New(env, LlmModelAsync, "llmModelAsync"));
  exports.Set("llmModelInfo", Napi::Function::New(env, LlmModelInfo, "llmModelInfo"));
  exports.Set("llmModelDispose", Napi::Function::New(env, LlmModelDispose, "llmModelDispose"));
  exports.Set("llmSession", Napi::Function::New(env, LlmSession, "llmSession"));
  exports.Set("llmSessionState", Napi::Function::New(env, LlmSessionState, "llmSessionState"));
  exports.Set("llmSessionRewind", Napi::Function::New(env, LlmSessionRewind, "llmSessionRewind"));
  exports.Set("llmSessionDispose", Napi::Function::New(env, LlmSessionDispose, "llmSessionDispose"));
  exports.Set("llmForward", Napi::Function::New(env, LlmForward, "llmForward"));
  exports.Set("llmForwardAsync", Napi::Function::New(env, LlmForwardAsync, "llmForwardAsync"));
}

}  // namespace lowbit::napi
