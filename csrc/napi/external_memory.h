// Native memory a JavaScript object owns, reported to V8 (napi_adjust_external_memory) so that the
// collector weighs it, and given back exactly once when the object lets go of it (dispose() or its
// finalizer, whichever comes first).
#pragma once

#include <cstdint>

#include <node_api.h>

namespace lowbit::napi {

class ExternalMemory {
 public:
  void report(napi_env env, int64_t bytes) {
    give_back();
    env_ = env;
    bytes_ = bytes;
    int64_t ignored;
    napi_adjust_external_memory(env, bytes, &ignored);
  }

  void give_back() {
    if (bytes_ == 0) return;
    int64_t ignored;
    napi_adjust_external_memory(env_, -bytes_, &ignored);
    bytes_ = 0;
  }

 private:
  napi_env env_ = nullptr;
  int64_t bytes_ = 0;
};

}  // namespace lowbit::napi
