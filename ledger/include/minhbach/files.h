// The file system under the files the ledger keeps beside RocksDB (the vault, the anchor, the keys, the access
// journal). One interface, two implementations: the real one (POSIX, ledger/src/file_io.cc) and the simulation's
// (tests/sim_fs.h: files in memory with injected faults, so that a simulation seed never touches a disk). The
// durability rules live here once: every write is whole or an error, and "durable" means synced, with the folder
// synced when a name changes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "minhbach/status.h"

namespace minhbach {

class File {
 public:
  virtual ~File() = default;
  // Writes `count` pieces one after another from byte `off` (all of them, or an error; not synced).
  virtual Status WriteAt(uint64_t off, const std::string_view* pieces, size_t count) = 0;
  Status WriteAt(uint64_t off, std::string_view bytes) { return WriteAt(off, &bytes, 1); }
  // Reads exactly `n` bytes at `off`; a read that meets the end is Corruption naming the file and byte.
  virtual Status ReadAt(uint64_t off, char* p, size_t n) const = 0;
  // Writes at the end of the file (the file must be opened with OpenMode::kAppend).
  virtual Status Append(std::string_view bytes) = 0;
  virtual Result<uint64_t> Size() const = 0;
  virtual Status Truncate(uint64_t size) = 0;
  // Makes every byte written so far durable (fdatasync).
  virtual Status Sync() = 0;
  // An exclusive advisory lock, held until the file is closed (blocks while another process holds it).
  virtual Status LockExclusive() = 0;
  const std::string& path() const { return path_; }

 protected:
  explicit File(std::string path) : path_(std::move(path)) {}

 private:
  std::string path_;
};

enum class OpenMode {
  kRead,    // must exist
  kWrite,   // read and write; must exist
  kCreate,  // read and write; must not exist
  kAppend,  // writes at the end; created when missing
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;
  // `perm` is the mode of a file created.
  virtual Result<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode, unsigned perm = 0600) = 0;
  virtual bool Exists(const std::string& path) = 0;
  // Creates the folder and its missing parents (no error when it exists).
  virtual Status CreateDirs(const std::string& dir) = 0;
  virtual Status Chmod(const std::string& path, unsigned mode) = 0;
  // The permission bits of `path`.
  virtual Result<unsigned> Mode(const std::string& path) = 0;
  // Makes the names created, renamed or removed in `dir` durable.
  virtual Status SyncDir(const std::string& dir) = 0;
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  // Free bytes of the disk holding `dir`.
  virtual Result<uint64_t> FreeBytes(const std::string& dir) = 0;
};

// The real file system.
std::shared_ptr<FileSystem> PosixFileSystem();

// Creates `path` (which must not exist) with `content` and `mode`, synced, and syncs its folder.
Status WriteNewFileDurably(FileSystem& fs, const std::string& path, std::string_view content, unsigned mode);
// Replaces `path` with `content` (write to path.tmp, sync, rename over, sync the folder).
Status ReplaceFileDurably(FileSystem& fs, const std::string& path, std::string_view content, unsigned mode);
// The whole of a file of at most `max_bytes` (larger is InvalidArgument).
Result<std::string> ReadWholeFile(FileSystem& fs, const std::string& path, uint64_t max_bytes);
// The folder holding `path` ("." for a bare name).
std::string ParentDir(const std::string& path);

}  // namespace minhbach
