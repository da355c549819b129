// cpuInfo / setIsa / setThreads / probe bindings.
#include "../core/cpu_features.h"
#include "../core/dispatch.h"
#include "../core/probe.h"
#include "../core/thread_pool.h"
#include "args.h"
#include "bindings.h"

namespace lowbit::napi {
namespace {

Napi::Array string_array(Napi::Env env, const std::vector<std::string>& v) {
  Napi::Array a = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); ++i) a.Set(static_cast<uint32_t>(i), Napi::String::New(env, v[i]));
  return a;
}

Napi::Value CpuInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("arch", cpu_features().arch);
  o.Set("features", string_array(env, cpu_features().names()));
  o.Set("isa", active_kernels().name);
  o.Set("isas", string_array(env, supported_isas()));
  o.Set("threads", ThreadPool::global().threads());
  return o;
}

Napi::Value SetIsa(const Napi::CallbackInfo& info) {
  if (!info[0].IsString()) throw_type_error(info.Env(), "setIsa: name must be a string (got " + describe(info[0]) + ")");
  std::string err = select_isa(info[0].As<Napi::String>().Utf8Value());
  if (!err.empty()) throw_range_error(info.Env(), "setIsa: " + err);
  return info.Env().Undefined();
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  const int64_t n = to_positive_int(info[0], "setThreads: n");
  if (n > 1024) throw_range_error(info.Env(), "setThreads: n must be at most 1024 (got " + std::to_string(n) + ")");
  Napi::Value opts = info[1];
  int spin = -1;
  if (!opts.IsUndefined()) {
    if (!opts.IsObject() || opts.IsArray() || opts.IsTypedArray()) {
      throw_type_error(info.Env(), "setThreads: options must be an object like { spinMicroseconds: 0 } (got " +
                                       describe(opts) + ")");
    }
    Napi::Object o = opts.As<Napi::Object>();
    reject_unknown_keys(o, {"spinMicroseconds"}, "setThreads");
    Napi::Value s = o.Get("spinMicroseconds");
    if (!s.IsUndefined()) {
      if (!s.IsNumber()) {
        throw_type_error(info.Env(), "setThreads: options.spinMicroseconds must be a number (got " + describe(s) + ")");
      }
      const double v = s.As<Napi::Number>().DoubleValue();
      if (!(v >= 0 && v <= 1e6) || v != static_cast<double>(static_cast<int>(v))) {
        throw_range_error(info.Env(), "setThreads: options.spinMicroseconds must be an integer from 0 to 1000000 (got " +
                                          std::to_string(v) + ")");
      }
      spin = static_cast<int>(v);
    }
  }
  if (spin >= 0) ThreadPool::global().set_spin_us(spin);
  ThreadPool::global().set_threads(static_cast<int>(n));
  return info.Env().Undefined();
}

// probe('bandwidth', bytes?) -> GB/s; probe('fma') -> GFLOP/s; probe('dot') -> GOP/s.
Napi::Value Probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string kind = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  const KernelTable& kt = active_kernels();
  ThreadPool& pool = ThreadPool::global();
  if (kind == "bandwidth") {
    int64_t bytes = info[1].IsUndefined() ? (int64_t{1} << 30) : to_positive_int(info[1], "probe: bytes");
    return Napi::Number::New(env, probe_read_bandwidth(kt, pool, bytes, 5));
  }
  if (kind == "fma") return Napi::Number::New(env, probe_fma_peak(kt, pool, 5));
  if (kind == "dot") return Napi::Number::New(env, probe_dot_peak(kt, pool, 5));
  throw_range_error(env, "probe: kind must be 'bandwidth', 'fma' or 'dot' (got " + describe(info[0]) + ")");
}

}  // namespace

void register_cpu(Napi::Env env, Napi::Object exports) {
  std::string err = init_dispatch_from_env();
  if (!err.empty()) throw_range_error(env, "lowbit: " + err);
  exports.Set("cpuInfo", Napi::Function::New(env, CpuInfo, "cpuInfo"));
  exports.Set("setIsa", Napi::Function::New(env, SetIsa, "setIsa"));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads, "setThreads"));
  exports.Set("probe", Napi::Function::New(env, Probe, "probe"));
}

}  // namespace lowbit::napi
