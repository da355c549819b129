// The model runner's handles, shared by its binding files: type-tagged Externals of a model and a
// session, each released by dispose() (or when collected) once no call in flight holds what it owns.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <napi.h>

#include "../llm/model.h"
#include "args.h"
#include "external_memory.h"

namespace lowbit::napi {

inline const napi_type_tag kModelTag = {0x6c6f77626974a0deULL, 0x51c2e8f4a97b3d10ULL};
inline const napi_type_tag kSessionTag = {0x6c6f77626974a5e5ULL, 0x2f7d90b3c6e1485aULL};

struct ModelHandle {
  std::shared_ptr<const llm::Model> model;  // null once disposed
  ExternalMemory memory;                    // its packed weights, reported to V8
  void release() {
    memory.give_back();
    model.reset();
  }
};

struct SessionHandle {
  std::shared_ptr<llm::Session> session;  // null once disposed
  bool busy = false;                       // an async call holds the session
  ExternalMemory memory;                   // its KV cache, reported to V8
  void release() {
    memory.give_back();
    session.reset();
  }
};

template <typename T>
T* tagged(Napi::Value v, const napi_type_tag& tag, const char* fn, const char* what) {
  bool ok = false;
  if (v.IsExternal()) napi_check_object_type_tag(v.Env(), v, &tag, &ok);
  if (!ok) throw_type_error(v.Env(), std::string(fn) + ": not a " + what + " handle (got " + describe(v) + ")");
  return v.As<Napi::External<T>>().Data();
}

inline ModelHandle& model_handle(Napi::Value v, const char* fn) {
  ModelHandle* h = tagged<ModelHandle>(v, kModelTag, fn, "model");
  if (!h->model) throw Napi::Error::New(v.Env(), "Model: this model was disposed");
  return *h;
}

inline SessionHandle& session_handle(Napi::Value v, const char* fn, bool idle) {
  SessionHandle* h = tagged<SessionHandle>(v, kSessionTag, fn, "session");
  if (!h->session) throw Napi::Error::New(v.Env(), "Session: this session was disposed");
  if (idle && h->busy) {
    throw Napi::Error::New(v.Env(), "Session: an async call is running on this session; await it before the next call");
  }
  return *h;
}

}  // namespace lowbit::napi
