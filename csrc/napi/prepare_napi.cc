// prepare / prepareAsync and the PreparedMatrix class.
#include "prepare_napi.h"

#include <vector>

#include "../core/formats.h"
#include "../runtime/dispatch.h"
#include "args.h"
#include "async_call.h"
#include "bindings.h"
#include "external_memory.h"
#include "qmatrix_napi.h"

namespace lowbit::napi {
namespace {

// Passed to the constructor by prepare() only: `new PreparedMatrix()` from JS is refused.
int kConstructToken;

struct Ctor {
  Napi::FunctionReference fn;
};

class PreparedWrap : public Napi::ObjectWrap<PreparedWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "PreparedMatrix",
                       {InstanceAccessor<&PreparedWrap::Rows>("rows"), InstanceAccessor<&PreparedWrap::Cols>("cols"),
                        InstanceAccessor<&PreparedWrap::Format>("format"), InstanceAccessor<&PreparedWrap::Bits>("bits"),
                        InstanceAccessor<&PreparedWrap::Layout>("layout"),
                        InstanceAccessor<&PreparedWrap::Acts>("activations"),
                        InstanceAccessor<&PreparedWrap::ByteLength>("byteLength"),
                        InstanceAccessor<&PreparedWrap::Disposed>("disposed"),
                        InstanceMethod<&PreparedWrap::Dispose>("dispose")});
  }

  explicit PreparedWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PreparedWrap>(info) {
    if (info.Length() != 1 || !info[0].IsExternal() || info[0].As<Napi::External<int>>().Data() != &kConstructToken) {
      throw_type_error(info.Env(), "PreparedMatrix: use prepare(q) or prepareAsync(q) to make one");
    }
  }

  ~PreparedWrap() override { release(); }

  void attach(Napi::Env env, std::shared_ptr<const Prepared> p) {
    p_ = std::move(p);
    memory_.report(env, p_->bytes());
  }

  const std::shared_ptr<const Prepared>& prepared() const { return p_; }

 private:
  // Drops this object's hold; in-flight matmulAsync calls keep their own until they settle.
  void release() {
    memory_.give_back();
    p_.reset();
  }

  Napi::Value Rows(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), double(layout_or_throw(info).rows)); }
  Napi::Value Cols(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), double(layout_or_throw(info).cols)); }
  Napi::Value Format(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), format_name(layout_or_throw(info).format));
  }
  Napi::Value Bits(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), layout_or_throw(info).bits); }
  Napi::Value Layout(const Napi::CallbackInfo& info) {
    layout_or_throw(info);
    return Napi::String::New(info.Env(), p_->packed() ? "packed" : "plain");
  }
  Napi::Value Acts(const Napi::CallbackInfo& info) {
    layout_or_throw(info);
    return Napi::String::New(info.Env(), p_->activations() == Activations::kInt8 ? "int8" : "float");
  }
  Napi::Value ByteLength(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), p_ ? double(p_->bytes()) : 0.0);
  }
  Napi::Value Disposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !p_); }
  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    release();
    return info.Env().Undefined();
  }
  const QuantLayout& layout_or_throw(const Napi::CallbackInfo& info) {
    if (!p_) throw_range_error(info.Env(), "PreparedMatrix: this matrix was disposed");
    return p_->layout();
  }

  std::shared_ptr<const Prepared> p_;
  ExternalMemory memory_;  // p_'s bytes, reported to V8
};

PreparedWrap* as_wrap(Napi::Env env, Napi::Value v) {
  if (!v.IsObject()) return nullptr;
  Ctor* c = env.GetInstanceData<Ctor>();
  if (!c || !v.As<Napi::Object>().InstanceOf(c->fn.Value())) return nullptr;
  return PreparedWrap::Unwrap(v.As<Napi::Object>());
}

// Validated arguments of one prepare call.
class PrepareJob : public AsyncJob {
 public:
  PrepareJob(const Napi::CallbackInfo& info, const std::string& fn, bool async) {
    Napi::Env env = info.Env();
    QMatrixArg qa = parse_qmatrix(info[0], fn + ": q");
    const FormatInfo& fi = format_info(qa.view.layout.format);
    act_ = fi.int8_activations ? Activations::kInt8 : Activations::kFloat;
    Napi::Value opts = info[1];
    if (!opts.IsUndefined()) {
      if (!opts.IsObject() || opts.IsArray() || opts.IsTypedArray()) {
        throw_type_error(env, fn + ": options must be an object like { activations: 'int8' } (got " + describe(opts) + ")");
      }
      Napi::Object o = opts.As<Napi::Object>();
      reject_unknown_keys(o, {"activations"}, fn);
      Napi::Value a = o.Get("activations");
      if (!a.IsUndefined()) {
        const std::string s = a.IsString() ? a.As<Napi::String>().Utf8Value() : "";
        if (s == "float") {
          act_ = Activations::kFloat;
        } else if (s == "int8" && fi.int8_activations) {
          act_ = Activations::kInt8;
        } else if (s == "int8") {
          throw_range_error(env, fn + ": options.activations 'int8' is not available for format '" +
                                     format_name(qa.view.layout.format) + "' (its values have no integer form); use 'float'");
        } else {
          const std::string msg = fn + ": options.activations must be 'int8' or 'float' (got " + describe(a) + ")";
          if (!a.IsString()) throw_type_error(env, msg);
          throw_range_error(env, msg);
        }
      }
    }
    q_ = PinnedQMatrix(qa, async, fn + ": q");
  }

  std::string execute(Work& work) override {
    result_ = std::make_shared<const Prepared>(q_.view(), act_, active_kernels(), &work);
    return "";
  }

  Napi::Value settle(Napi::Env env) override {
    Ctor* c = env.GetInstanceData<Ctor>();
    Napi::Object o = c->fn.New({Napi::External<int>::New(env, &kConstructToken)});
    PreparedWrap::Unwrap(o)->attach(env, std::move(result_));
    return o;
  }

 private:
  PinnedQMatrix q_;
  Activations act_ = Activations::kInt8;
  std::shared_ptr<const Prepared> result_;
};

Napi::Value Prepare(const Napi::CallbackInfo& info) { return run_sync<PrepareJob>(info, "prepare", false); }

Napi::Value PrepareAsync(const Napi::CallbackInfo& info) {
  return queue_async(info.Env(), "lowbit.prepare", std::make_unique<PrepareJob>(info, "prepareAsync", true));
}

}  // namespace

std::shared_ptr<const Prepared> unwrap_prepared(Napi::Value v, const std::string& what) {
  PreparedWrap* w = as_wrap(v.Env(), v);
  if (!w) return nullptr;
  if (!w->prepared()) throw_range_error(v.Env(), what + " is a disposed PreparedMatrix");
  return w->prepared();
}

void register_prepare(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = PreparedWrap::Define(env);
  env.SetInstanceData(new Ctor{Napi::Persistent(ctor)});
  exports.Set("PreparedMatrix", ctor);
  exports.Set("prepare", Napi::Function::New(env, Prepare, "prepare"));
  exports.Set("prepareAsync", Napi::Function::New(env, PrepareAsync, "prepareAsync"));
}

}  // namespace lowbit::napi
