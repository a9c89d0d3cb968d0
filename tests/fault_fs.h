// A fault-injecting RocksDB FileSystem for the deterministic simulation (tests/simulation_test.cc): fail or
// short-write a write, fail an fsync, run out of space, lose every unsynced byte at "power loss", flip a byte
// on read. Wraps the real file system: files are real, only the faults are simulated.
#pragma once

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>

namespace minhbach::testing {

class FaultFs : public rocksdb::FileSystemWrapper {
 public:
  FaultFs() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  static const char* kClassName() { return "MinhbachFaultFs"; }
  const char* Name() const override { return kClassName(); }

  // ---- faults (each applies until cleared) ----
  // Writes fail after `bytes` more bytes (the write that crosses the limit is written short, then fails).
  void FailWritesAfter(int64_t bytes, bool no_space) {
    std::lock_guard<std::mutex> g(mu_);
    write_budget_ = bytes;
    no_space_ = no_space;
  }
  void FailSyncs(bool on) { fail_syncs_ = on; }
  // Every read of a table file (.sst) returns its data with one byte flipped.
  void FlipReads(bool on) { flip_reads_ = on; }
  void ClearFaults() {
    std::lock_guard<std::mutex> g(mu_);
    write_budget_ = -1;
    fail_syncs_ = false;
    flip_reads_ = false;
  }
  // Power loss: every file loses what was written after its last successful sync. Call with the DB closed.
  void DropUnsyncedData() {
    std::lock_guard<std::mutex> g(mu_);
    for (auto& [path, f] : files_) {
      std::error_code ec;
      if (std::filesystem::exists(path, ec) && std::filesystem::file_size(path, ec) > f.synced) {
        std::filesystem::resize_file(path, f.synced, ec);
      }
      f.written = f.synced;
    }
  }
  uint64_t injected() const { return injected_; }

  // ---- the wrapped calls ----
  rocksdb::IOStatus NewWritableFile(const std::string& fname, const rocksdb::FileOptions& opts,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override {
    std::unique_ptr<rocksdb::FSWritableFile> base;
    rocksdb::IOStatus s = target()->NewWritableFile(fname, opts, &base, dbg);
    if (!s.ok()) return s;
    {
      std::lock_guard<std::mutex> g(mu_);
      files_[fname] = Tracked{};
    }
    result->reset(new Writable(std::move(base), this, fname));
    return s;
  }

  rocksdb::IOStatus ReopenWritableFile(const std::string& fname, const rocksdb::FileOptions& opts,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                       rocksdb::IODebugContext* dbg) override {
    std::unique_ptr<rocksdb::FSWritableFile> base;
    rocksdb::IOStatus s = target()->ReopenWritableFile(fname, opts, &base, dbg);
    if (!s.ok()) return s;
    {
      std::lock_guard<std::mutex> g(mu_);
      std::error_code ec;
      uint64_t size = std::filesystem::file_size(fname, ec);
      files_[fname] = Tracked{size, size};
    }
    result->reset(new Writable(std::move(base), this, fname));
    return s;
  }

  rocksdb::IOStatus NewRandomAccessFile(const std::string& fname, const rocksdb::FileOptions& opts,
                                        std::unique_ptr<rocksdb::FSRandomAccessFile>* result,
                                        rocksdb::IODebugContext* dbg) override {
    std::unique_ptr<rocksdb::FSRandomAccessFile> base;
    rocksdb::IOStatus s = target()->NewRandomAccessFile(fname, opts, &base, dbg);
    if (!s.ok()) return s;
    bool table = fname.size() > 4 && fname.compare(fname.size() - 4, 4, ".sst") == 0;
    if (table) result->reset(new Readable(std::move(base), this));
    else *result = std::move(base);
    return s;
  }

  rocksdb::IOStatus RenameFile(const std::string& src, const std::string& dst, const rocksdb::IOOptions& opts,
                               rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->RenameFile(src, dst, opts, dbg);
    if (s.ok()) {
      std::lock_guard<std::mutex> g(mu_);
      auto it = files_.find(src);
      if (it != files_.end()) {
        files_[dst] = it->second;
        files_.erase(it);
      }
    }
    return s;
  }

  rocksdb::IOStatus DeleteFile(const std::string& fname, const rocksdb::IOOptions& opts,
                               rocksdb::IODebugContext* dbg) override {
    {
      std::lock_guard<std::mutex> g(mu_);
      files_.erase(fname);
    }
    return target()->DeleteFile(fname, opts, dbg);
  }

 private:
  struct Tracked {
    uint64_t written = 0, synced = 0;
  };

  // How much of a write of n bytes may go through (n = all); counts it against the budget.
  size_t Admit(size_t n, bool* fail, bool* no_space) {
    std::lock_guard<std::mutex> g(mu_);
    *fail = false;
    *no_space = no_space_;
    if (write_budget_ < 0) return n;
    if (static_cast<int64_t>(n) <= write_budget_) {
      write_budget_ -= static_cast<int64_t>(n);
      return n;
    }
    size_t allowed = static_cast<size_t>(write_budget_);
    write_budget_ = 0;
    *fail = true;
    ++injected_;
    return allowed;
  }

  class Writable : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    Writable(std::unique_ptr<rocksdb::FSWritableFile>&& t, FaultFs* fs, std::string name)
        : FSWritableFileOwnerWrapper(std::move(t)), fs_(fs), name_(std::move(name)) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
      bool fail = false, no_space = false;
      size_t n = fs_->Admit(data.size(), &fail, &no_space);
      if (n > 0) {
        rocksdb::IOStatus s = target()->Append(rocksdb::Slice(data.data(), n), o, dbg);
        if (!s.ok()) return s;
        std::lock_guard<std::mutex> g(fs_->mu_);
        fs_->files_[name_].written += n;
      }
      if (fail) {
        return no_space ? rocksdb::IOStatus::NoSpace("injected: no space left on device")
                        : rocksdb::IOStatus::IOError("injected write error");
      }
      return rocksdb::IOStatus::OK();
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o, const rocksdb::DataVerificationInfo&,
                             rocksdb::IODebugContext* dbg) override {
      return Append(data, o, dbg);
    }
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override { return DoSync(o, dbg, false); }
    rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override { return DoSync(o, dbg, true); }
    rocksdb::IOStatus RangeSync(uint64_t, uint64_t, const rocksdb::IOOptions&, rocksdb::IODebugContext*) override {
      return rocksdb::IOStatus::OK();  // a hint only; durability comes from Sync
    }

