#include "pinned.h"

#include <cstdlib>
#include <cstring>
#include <new>

namespace lowbit::napi {
namespace {

// Marks the ArrayBuffers owned_buffer and owned_view make, so that only their wrapped pointer is
// taken for an Owner (another addon may wrap ArrayBuffers too).
const napi_type_tag kOwnedTag = {0x6c6f77626974a11cULL, 0x3e9d5b2c71f04a86ULL};


void check(Napi::Env env, napi_status s) {
  if (s != napi_ok) NAPI_THROW_VOID(Napi::Error::New(env));
}

// Wraps an external ArrayBuffer over `p` whose memory `owner` keeps alive: the buffer's finalizer
// and the wrap each hold a reference, so neither the buffer's collection nor any detach frees the
// memory while an async call holds a third.
Napi::ArrayBuffer external(Napi::Env env, const Owner& owner, void* p, size_t bytes, bool* refused) {
  auto* hold = new Owner(owner);
  napi_value ab;
  napi_status s = napi_create_external_arraybuffer(
      env, p, bytes, [](napi_env, void*, void* hint) { delete static_cast<Owner*>(hint); }, hold, &ab);
  if (s != napi_ok) {
    delete hold;
    // Some runtimes refuse external buffers (napi_no_external_buffers_allowed): the caller copies.
    if (s == napi_no_external_buffers_allowed) {
      *refused = true;
      return Napi::ArrayBuffer();
    }
    check(env, s);
  }
  check(env, napi_type_tag_object(env, ab, &kOwnedTag));
  auto* wrapped = new Owner(owner);
  s = napi_wrap(env, ab, wrapped, [](napi_env, void* data, void*) { delete static_cast<Owner*>(data); }, nullptr,
                nullptr);
  if (s != napi_ok) {
    delete wrapped;
    check(env, s);
  }
  return Napi::ArrayBuffer(env, ab);
}

}  // namespace

Napi::ArrayBuffer owned_buffer(Napi::Env env, size_t bytes) {
  // Zero bytes: V8 gives external buffers of length 0 no backing store, nothing to own.
  if (bytes == 0) return Napi::ArrayBuffer::New(env, 0);
  // calloc, not new + memset: large blocks come zeroed from the OS, so their pages are touched only
  // when the work writes them, off the JS thread.
  std::shared_ptr<uint8_t> mem(static_cast<uint8_t*>(std::calloc(bytes, 1)), [](uint8_t* p) { std::free(p); });
  if (!mem) throw std::bad_alloc();
  bool refused = false;
  Napi::ArrayBuffer ab = external(env, mem, mem.get(), bytes, &refused);
  return refused ? Napi::ArrayBuffer::New(env, bytes) : ab;
}

bool release_owned(Napi::Env env, napi_value ab) {
  bool tagged = false;
  if (napi_check_object_type_tag(env, ab, &kOwnedTag, &tagged) != napi_ok || !tagged) return false;
  void* data = nullptr;
  if (napi_remove_wrap(env, ab, &data) == napi_ok) delete static_cast<Owner*>(data);
  // External buffers are detachable; one already detached answers with an error, which changes nothing.
  napi_detach_arraybuffer(env, ab);
  return true;
}

Napi::ArrayBuffer owned_view(Napi::Env env, Owner owner, void* p, size_t bytes) {
  if (bytes == 0) return Napi::ArrayBuffer::New(env, 0);
  bool refused = false;
  Napi::ArrayBuffer ab = external(env, owner, p, bytes, &refused);
  if (!refused) return ab;
  Napi::ArrayBuffer copy = Napi::ArrayBuffer::New(env, bytes);
  std::memcpy(copy.Data(), p, bytes);
  return copy;
}

Napi::TypedArray owned_array(Napi::Env env, napi_typedarray_type type, size_t n) {
  size_t elem = 1;
  switch (type) {
    case napi_int16_array:
    case napi_uint16_array: elem = 2; break;
    case napi_int32_array:
    case napi_uint32_array:
    case napi_float32_array: elem = 4; break;
    case napi_float64_array:
    case napi_bigint64_array:
    case napi_biguint64_array: elem = 8; break;
    default: break;
  }
  Napi::ArrayBuffer ab = owned_buffer(env, n * elem);
  napi_value out;
  check(env, napi_create_typedarray(env, type, n, ab, 0, &out));
  return Napi::TypedArray(env, out);
}

Owner owner_of(Napi::Env env, napi_value arraybuffer) {
  bool tagged = false;
  if (napi_check_object_type_tag(env, arraybuffer, &kOwnedTag, &tagged) != napi_ok || !tagged) return nullptr;
  void* data = nullptr;
  if (napi_unwrap(env, arraybuffer, &data) != napi_ok || data == nullptr) return nullptr;
  return *static_cast<Owner*>(data);
}

ArrayBytes array_bytes(Napi::TypedArray a) {
  ArrayBytes r;
  napi_env env = a.Env();
  napi_typedarray_type type;
  size_t length = 0, offset = 0;
  void* data = nullptr;
  check(a.Env(), napi_get_typedarray_info(env, a, &type, &length, &data, &r.buffer, &offset));
  r.data = static_cast<uint8_t*>(data);
  r.bytes = length * a.ElementSize();
  bool plain = false;
  check(a.Env(), napi_is_arraybuffer(env, r.buffer, &plain));
  // A typed array's buffer is an ArrayBuffer or a SharedArrayBuffer; Node-API names only the first.
  r.shared = !plain;
  return r;
}

PinnedArray::PinnedArray(Napi::TypedArray a, size_t bytes, Access access, bool async, std::string what, bool fresh)
    : access_(access), what_(std::move(what)) {
  Napi::Env env = a.Env();
  const ArrayBytes b = array_bytes(a);
  if (b.bytes != bytes || (bytes > 0 && b.data == nullptr)) {
    throw Napi::TypeError::New(env, what_ + " was detached or resized while the arguments were read (" +
                                        std::to_string(b.bytes) + " bytes, " + std::to_string(bytes) + " before)");
  }
  bytes_ = b.bytes;
  p_ = b.data;
  if (!async) {
    array_ = a;
    return;
  }
  ref_ = Napi::Persistent(a);
  if (fresh || b.shared || bytes_ == 0) return;
  owner_ = owner_of(env, b.buffer);
  if (owner_) return;
  scratch_ = take_scratch(bytes_);
  if (access != Access::kWrite) std::memcpy(scratch_.get(), b.data, bytes_);
  p_ = scratch_.get();
}

void PinnedArray::commit(Napi::Env env) {
  if (!scratch_ || access_ == Access::kRead) return;
  const ArrayBytes b = array_bytes(ref_.Value());
  if (b.data == nullptr || b.bytes < bytes_) {
    throw Napi::TypeError::New(env, what_ + " was detached or shrunk while the call ran (" + std::to_string(b.bytes) +
                                        " of its " + std::to_string(bytes_) + " bytes left); its result was discarded");
  }
  std::memcpy(b.data, scratch_.get(), bytes_);
}

}  // namespace lowbit::napi
