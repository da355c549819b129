// QuantizedMatrix arguments pinned for a call, and QuantizedMatrix results built in owned memory.
#pragma once

#include <napi.h>

#include <string>

#include "../core/layout.h"
#include "args.h"
#include "pinned.h"

namespace lowbit::napi {

// q's buffers pinned for one call (pinned.h); view() points into the pins. Construct it after the
// call's last getter has run.
class PinnedQMatrix {
 public:
  PinnedQMatrix() = default;
  PinnedQMatrix(const QMatrixArg& q, bool async, const std::string& what);
  const QMatrixView& view() const { return view_; }

 private:
  QMatrixView view_;
  PinnedArray data_, scales_, zeros_;
};

// A QuantizedMatrix result: data, scales and zero-points allocated in owned memory on the JS thread
// (zero-filled), filled by the work through the pointers, wrapped in the plain object by object().
// Nothing else can reach the buffers until object() hands them out, so the work writes them in place.
class QMatrixOut {
 public:
  QMatrixOut() = default;
  QMatrixOut(Napi::Env env, const QuantLayout& L);

  const QuantLayout& layout() const { return L_; }
  uint8_t* data() const { return data_ptr_; }
  void* scales() const { return scales_ptr_; }
  uint8_t* zeros() const { return zeros_ptr_; }
  float tensor_scale = 1.0f;

  Napi::Object object(Napi::Env env) const;

 private:
  QuantLayout L_;
  Napi::Reference<Napi::TypedArray> data_, scales_, zeros_;
  uint8_t* data_ptr_ = nullptr;
  void* scales_ptr_ = nullptr;
  uint8_t* zeros_ptr_ = nullptr;
};

}  // namespace lowbit::napi
