#include <napi.h>

#include "bindings.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  lowbit::napi::register_cpu(env, exports);
  lowbit::napi::register_quantize(env, exports);
  lowbit::napi::register_matmul(env, exports);
  lowbit::napi::register_formats(env, exports);
  lowbit::napi::register_calibrate(env, exports);
  lowbit::napi::register_prepare(env, exports);
  lowbit::napi::register_file(env, exports);
  lowbit::napi::register_gguf(env, exports);
  lowbit::napi::register_memory(env, exports);
  lowbit::napi::register_llm(env, exports);
  lowbit::napi::register_llm_batch(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(lowbit, Init)
