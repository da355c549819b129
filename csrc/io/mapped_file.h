// A whole file, read-only from the file's point of view, as one span of memory: memory-mapped
// copy-on-write (mmap MAP_PRIVATE / MapViewOfFile FILE_MAP_COPY) so that opening a multi-gigabyte
// model reads only the pages that are touched, and a write through a JS view changes this process's
// copy instead of faulting. Where mapping is impossible (or not asked for) the file is read into
// heap memory instead.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace lowbit::io {

// An error opening or reading a file: the path and the OS's words, and its error number as POSIX
// numbers it (Windows errors are mapped to the nearest; 0 when there is none, e.g. a file too large).
struct FileError : std::runtime_error {
  FileError(const std::string& what, int errno_value) : std::runtime_error(what), errno_value(errno_value) {}
  int errno_value;
};

class MappedFile {
 public:
  // Throws FileError.
  static std::shared_ptr<MappedFile> open(const std::string& path, bool map = true);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  uint8_t* mutable_data() { return data_; }
  size_t size() const { return size_; }
  bool mapped() const { return mapped_; }

  // Drops this process's copies of the mapped pages outside the byte ranges `keep` ([offset, offset +
  // length) of the file, any order); a kept range's partial pages stay. A page touched again is read
  // from the file, so this is only for a mapping nothing was written through (a model's own mapping,
  // once its weights were repacked). Nothing happens for a file read into memory.
  void release_except(std::vector<std::pair<size_t, size_t>> keep);

 private:
  MappedFile() = default;
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
#ifdef _WIN32
  void* mapping_ = nullptr;
#endif
};

}  // namespace lowbit::io
