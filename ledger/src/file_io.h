// Durable file I/O for the files the ledger keeps beside RocksDB (the vault, the anchor, the access journal, the
// keys): every write is whole or an error, and "durable" means synced, with the folder synced when a name
// changes. One place, so that the error texts and the sync rules are the same for every file.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "minhbach/status.h"

namespace minhbach {

// pwrite/pread of all of `n` bytes at `off` (EINTR retried); a read that meets the end is Corruption.
Status WriteAllAt(int fd, const char* p, size_t n, uint64_t off, const std::string& path);
Status ReadAllAt(int fd, char* p, size_t n, uint64_t off, const std::string& path);
// write(2) of all of `s` at the file offset (O_APPEND files).
Status WriteAll(int fd, std::string_view s, const std::string& path);
// fdatasync / fsync, with the path in the error.
Status SyncData(int fd, const std::string& path);
// fsync of a folder, so that names created, renamed or removed in it are durable.
Status SyncDir(const std::string& dir);
// Creates `path` (which must not exist) with `content` and `mode`, synced, and syncs its folder.
Status WriteNewFileDurably(const std::string& path, std::string_view content, mode_t mode);
// Replaces `path` with `content` (write to path.tmp, sync, rename over, sync the folder).
Status ReplaceFileDurably(const std::string& path, std::string_view content, mode_t mode);
// An IOError naming `what` and errno's text.
Status ErrnoStatus(const std::string& what);

}  // namespace minhbach
