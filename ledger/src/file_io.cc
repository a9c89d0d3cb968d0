#include "file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace minhbach {

Status ErrnoStatus(const std::string& what) { return Status::IOError(what + ": " + std::strerror(errno)); }

Status WriteAllAt(int fd, const char* p, size_t n, uint64_t off, const std::string& path) {
  while (n > 0) {
    const ssize_t r = ::pwrite(fd, p, n, static_cast<off_t>(off));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return ErrnoStatus("writing " + path);
    p += r, n -= static_cast<size_t>(r), off += static_cast<uint64_t>(r);
  }
  return Status::Ok();
}

Status ReadAllAt(int fd, char* p, size_t n, uint64_t off, const std::string& path) {
  while (n > 0) {
    const ssize_t r = ::pread(fd, p, n, static_cast<off_t>(off));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return ErrnoStatus("reading " + path);
    if (r == 0) return Status::Corruption(path + " ends before byte " + std::to_string(off + n));
    p += r, n -= static_cast<size_t>(r), off += static_cast<uint64_t>(r);
  }
  return Status::Ok();
}

Status WriteAll(int fd, std::string_view s, const std::string& path) {
  while (!s.empty()) {
    const ssize_t w = ::write(fd, s.data(), s.size());
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return ErrnoStatus("writing " + path);
    s.remove_prefix(static_cast<size_t>(w));
  }
  return Status::Ok();
}

Status SyncData(int fd, const std::string& path) {
  return ::fdatasync(fd) == 0 ? Status::Ok() : ErrnoStatus("syncing " + path);
}

Status SyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("opening " + dir);
  const int r = ::fsync(fd);
  const int e = errno;
  ::close(fd);
  errno = e;
  return r == 0 ? Status::Ok() : ErrnoStatus("syncing " + dir);
}

namespace {

Status WriteSynced(const std::string& path, std::string_view content, mode_t mode, int flags) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | flags, mode);
  if (fd < 0) return ErrnoStatus("creating " + path);
  Status s = WriteAll(fd, content, path);
  if (s.ok() && ::fchmod(fd, mode) != 0) s = ErrnoStatus("chmod " + path);
  if (s.ok() && ::fsync(fd) != 0) s = ErrnoStatus("syncing " + path);
  ::close(fd);
  return s;
}

std::string Parent(const std::string& path) {
  const std::string p = std::filesystem::path(path).parent_path().string();
  return p.empty() ? "." : p;
}

}  // namespace

Status WriteNewFileDurably(const std::string& path, std::string_view content, mode_t mode) {
  MB_RETURN_IF_ERROR(WriteSynced(path, content, mode, O_EXCL));
  return SyncDir(Parent(path));
}

Status ReplaceFileDurably(const std::string& path, std::string_view content, mode_t mode) {
  const std::string tmp = path + ".tmp";
  MB_RETURN_IF_ERROR(WriteSynced(tmp, content, mode, O_TRUNC));
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return ErrnoStatus("renaming " + tmp);
  return SyncDir(Parent(path));
}

}  // namespace minhbach
