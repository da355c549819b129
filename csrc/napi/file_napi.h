// A mapped (or read) model file held by JS: openGGUF and openSafetensors share it. JS gets an External
// handle; tensor bytes are external ArrayBuffers that each keep the mapping alive, so closing the file
// (or collecting its object) never invalidates a view.
#pragma once

#include <napi.h>

#include <memory>
#include <string>

#include "../io/mapped_file.h"

namespace lowbit::napi {

struct FileHandle {
  std::shared_ptr<io::MappedFile> file;  // null once closed
  std::string path;
};

// The handle behind a fileOpen() result; throws a TypeError naming `fn` for anything else, and an
// Error when the file was closed.
FileHandle& open_file_handle(Napi::Value v, const char* fn);

}  // namespace lowbit::napi
