// Memory that outlives JavaScript's hold on it: the buffers lowbit allocates for JS, and the typed
// arrays an async call reads and writes from a worker thread.
//
// A typed array does not pin its memory: its ArrayBuffer can be detached (structuredClone or
// postMessage with a transfer list), shrunk (a resizable ArrayBuffer) or replaced
// (WebAssembly.Memory.grow) while a worker thread reads it. The rule every async call follows
// (docs/lifetimes.md says it for users):
// - memory lowbit allocated (quantize's outputs, views of mapped files, its own scratch) is used in
//   place; the call holds the native owner, so no JS action can free it;
// - memory of a SharedArrayBuffer is used in place; it can be neither detached nor shrunk, and the
//   call's reference keeps it alive;
// - any other ArrayBuffer is copied when the call starts (inputs) or written to a scratch buffer
//   that is copied back when the call settles (outputs), and only if the array is still whole:
//   an output detached or shrunk meanwhile rejects the call with a TypeError naming it.
// Synchronous calls run no JavaScript between their argument checks and their return, so they use
// every array in place.
#pragma once

#include <napi.h>

#include <cstdint>
#include <memory>
#include <string>

#include "scratch.h"

namespace lowbit::napi {

// Keeps memory alive; what it points to is the owner's business (an allocation, a mapped file).
using Owner = std::shared_ptr<const void>;

// A new zero-filled ArrayBuffer of `bytes` in memory lowbit owns (malloc's alignment). Where the
// runtime refuses external buffers (napi_no_external_buffers_allowed), an ordinary one.
Napi::ArrayBuffer owned_buffer(Napi::Env env, size_t bytes);

// An ArrayBuffer over [p, p + bytes), kept alive by `owner` (e.g. a mapped file). Where the runtime
// refuses external buffers, a copy.
Napi::ArrayBuffer owned_view(Napi::Env env, Owner owner, void* p, size_t bytes);

// A typed array of `n` elements over a new owned_buffer.
Napi::TypedArray owned_array(Napi::Env env, napi_typedarray_type type, size_t n);

// The owner of the memory under `a` when lowbit allocated it, else null.
Owner owner_of(Napi::Env env, napi_value arraybuffer);

// Lets go of lowbit memory behind an ArrayBuffer now rather than when it is collected: removes the wrap
// (its reference to the owner) and detaches the buffer (whose finalizer drops the other). For buffers a
// caller made for itself and no longer needs (the model loader's views of a mapped file: on Windows a
// mapped file cannot be replaced or deleted until the last view is gone). Other buffers are left alone;
// returns whether this one was released.
bool release_owned(Napi::Env env, napi_value arraybuffer);

// The current bytes of a typed array, read afresh (a getter that ran since `a` was first looked at
// may have detached or resized it). Works for SharedArrayBuffer views too.
struct ArrayBytes {
  uint8_t* data = nullptr;
  size_t bytes = 0;
  napi_value buffer = nullptr;  // the ArrayBuffer or SharedArrayBuffer
  bool shared = false;
};
ArrayBytes array_bytes(Napi::TypedArray a);

// One typed array a call reads, writes or both, pinned for the whole call by the rule above.
// Constructed on the JS thread after every argument getter has run; `async` false uses the array
// in place (synchronous calls). Destroyed on the JS thread.
class PinnedArray {
 public:
  enum class Access { kRead, kWrite, kReadWrite };

  PinnedArray() = default;
  // `bytes` is the size the argument checks found; a getter that ran since then and detached or
  // resized `a` makes this a TypeError naming `what`. `fresh`: `a` was made by this call and no
  // JavaScript can reach it before the call settles (a new result), so it is written in place.
  PinnedArray(Napi::TypedArray a, size_t bytes, Access access, bool async, std::string what, bool fresh = false);
  PinnedArray(PinnedArray&&) = default;
  PinnedArray& operator=(PinnedArray&&) = default;

  // The bytes the work reads or writes: the array's own, or the copy.
  void* data() const { return p_; }
  template <typename T>
  T* as() const {
    return static_cast<T*>(p_);
  }
  size_t bytes() const { return bytes_; }
  // The array itself (for a synchronous call, only within the call).
  Napi::TypedArray array() const { return ref_.IsEmpty() ? array_ : ref_.Value(); }

  // On the JS thread when the call settles: copies a scratch output back into the array, or throws
  // a TypeError naming it when it was detached or shrunk meanwhile. Nothing to do for the others.
  void commit(Napi::Env env);

 private:
  Napi::TypedArray array_;                 // synchronous calls: the handle, valid within the call
  Napi::Reference<Napi::TypedArray> ref_;  // async calls: keeps the array (and a SharedArrayBuffer) alive
  Owner owner_;                            // lowbit memory: its native owner
  Scratch scratch_;                        // other memory: the copy the work uses
  void* p_ = nullptr;
  size_t bytes_ = 0;
  Access access_ = Access::kRead;
  std::string what_;
};

}  // namespace lowbit::napi
