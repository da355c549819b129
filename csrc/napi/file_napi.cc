// fileOpen / fileBytes / fileClose: the mapping primitives lib/io/mapping.ts builds model files on.
#include "file_napi.h"

#include <cerrno>

#include "args.h"
#include "bindings.h"
#include "pinned.h"

namespace lowbit::napi {

namespace {

// Marks the Externals fileOpen makes, so that no other External is taken for a FileHandle.
const napi_type_tag kFileHandleTag = {0x6c6f77626974f11eULL, 0x9a3c5e0d2b4f7a61ULL};

FileHandle* handle_of(Napi::Value v, const char* fn) {
  bool tagged = false;
  if (v.IsExternal()) napi_check_object_type_tag(v.Env(), v, &kFileHandleTag, &tagged);
  if (!tagged) throw_type_error(v.Env(), std::string(fn) + ": not a file handle (got " + describe(v) + ")");
  return v.As<Napi::External<FileHandle>>().Data();
}

// fileOpen(path, map) -> { handle, size, mapped }
Napi::Value Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw_type_error(env, "fileOpen: path must be a string (got " + describe(info[0]) + ")");
  std::string path = info[0].As<Napi::String>();
  bool map = !info[1].IsBoolean() || info[1].As<Napi::Boolean>().Value();
  std::shared_ptr<io::MappedFile> file;
  try {
    file = io::MappedFile::open(path, map);
  } catch (const io::FileError& e) {  // the OS error; lib/core/errors.ts names it from errno
    Napi::Error err = Napi::Error::New(env, e.what());
    if (e.errno_value > 0) err.Set("errno", Napi::Number::New(env, e.errno_value));
    throw err;
  } catch (const std::exception& e) {  // bad_alloc for the read fallback
    Napi::Error err = Napi::Error::New(env, path + ": " + e.what());
    err.Set("errno", Napi::Number::New(env, ENOMEM));
    throw err;
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("size", Napi::Number::New(env, static_cast<double>(file->size())));
  out.Set("mapped", Napi::Boolean::New(env, file->mapped()));
  auto* h = new FileHandle{std::move(file), path};
  auto ext = Napi::External<FileHandle>::New(env, h, [](Napi::Env, FileHandle* p) { delete p; });
  NAPI_THROW_IF_FAILED(env, napi_type_tag_object(env, ext, &kFileHandleTag), Napi::Value());
  out.Set("handle", ext);
  return out;
}

// fileBytes(handle, offset, byteLength) -> ArrayBuffer over [offset, offset + byteLength) of the file,
// holding the mapping alive (lowbit memory: async calls use it in place). The range is checked here, whatever the caller validated.
Napi::Value Bytes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  FileHandle& h = open_file_handle(info[0], "fileBytes");
  if (!info[1].IsNumber() || !info[2].IsNumber()) throw_type_error(env, "fileBytes: offset and byteLength must be numbers");
  double off = info[1].As<Napi::Number>().DoubleValue(), len = info[2].As<Napi::Number>().DoubleValue();
  double size = static_cast<double>(h.file->size());
  if (!(off >= 0 && len > 0 && off <= size && len <= size - off && off == static_cast<double>(static_cast<uint64_t>(off)) &&
        len == static_cast<double>(static_cast<uint64_t>(len))))
    throw_range_error(env, "fileBytes: [" + std::to_string(off) + ", +" + std::to_string(len) + ") is not inside " + h.path +
                               " (" + std::to_string(h.file->size()) + " bytes)");
  uint8_t* p = h.file->mutable_data() + static_cast<size_t>(off);
  return owned_view(env, h.file, p, static_cast<size_t>(len));
}

Napi::Value Close(const Napi::CallbackInfo& info) {
  handle_of(info[0], "fileClose")->file.reset();
  return info.Env().Undefined();
}

}  // namespace

FileHandle& open_file_handle(Napi::Value v, const char* fn) {
  FileHandle* h = handle_of(v, fn);
  if (!h->file) throw Napi::Error::New(v.Env(), h->path + " is closed");
  return *h;
}

void register_file(Napi::Env env, Napi::Object exports) {
  exports.Set("fileOpen", Napi::Function::New(env, Open, "fileOpen"));
  exports.Set("fileBytes", Napi::Function::New(env, Bytes, "fileBytes"));
  exports.Set("fileClose", Napi::Function::New(env, Close, "fileClose"));
}

}  // namespace lowbit::napi