   private:
    rocksdb::IOStatus DoSync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg, bool full) {
      if (fs_->fail_syncs_) {
        ++fs_->injected_;
        return rocksdb::IOStatus::IOError("injected fsync failure");
      }
      rocksdb::IOStatus s = full ? target()->Fsync(o, dbg) : target()->Sync(o, dbg);
      if (s.ok()) {
        std::lock_guard<std::mutex> g(fs_->mu_);
        auto& f = fs_->files_[name_];
        f.synced = f.written;
      }
      return s;
    }
    FaultFs* fs_;
    std::string name_;
  };

  class Readable : public rocksdb::FSRandomAccessFileOwnerWrapper {
   public:
    Readable(std::unique_ptr<rocksdb::FSRandomAccessFile>&& t, FaultFs* fs)
        : FSRandomAccessFileOwnerWrapper(std::move(t)), fs_(fs) {}
    rocksdb::IOStatus Read(uint64_t offset, size_t n, const rocksdb::IOOptions& o, rocksdb::Slice* result, char* scratch,
                           rocksdb::IODebugContext* dbg) const override {
      rocksdb::IOStatus s = target()->Read(offset, n, o, result, scratch, dbg);
      if (s.ok() && fs_->flip_reads_ && result->size() > 0) {
        if (result->data() != scratch) {  // mmap'd reads point elsewhere: copy before changing a byte
          std::memcpy(scratch, result->data(), result->size());
          *result = rocksdb::Slice(scratch, result->size());
        }
        scratch[result->size() / 2] ^= 0x20;
        ++fs_->injected_;
      }
      return s;
    }
    rocksdb::IOStatus MultiRead(rocksdb::FSReadRequest* reqs, size_t num, const rocksdb::IOOptions& o,
                                rocksdb::IODebugContext* dbg) override {
      for (size_t i = 0; i < num; ++i) {
        reqs[i].status = Read(reqs[i].offset, reqs[i].len, o, &reqs[i].result, reqs[i].scratch, dbg);
      }
      return rocksdb::IOStatus::OK();
    }

   private:
    FaultFs* fs_;
  };

  std::mutex mu_;
  std::map<std::string, Tracked> files_;
  int64_t write_budget_ = -1;  // -1: unlimited
  bool no_space_ = false;
  std::atomic<bool> fail_syncs_{false};
  std::atomic<bool> flip_reads_{false};
  std::atomic<uint64_t> injected_{0};
};

}  // namespace minhbach::testing
