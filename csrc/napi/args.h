// Argument checks and conversions shared by the bindings. Every check throws a
// TypeError (wrong kind of value) or RangeError (right kind, bad value) whose
// message names the function, the argument and what is allowed.
#pragma once

#include <napi.h>

#include <initializer_list>
#include <string>

#include "../core/layout.h"

namespace lowbit::napi {

[[noreturn]] void throw_type_error(Napi::Env env, const std::string& msg);
[[noreturn]] void throw_range_error(Napi::Env env, const std::string& msg);

// "a Float64Array", "an Array", "a string", "undefined", ...
std::string describe(Napi::Value v);

// A positive safe integer, e.g. a matrix dimension.
int64_t to_positive_int(Napi::Value v, const std::string& what);

Napi::Float32Array to_float32_array(Napi::Value v, const std::string& what);
Napi::Uint8Array to_uint8_array(Napi::Value v, const std::string& what);

// Throws a RangeError naming the first NaN/Infinity of `a`.
void require_finite(Napi::Float32Array a, const std::string& what);

// Throws a RangeError for an own key of `o` not in `allowed` ("<fn>: unknown option ...").
void reject_unknown_keys(Napi::Object o, std::initializer_list<const char*> allowed, const std::string& fn);

// Rows of a row-major x with `cols` columns; x.length must be a positive multiple of cols.
// `what` names x ("matmul: x"), `cols_name` the column count ("w.cols").
int64_t rows_of(Napi::Float32Array x, int64_t cols, const std::string& what, const std::string& cols_name);

// The result array: `v` itself when given (a Float32Array of length n), else a new one (`fresh`
// says which). `need` says what n is, e.g. "m * w.rows (2 * 8)".
Napi::Float32Array output_array(Napi::Env env, Napi::Value v, int64_t n, const std::string& what,
                                const std::string& need, bool* fresh = nullptr);

// Throws a RangeError when `out` shares memory with any of `inputs` (empty ones are skipped);
// `names` says what the inputs are ("x or w").
void check_no_alias(Napi::TypedArray out, std::initializer_list<Napi::TypedArray> inputs, const std::string& what,
                    const std::string& names);

// Parses quantize()'s options for a rows x cols matrix.
QuantLayout parse_quantize_options(Napi::Value opts, int64_t rows, int64_t cols, const std::string& fn);

// A QuantizedMatrix argument: its layout, its buffers, and a view of their bytes that is valid
// until JavaScript runs again (a later getter may detach them: pin them with PinnedQMatrix).
struct QMatrixArg {
  QMatrixView view;
  Napi::TypedArray data, scales, zeros;  // zeros empty for the symmetric scheme
};

// Validates a QuantizedMatrix object. Types, shapes, lengths and the format's rules
// are always checked; with check_values, every scale (finite, >= 0) and zero-point
// (<= the largest code) too. matmul skips the value scan: it would read an extra byte
// per 8-32 weights on every call, and values cannot make a kernel misbehave,
// only give the results they imply.
QMatrixArg parse_qmatrix(Napi::Value v, const std::string& what, bool check_values = true);

}  // namespace lowbit::napi
