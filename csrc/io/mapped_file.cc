#include "mapped_file.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#ifdef _WIN32
#include "../runtime/win32.h"
#else
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

namespace lowbit::io {

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what, int errno_value = 0) {
  throw FileError(path + ": " + what, errno_value);
}

}  // namespace

#ifdef _WIN32

std::shared_ptr<MappedFile> MappedFile::open(const std::string& path, bool map) {
  int wlen = MultiByteToWideChar(CP_UTF8, 0, path.c_str(), -1, nullptr, 0);
  std::wstring wpath(wlen > 0 ? wlen : 1, L'\0');
  MultiByteToWideChar(CP_UTF8, 0, path.c_str(), -1, &wpath[0], wlen);
  HANDLE file = CreateFileW(wpath.c_str(), GENERIC_READ, FILE_SHARE_READ, nullptr, OPEN_EXISTING,
                            FILE_ATTRIBUTE_NORMAL, nullptr);
  if (file == INVALID_HANDLE_VALUE) {
    const DWORD e = GetLastError();
    // The common ones, in POSIX's numbers (what Node's system error names are keyed by).
    const int posix = e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND ? ENOENT
                      : e == ERROR_ACCESS_DENIED || e == ERROR_SHARING_VIOLATION ? EACCES
                      : e == ERROR_TOO_MANY_OPEN_FILES ? EMFILE
                                                       : EIO;
    fail(path, "cannot open (Windows error " + std::to_string(e) + ")", posix);
  }
  LARGE_INTEGER size;
  if (!GetFileSizeEx(file, &size)) {
    CloseHandle(file);
    fail(path, "cannot read its size", EIO);
  }
  if (static_cast<uint64_t>(size.QuadPart) > SIZE_MAX) {
    CloseHandle(file);
    fail(path, "is larger than this process can address");
  }
  std::shared_ptr<MappedFile> f(new MappedFile());
  f->size_ = static_cast<size_t>(size.QuadPart);
  if (f->size_ == 0) {
    CloseHandle(file);
    return f;
  }
  if (map) {
    HANDLE m = CreateFileMappingW(file, nullptr, PAGE_WRITECOPY, 0, 0, nullptr);
    if (m != nullptr) {
      void* p = MapViewOfFile(m, FILE_MAP_COPY, 0, 0, 0);
      if (p != nullptr) {
        f->data_ = static_cast<uint8_t*>(p);
        f->mapping_ = m;
        f->mapped_ = true;
        CloseHandle(file);
        return f;
      }
      CloseHandle(m);
    }
  }
  f->data_ = static_cast<uint8_t*>(std::malloc(f->size_));
  if (f->data_ == nullptr) {
    CloseHandle(file);
    fail(path, "out of memory reading " + std::to_string(f->size_) + " bytes", ENOMEM);
  }
  size_t done = 0;
  while (done < f->size_) {
    DWORD chunk = static_cast<DWORD>(f->size_ - done > (1u << 30) ? (1u << 30) : f->size_ - done), got = 0;
    if (!ReadFile(file, f->data_ + done, chunk, &got, nullptr) || got == 0) {
      CloseHandle(file);
      fail(path, "read error", EIO);
    }
    done += got;
  }
  CloseHandle(file);
  return f;
}

MappedFile::~MappedFile() {
  if (mapped_) {
    UnmapViewOfFile(data_);
    CloseHandle(mapping_);
  } else {
    std::free(data_);
  }
}

#else

std::shared_ptr<MappedFile> MappedFile::open(const std::string& path, bool map) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    fail(path, std::strerror(e), e);
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    fail(path, std::strerror(e), e);
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    fail(path, "is a directory", EISDIR);
  }
  if (static_cast<uint64_t>(st.st_size) > SIZE_MAX) {
    ::close(fd);
    fail(path, "is larger than this process can address");
  }
  std::shared_ptr<MappedFile> f(new MappedFile());
  f->size_ = static_cast<size_t>(st.st_size);
  if (f->size_ == 0) {
    ::close(fd);
    return f;
  }
  if (map && S_ISREG(st.st_mode)) {
    // Private and writable: a JS view that is written to gets this process's own copy of the page
    // (copy-on-write) instead of a fault; the file never changes.
    void* p = mmap(nullptr, f->size_, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (p != MAP_FAILED) {
      ::close(fd);
      f->data_ = static_cast<uint8_t*>(p);
      f->mapped_ = true;
      return f;
    }
  }
  f->data_ = static_cast<uint8_t*>(std::malloc(f->size_));
  if (f->data_ == nullptr) {
    ::close(fd);
    fail(path, "out of memory reading " + std::to_string(f->size_) + " bytes", ENOMEM);
  }
  size_t done = 0;
  while (done < f->size_) {
    ssize_t got = ::read(fd, f->data_ + done, f->size_ - done);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      int e = got < 0 ? errno : 0;
      ::close(fd);
      fail(path, e ? std::strerror(e) : "file shrank while reading", e ? e : EIO);
    }
    done += static_cast<size_t>(got);
  }
  ::close(fd);
  return f;
}

MappedFile::~MappedFile() {
  if (mapped_) {
    munmap(data_, size_);
  } else {
    std::free(data_);
  }
}

#endif

void MappedFile::release_except(std::vector<std::pair<size_t, size_t>> keep) {
  if (!mapped_ || size_ == 0) return;
#ifdef _WIN32
  SYSTEM_INFO si;
  GetSystemInfo(&si);
  const size_t page = si.dwPageSize;
#else
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
#endif
  std::sort(keep.begin(), keep.end());
  size_t from = 0;  // start of the next gap
  auto drop = [&](size_t a, size_t b) {
    a = (a + page - 1) / page * page;
    b = b / page * page;
    if (a >= b) return;
#ifdef _WIN32
    // On pages that are not locked, VirtualUnlock takes them out of the working set (it then
    // reports ERROR_NOT_LOCKED, which is the expected outcome here).
    VirtualUnlock(data_ + a, b - a);
#else
    madvise(data_ + a, b - a, MADV_DONTNEED);
#endif
  };
  for (const auto& [off, len] : keep) {
    if (off > from) drop(from, std::min(off, size_));
    from = std::max(from, std::min(off + len, size_));
  }
  if (from < size_) drop(from, size_);
}

}  // namespace lowbit::io
