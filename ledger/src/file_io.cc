#include "file_io.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

namespace minhbach {

Status ErrnoStatus(const std::string& what) { return Status::IOError(what + ": " + std::strerror(errno)); }

namespace {

class PosixFile final : public File {
 public:
  PosixFile(std::string path, int fd) : File(std::move(path)), fd_(fd) {}
  ~PosixFile() override { ::close(fd_); }

  // One pwritev per IOV_MAX pieces: a vault frame's payloads are written where they lie, without a copy.
  Status WriteAt(uint64_t off, const std::string_view* pieces, size_t count) override {
    std::vector<iovec> iov(count);
    for (size_t i = 0; i < count; ++i) iov[i] = {const_cast<char*>(pieces[i].data()), pieces[i].size()};
    size_t i = 0;
    while (i < iov.size() && iov[i].iov_len == 0) ++i;
    while (i < iov.size()) {
      const int n = static_cast<int>(std::min<size_t>(iov.size() - i, IOV_MAX));
      const ssize_t r = ::pwritev(fd_, iov.data() + i, n, static_cast<off_t>(off));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return ErrnoStatus("writing " + path());
      off += static_cast<uint64_t>(r);
      for (size_t left = static_cast<size_t>(r); left > 0;) {  // skip what was written, resume a partial piece
        const size_t take = std::min(left, iov[i].iov_len);
        iov[i].iov_base = static_cast<char*>(iov[i].iov_base) + take;
        iov[i].iov_len -= take;
        left -= take;
        if (iov[i].iov_len == 0) ++i;
      }
      while (i < iov.size() && iov[i].iov_len == 0) ++i;
    }
    return Status::Ok();
  }

  Status ReadAt(uint64_t off, char* p, size_t n) const override {
    while (n > 0) {
      const ssize_t r = ::pread(fd_, p, n, static_cast<off_t>(off));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return ErrnoStatus("reading " + path());
      if (r == 0) return Status::Corruption(path() + " ends before byte " + std::to_string(off + n));
      p += r, n -= static_cast<size_t>(r), off += static_cast<uint64_t>(r);
    }
    return Status::Ok();
  }

  Status Append(std::string_view s) override {
    while (!s.empty()) {
      const ssize_t w = ::write(fd_, s.data(), s.size());
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return ErrnoStatus("writing " + path());
      s.remove_prefix(static_cast<size_t>(w));
    }
    return Status::Ok();
  }

  Result<uint64_t> Size() const override {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) return ErrnoStatus("reading " + path());
    return static_cast<uint64_t>(st.st_size);
  }

  Status Truncate(uint64_t size) override {
    return ::ftruncate(fd_, static_cast<off_t>(size)) == 0 ? Status::Ok() : ErrnoStatus("truncating " + path());
  }
  Status Sync() override { return ::fdatasync(fd_) == 0 ? Status::Ok() : ErrnoStatus("syncing " + path()); }
  Status LockExclusive() override {
    return ::flock(fd_, LOCK_EX) == 0 ? Status::Ok() : ErrnoStatus("locking " + path());
  }

 private:
  int fd_;
};

class Posix final : public FileSystem {
 public:
  Result<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode, unsigned perm) override {
    int flags = O_CLOEXEC;
    switch (mode) {
      case OpenMode::kRead: flags |= O_RDONLY; break;
      case OpenMode::kWrite: flags |= O_RDWR; break;
      case OpenMode::kCreate: flags |= O_RDWR | O_CREAT | O_EXCL; break;
      case OpenMode::kAppend: flags |= O_RDWR | O_CREAT | O_APPEND; break;
    }
    const int fd = ::open(path.c_str(), flags, static_cast<mode_t>(perm));
    if (fd < 0) return ErrnoStatus("opening " + path);
    return std::unique_ptr<File>(new PosixFile(path, fd));
  }
  bool Exists(const std::string& path) override {
    std::error_code ec;
    return std::filesystem::exists(path, ec);
  }
  Status CreateDirs(const std::string& dir) override {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    return ec ? Status::IOError("creating " + dir + ": " + ec.message()) : Status::Ok();
  }
  Status Chmod(const std::string& path, unsigned mode) override {
    return ::chmod(path.c_str(), static_cast<mode_t>(mode)) == 0 ? Status::Ok() : ErrnoStatus("chmod " + path);
  }
  Result<unsigned> Mode(const std::string& path) override {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return ErrnoStatus("reading " + path);
    return static_cast<unsigned>(st.st_mode & 07777);
  }
  Status SyncDir(const std::string& dir) override {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("opening " + dir);
    const int r = ::fsync(fd);
    const int e = errno;
    ::close(fd);
    errno = e;
    return r == 0 ? Status::Ok() : ErrnoStatus("syncing " + dir);
  }
  Status Rename(const std::string& from, const std::string& to) override {
    return std::rename(from.c_str(), to.c_str()) == 0 ? Status::Ok() : ErrnoStatus("renaming " + from);
  }
  Result<uint64_t> FreeBytes(const std::string& dir) override {
    struct statvfs st {};
    if (::statvfs(dir.c_str(), &st) != 0) return ErrnoStatus("reading the free space of " + dir);
    return uint64_t{st.f_bavail} * st.f_frsize;
  }
};

Status WriteSynced(FileSystem& fs, const std::string& path, std::string_view content, unsigned mode, OpenMode how) {
  MB_ASSIGN_OR_RETURN(auto f, fs.Open(path, how, mode));
  if (how == OpenMode::kWrite) MB_RETURN_IF_ERROR(f->Truncate(0));
  MB_RETURN_IF_ERROR(f->WriteAt(0, content));
  MB_RETURN_IF_ERROR(fs.Chmod(path, mode));  // whatever the umask made of `mode`
  return f->Sync();
}

}  // namespace

std::shared_ptr<FileSystem> PosixFileSystem() { return std::make_shared<Posix>(); }

std::string ParentDir(const std::string& path) {
  const std::string p = std::filesystem::path(path).parent_path().string();
  return p.empty() ? "." : p;
}

Status WriteNewFileDurably(FileSystem& fs, const std::string& path, std::string_view content, unsigned mode) {
  MB_RETURN_IF_ERROR(WriteSynced(fs, path, content, mode, OpenMode::kCreate));
  return fs.SyncDir(ParentDir(path));
}

Status ReplaceFileDurably(FileSystem& fs, const std::string& path, std::string_view content, unsigned mode) {
  const std::string tmp = path + ".tmp";
  MB_RETURN_IF_ERROR(WriteSynced(fs, tmp, content, mode, fs.Exists(tmp) ? OpenMode::kWrite : OpenMode::kCreate));
  MB_RETURN_IF_ERROR(fs.Rename(tmp, path));
  return fs.SyncDir(ParentDir(path));
}

Result<std::string> ReadWholeFile(FileSystem& fs, const std::string& path, uint64_t max_bytes) {
  MB_ASSIGN_OR_RETURN(auto f, fs.Open(path, OpenMode::kRead));
  MB_ASSIGN_OR_RETURN(uint64_t size, f->Size());
  if (size > max_bytes) {
    return Status::InvalidArgument(path + " holds " + std::to_string(size) + " bytes, more than the " +
                                   std::to_string(max_bytes) + " it can hold");
  }
  std::string s(size, '\0');
  MB_RETURN_IF_ERROR(f->ReadAt(0, s.data(), s.size()));
  return s;
}

}  // namespace minhbach
