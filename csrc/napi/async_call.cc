#include "async_call.h"

#include <new>

namespace lowbit::napi {
namespace {

struct Call {
  std::unique_ptr<AsyncJob> job;
  std::shared_ptr<Work> work = std::make_shared<Work>();
  napi_deferred deferred = nullptr;
  napi_async_work async = nullptr;
  std::string error;        // a RangeError message from execute
  bool out_of_memory = false;
};

void execute(napi_env, void* data) {
  Call* c = static_cast<Call*>(data);
  if (c->work->cancelled()) return;
  Work::Scope scope(c->work.get());
  try {
    c->error = c->job->execute(*c->work);
  } catch (const std::bad_alloc&) {
    c->out_of_memory = true;
  } catch (const std::exception& e) {
    c->error = e.what();
  }
}

Napi::Value abort_error(Napi::Env env) {
  Napi::Error e = Napi::Error::New(env, "The operation was aborted");
  e.Set("name", Napi::String::New(env, "AbortError"));
  e.Set("code", Napi::String::New(env, "ABORT_ERR"));
  return e.Value();
}

// Settles the promise. Every Node-API call here can fail once the environment is being torn down
// (a terminated worker): node-addon-api then throws, and the catch-all below drops the result.
void complete(napi_env env, napi_status status, void* data) {
  std::unique_ptr<Call> c(static_cast<Call*>(data));
  try {
    Napi::Env e(env);
    Napi::HandleScope scope(e);
    napi_value outcome;
    bool ok = false;
    if (status == napi_cancelled || c->work->cancelled()) {
      c->job->aborted();
      outcome = abort_error(e);
    } else if (c->out_of_memory) {
      outcome = Napi::Error::New(e, "not enough memory for this call").Value();
    } else if (!c->error.empty()) {
      outcome = Napi::RangeError::New(e, c->error).Value();
    } else {
      try {
        outcome = c->job->settle(e);
        ok = true;
      } catch (const Napi::Error& err) {
        outcome = err.Value();
      }
    }
    if (ok) {
      napi_resolve_deferred(env, c->deferred, outcome);
    } else {
      napi_reject_deferred(env, c->deferred, outcome);
    }
  } catch (...) {
    // JavaScript can no longer run here: nothing to settle.
  }
  napi_delete_async_work(env, c->async);
  // c's job (its references, pins and scratch) is freed on this thread as it goes out of scope.
}

}  // namespace

Napi::Value queue_async(Napi::Env env, const char* name, std::unique_ptr<AsyncJob> job) {
  auto call = std::make_unique<Call>();
  call->job = std::move(job);
  napi_value promise, resource_name;
  NAPI_THROW_IF_FAILED(env, napi_create_promise(env, &call->deferred, &promise), Napi::Value());
  NAPI_THROW_IF_FAILED(env, napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource_name), Napi::Value());
  NAPI_THROW_IF_FAILED(env, napi_create_async_work(env, nullptr, resource_name, execute, complete, call.get(), &call->async),
                       Napi::Value());
  std::shared_ptr<Work> work = call->work;
  Napi::Object control = Napi::Object::New(env);
  control.Set("promise", Napi::Value(env, promise));
  control.Set("cancel", Napi::Function::New(env, [work](const Napi::CallbackInfo& info) {
    work->cancel();
    return info.Env().Undefined();
  }, "cancel"));
  control.Set("progress", Napi::Function::New(env, [work](const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), work->fraction());
  }, "progress"));
  napi_status s = napi_queue_async_work(env, call->async);
  if (s != napi_ok) {
    napi_delete_async_work(env, call->async);
    NAPI_THROW_IF_FAILED(env, s, Napi::Value());
  }
  call.release();  // complete() frees it
  return control;
}

}  // namespace lowbit::napi
