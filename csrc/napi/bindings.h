// Each binding file registers its functions on the module's exports.
#pragma once

#include <napi.h>

namespace lowbit::napi {

void register_quantize(Napi::Env env, Napi::Object exports);
void register_matmul(Napi::Env env, Napi::Object exports);
void register_cpu(Napi::Env env, Napi::Object exports);
void register_formats(Napi::Env env, Napi::Object exports);
void register_calibrate(Napi::Env env, Napi::Object exports);
void register_prepare(Napi::Env env, Napi::Object exports);
void register_file(Napi::Env env, Napi::Object exports);
void register_gguf(Napi::Env env, Napi::Object exports);
void register_memory(Napi::Env env, Napi::Object exports);
void register_llm(Napi::Env env, Napi::Object exports);
void register_llm_batch(Napi::Env env, Napi::Object exports);

}  // namespace lowbit::napi
