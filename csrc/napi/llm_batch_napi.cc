// Batched decode (lib/llm's decodeBatch): one token for each of several sessions of one model in one
// forward step, the weights read once for all of them, as a served replica decodes its batch.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "../llm/model.h"
#include "../runtime/dispatch.h"
#include "args.h"
#include "async_call.h"
#include "bindings.h"
#include "llm_handles.h"
#include "pinned.h"

namespace lowbit::napi {
namespace {

using llm::Session;

// Sessions and tokens checked on the JS thread; async calls hold every session (busy) until they settle.
class BatchJob : public AsyncJob {
 public:
  BatchJob(const Napi::CallbackInfo& info, const char* fn, bool async) {
    Napi::Env env = info.Env();
    if (!info[0].IsArray()) throw_type_error(env, std::string(fn) + ": sessions must be an array (got " + describe(info[0]) + ")");
    Napi::Array list = info[0].As<Napi::Array>();
    const uint32_t n = list.Length();
    if (n == 0) throw_range_error(env, std::string(fn) + ": sessions is empty (give at least one)");
    if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
      throw_type_error(env, std::string(fn) + ": tokens must be an Int32Array (got " + describe(info[1]) + ")");
    }
    Napi::Int32Array t = info[1].As<Napi::Int32Array>();
    if (t.ElementLength() != n) {
      throw_range_error(env, std::string(fn) + ": " + std::to_string(t.ElementLength()) + " tokens for " + std::to_string(n) +
                                 " sessions (one token each)");
    }
    std::vector<SessionHandle*> handles;
    for (uint32_t i = 0; i < n; ++i) {
      SessionHandle& h = session_handle(list.Get(i), fn, true);
      if (std::find(handles.begin(), handles.end(), &h) != handles.end()) {
        throw_range_error(env, std::string(fn) + ": sessions[" + std::to_string(i) + "] is given twice (a session takes one token a step)");
      }
      Session& s = *h.session;
      if (i > 0 && &s.model() != &sessions_[0]->model()) {
        throw_range_error(env, std::string(fn) + ": sessions[" + std::to_string(i) + "] is of another model (a batch shares one model's weights)");
      }
      if (s.position() >= s.context()) {
        throw_range_error(env, std::string(fn) + ": sessions[" + std::to_string(i) + "] is full (" + std::to_string(s.context()) +
                                   " positions; rewind or reset it)");
      }
      const int32_t tok = t[i];
      if (tok < 0 || tok >= s.model().config.n_vocab) {
        throw_range_error(env, std::string(fn) + ": token " + std::to_string(tok) + " at index " + std::to_string(i) +
                                   " is outside the vocabulary [0, " + std::to_string(s.model().config.n_vocab) + ")");
      }
      handles.push_back(&h);
      sessions_.push_back(h.session);
      start_.push_back(s.position());
    }
    tokens_.assign(t.Data(), t.Data() + n);
    const size_t count = static_cast<size_t>(n) * static_cast<size_t>(sessions_[0]->model().config.n_vocab);
    out_ = Napi::Reference<Napi::TypedArray>::New(owned_array(env, napi_float32_array, count), 1);
    logits_ = out_.Value().As<Napi::Float32Array>().Data();
    if (async) {
      list_ref_ = Napi::Reference<Napi::Array>::New(list, 1);  // keeps the handles from being collected meanwhile
      for (SessionHandle* h : handles) h->busy = true;
      busy_ = std::move(handles);
    }
  }

  ~BatchJob() override {
    for (SessionHandle* h : busy_) h->busy = false;
  }

  // A cancel that came after the step finished: the positions it moved go back.
  void aborted() override {
    for (size_t i = 0; i < sessions_.size(); ++i) sessions_[i]->rewind(start_[i]);
  }

  std::string execute(Work&) override {
    std::vector<Session*> raw;
    for (const auto& s : sessions_) raw.push_back(s.get());
    llm::decode_batch(active_kernels(), ThreadPool::global(), raw.data(), tokens_.data(), static_cast<int64_t>(raw.size()), logits_);
    return "";
  }

  Napi::Value settle(Napi::Env) override { return out_.Value(); }

 private:
  std::vector<std::shared_ptr<Session>> sessions_;
  std::vector<int64_t> start_;
  std::vector<SessionHandle*> busy_;  // async: the flags to clear when the job ends
  Napi::Reference<Napi::Array> list_ref_;
  std::vector<int32_t> tokens_;
  Napi::Reference<Napi::TypedArray> out_;
  float* logits_ = nullptr;
};

Napi::Value LlmDecodeBatch(const Napi::CallbackInfo& info) { return run_sync<BatchJob>(info, "decodeBatch", false); }

Napi::Value LlmDecodeBatchAsync(const Napi::CallbackInfo& info) {
  return queue_async(info.Env(), "lowbit.llmDecodeBatch", std::make_unique<BatchJob>(info, "decodeBatchAsync", true));
}

}  // namespace

void register_llm_batch(Napi::Env env, Napi::Object exports) {
  exports.Set("llmDecodeBatch", Napi::Function::New(env, LlmDecodeBatch, "llmDecodeBatch"));
  exports.Set("llmDecodeBatchAsync", Napi::Function::New(env, LlmDecodeBatchAsync, "llmDecodeBatchAsync"));
}

}  // namespace lowbit::napi
