// The simulation's file system: every file of a ledger (RocksDB's and the vault, anchor and keys beside it) in
// memory, with injected faults, so that a seed of tests/simulation_test.cc never touches a disk (issue 14,
// point 8; TigerBeetle's simulator works the same way).
//
// Faults, each until cleared: a write fails after a budget of bytes (written short, then an I/O error or "no
// space"); every sync fails; reads of table files and of the vault return one byte flipped. PowerLoss() takes
// every file back to what its last successful sync made durable, and every name back to its folder's last
// sync; with `torn`, a random part of each file's unsynced appended bytes survives (a torn last write).
//
// Two halves share the faults: RocksDB's files live in RocksDB's own in-memory file system (rocksdb::NewMemEnv)
// under a fault-injecting wrapper; the files beside the store live in MemFiles, a minhbach::FileSystem.
#pragma once

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>

#include "minhbach/files.h"

namespace minhbach::testing {

// The fault state both halves consult.
class SimFaults {
 public:
  // Whose writes a write fault hits: every file's, RocksDB's only, or only those of the files beside the store.
  enum class Target { kAll, kStore, kBeside };
  void FailWritesAfter(int64_t bytes, bool no_space, Target target = Target::kAll) {
    std::lock_guard<std::mutex> g(mu_);
    write_budget_ = bytes;
    no_space_ = no_space;
    target_ = target;
  }
  void FailSyncs(bool on) { fail_syncs_ = on; }
  // Which reads return one byte flipped: none, the table files (.sst), or the vault's records after its first frame.
  enum class Flip { kNone, kTables, kVault };
  void FlipReads(Flip which) { flip_ = which; }
  void Clear() {
    std::lock_guard<std::mutex> g(mu_);
    write_budget_ = -1;
    fail_syncs_ = false;
    flip_ = Flip::kNone;
  }
  uint64_t injected() const { return injected_; }

  // How much of a write of n bytes may go through (n = all); counts it against the budget. `fail` says the
  // write must then report an error.
  size_t Admit(Target who, size_t n, bool* fail, bool* no_space) {
    std::lock_guard<std::mutex> g(mu_);
    *fail = false;
    *no_space = no_space_;
    if (write_budget_ < 0 || (target_ != Target::kAll && target_ != who)) return n;
    if (static_cast<int64_t>(n) <= write_budget_) {
      write_budget_ -= static_cast<int64_t>(n);
      return n;
    }
    const size_t allowed = static_cast<size_t>(write_budget_);
    write_budget_ = 0;
    *fail = true;
    ++injected_;
    return allowed;
  }
  bool SyncFails() {
    if (!fail_syncs_) return false;
    ++injected_;
    return true;
  }
  // Flips one byte of a read of `n` bytes at `p` of a file of kind `which`, when such reads are to be damaged.
  void MaybeFlip(Flip which, char* p, size_t n) {
    if (flip_ != which || n == 0) return;
    p[n / 2] ^= 0x20;
    ++injected_;
  }
  std::string ErrorText(bool no_space) const { return no_space ? "injected: no space left on device" : "injected write error"; }

 private:
  std::mutex mu_;
  int64_t write_budget_ = -1;  // -1: unlimited
  bool no_space_ = false;
  Target target_ = Target::kAll;
  std::atomic<bool> fail_syncs_{false};
  std::atomic<Flip> flip_{Flip::kNone};
  std::atomic<uint64_t> injected_{0};
};

// How many of `unsynced` bytes a power loss keeps: none, or (torn) a random part.
inline size_t Survivors(size_t unsynced, bool torn, std::mt19937_64& rng) {
  return torn && unsynced > 0 ? static_cast<size_t>(rng() % (unsynced + 1)) : 0;
}

// ---- RocksDB's half: its in-memory file system under the faults ----
class RocksSimFs : public rocksdb::FileSystemWrapper {
 public:
  RocksSimFs(std::shared_ptr<rocksdb::FileSystem> mem, SimFaults* faults) : FileSystemWrapper(std::move(mem)), faults_(faults) {}
  static const char* kClassName() { return "MinhbachSimFs"; }
  const char* Name() const override { return kClassName(); }

  // Every file back to its synced length (plus a torn part of the rest). Call with the DB closed.
  void PowerLoss(bool torn, std::mt19937_64& rng) {
    std::lock_guard<std::mutex> g(mu_);
    for (auto& [path, f] : files_) {
      if (f.written <= f.synced) continue;
      const uint64_t keep = f.synced + Survivors(f.written - f.synced, torn, rng);
      Rewrite(path, keep);
      f.written = f.synced = keep;
    }
  }

  rocksdb::IOStatus NewWritableFile(const std::string& fname, const rocksdb::FileOptions& opts,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result, rocksdb::IODebugContext* dbg) override {
    std::unique_ptr<rocksdb::FSWritableFile> base;
    rocksdb::IOStatus s = target()->NewWritableFile(fname, opts, &base, dbg);  // before `base` is moved
    return Wrap(fname, s, 0, std::move(base), result);
  }

  rocksdb::IOStatus ReopenWritableFile(const std::string& fname, const rocksdb::FileOptions& opts,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result, rocksdb::IODebugContext* dbg) override {
    std::unique_ptr<rocksdb::FSWritableFile> base;
    rocksdb::IOStatus s = target()->ReopenWritableFile(fname, opts, &base, dbg);
    uint64_t size = 0;
    if (s.ok()) (void)target()->GetFileSize(fname, rocksdb::IOOptions(), &size, dbg);
    return Wrap(fname, s, size, std::move(base), result);
  }

  rocksdb::IOStatus NewRandomAccessFile(const std::string& fname, const rocksdb::FileOptions& opts,
                                        std::unique_ptr<rocksdb::FSRandomAccessFile>* result, rocksdb::IODebugContext* dbg) override {
    std::unique_ptr<rocksdb::FSRandomAccessFile> base;
    rocksdb::IOStatus s = target()->NewRandomAccessFile(fname, opts, &base, dbg);
    if (!s.ok()) return s;
    const bool table = fname.size() > 4 && fname.compare(fname.size() - 4, 4, ".sst") == 0;
    if (table) result->reset(new Readable(std::move(base), faults_));
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

  rocksdb::IOStatus DeleteFile(const std::string& fname, const rocksdb::IOOptions& opts, rocksdb::IODebugContext* dbg) override {
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

  // A file opened for writing with `size` bytes already durable, wrapped so that its writes meet the faults.
  rocksdb::IOStatus Wrap(const std::string& fname, rocksdb::IOStatus opened, uint64_t size,
                            std::unique_ptr<rocksdb::FSWritableFile> base, std::unique_ptr<rocksdb::FSWritableFile>* result) {
    if (!opened.ok()) return opened;
    {
      std::lock_guard<std::mutex> g(mu_);
      files_[fname] = Tracked{size, size};
    }
    result->reset(new Writable(std::move(base), this, fname));
    return opened;
  }

  // Replaces the file by its first `keep` bytes (caller holds mu_).
  void Rewrite(const std::string& path, uint64_t keep) {
    std::unique_ptr<rocksdb::FSSequentialFile> in;
    if (!target()->NewSequentialFile(path, rocksdb::FileOptions(), &in, nullptr).ok()) return;
    std::string data(keep, '\0');
    rocksdb::Slice got;
    if (!in->Read(keep, rocksdb::IOOptions(), &got, data.data(), nullptr).ok()) return;
    data.assign(got.data(), got.size());
    in.reset();
    std::unique_ptr<rocksdb::FSWritableFile> out;
    if (!target()->NewWritableFile(path, rocksdb::FileOptions(), &out, nullptr).ok()) return;
    (void)out->Append(data, rocksdb::IOOptions(), nullptr);
    (void)out->Close(rocksdb::IOOptions(), nullptr);
  }

  class Writable : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    Writable(std::unique_ptr<rocksdb::FSWritableFile>&& t, RocksSimFs* fs, std::string name)
        : FSWritableFileOwnerWrapper(std::move(t)), fs_(fs), name_(std::move(name)) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
      bool fail = false, no_space = false;
      const size_t n = fs_->faults_->Admit(SimFaults::Target::kStore, data.size(), &fail, &no_space);
      if (n > 0) {
        rocksdb::IOStatus s = target()->Append(rocksdb::Slice(data.data(), n), o, dbg);
        if (!s.ok()) return s;
        std::lock_guard<std::mutex> g(fs_->mu_);
        fs_->files_[name_].written += n;
      }
      if (!fail) return rocksdb::IOStatus::OK();
      return no_space ? rocksdb::IOStatus::NoSpace(fs_->faults_->ErrorText(true))
                      : rocksdb::IOStatus::IOError(fs_->faults_->ErrorText(false));
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o, const rocksdb::DataVerificationInfo&,
                             rocksdb::IODebugContext* dbg) override {
      return Append(data, o, dbg);
    }
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override { return DoSync(o, dbg); }
    rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override { return DoSync(o, dbg); }
    rocksdb::IOStatus RangeSync(uint64_t, uint64_t, const rocksdb::IOOptions&, rocksdb::IODebugContext*) override {
      return rocksdb::IOStatus::OK();  // a hint only; durability comes from Sync
    }

   private:
    rocksdb::IOStatus DoSync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) {
      if (fs_->faults_->SyncFails()) return rocksdb::IOStatus::IOError("injected fsync failure");
      rocksdb::IOStatus s = target()->Fsync(o, dbg);
      if (s.ok()) {
        std::lock_guard<std::mutex> g(fs_->mu_);
        auto& f = fs_->files_[name_];
        f.synced = f.written;
      }
      return s;
    }
    RocksSimFs* fs_;
    std::string name_;
  };

  class Readable : public rocksdb::FSRandomAccessFileOwnerWrapper {
   public:
    Readable(std::unique_ptr<rocksdb::FSRandomAccessFile>&& t, SimFaults* faults)
        : FSRandomAccessFileOwnerWrapper(std::move(t)), faults_(faults) {}
    rocksdb::IOStatus Read(uint64_t offset, size_t n, const rocksdb::IOOptions& o, rocksdb::Slice* result, char* scratch,
                           rocksdb::IODebugContext* dbg) const override {
      rocksdb::IOStatus s = target()->Read(offset, n, o, result, scratch, dbg);
      if (s.ok() && result->size() > 0) {
        if (result->data() != scratch) {  // reads that point elsewhere: copy before a byte may change
          std::memmove(scratch, result->data(), result->size());
          *result = rocksdb::Slice(scratch, result->size());
        }
        faults_->MaybeFlip(SimFaults::Flip::kTables, scratch, result->size());
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
    SimFaults* faults_;
  };

  SimFaults* faults_;
  std::mutex mu_;
  std::map<std::string, Tracked> files_;
};

// ---- the other half: the files beside the store ----
class MemFiles : public FileSystem {
 public:
  explicit MemFiles(SimFaults* faults) : faults_(faults) {}

  Result<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode, unsigned perm) override {
    std::lock_guard<std::mutex> g(mu_);
    auto it = live_.find(path);
    const bool exists = it != live_.end();
    if (!exists && (mode == OpenMode::kRead || mode == OpenMode::kWrite)) {
      return Status::IOError("opening " + path + ": No such file or directory");
    }
    if (exists && mode == OpenMode::kCreate) return Status::IOError("opening " + path + ": File exists");
    if (!dirs_.count(ParentDir(path))) return Status::IOError("opening " + path + ": No such file or directory");
    if (!exists) {
      auto node = std::make_shared<Node>();
      node->mode = perm;
      it = live_.emplace(path, std::move(node)).first;
    }
    return std::unique_ptr<File>(new MemFile(path, it->second, this, mode == OpenMode::kRead));
  }
  bool Exists(const std::string& path) override {
    std::lock_guard<std::mutex> g(mu_);
    return live_.count(path) > 0 || dirs_.count(path) > 0;
  }
  Status CreateDirs(const std::string& dir) override {
    std::lock_guard<std::mutex> g(mu_);
    for (std::string d = dir; !d.empty() && d != "/" && d != "."; d = ParentDir(d)) dirs_.insert(d);
    return Status::Ok();
  }
  Status Chmod(const std::string& path, unsigned mode) override {
    std::lock_guard<std::mutex> g(mu_);
    if (auto it = live_.find(path); it != live_.end()) it->second->mode = mode;
    return Status::Ok();
  }
  Result<unsigned> Mode(const std::string& path) override {
    std::lock_guard<std::mutex> g(mu_);
    auto it = live_.find(path);
    if (it == live_.end()) return Status::IOError("reading " + path + ": No such file or directory");
    return it->second->mode;
  }
  Status SyncDir(const std::string& dir) override {
    if (faults_->SyncFails()) return Status::IOError("syncing " + dir + ": injected fsync failure");
    std::lock_guard<std::mutex> g(mu_);
    std::erase_if(durable_, [&](const auto& kv) { return ParentDir(kv.first) == dir && !live_.count(kv.first); });
    for (const auto& [name, node] : live_) {
      if (ParentDir(name) == dir) durable_[name] = node;
    }
    return Status::Ok();
  }
  Status Rename(const std::string& from, const std::string& to) override {
    std::lock_guard<std::mutex> g(mu_);
    auto it = live_.find(from);
    if (it == live_.end()) return Status::IOError("renaming " + from + ": No such file or directory");
    live_[to] = it->second;
    live_.erase(from);
    return Status::Ok();
  }
  Result<uint64_t> FreeBytes(const std::string&) override { return uint64_t{1} << 40; }

  // Every name back to its folder's last sync, every file back to its last sync (torn: plus a random part of
  // what was appended after it). Call with every file closed.
  void PowerLoss(bool torn, std::mt19937_64& rng) {
    std::lock_guard<std::mutex> g(mu_);
    live_ = durable_;
    for (auto& [name, node] : live_) {
      std::string& d = node->data;
      const std::string& s = node->synced;
      const bool appended = d.size() > s.size() && d.compare(0, s.size(), s) == 0;
      const size_t keep = appended ? Survivors(d.size() - s.size(), torn, rng) : 0;
      d = s + d.substr(s.size(), keep);
    }
  }

 private:
  struct Node {
    std::string data, synced;  // what a reader sees; what survives a power loss
    unsigned mode = 0600;
  };

  class MemFile : public File {
   public:
    MemFile(std::string path, std::shared_ptr<Node> node, MemFiles* fs, bool read_only)
        : File(std::move(path)), node_(std::move(node)), fs_(fs), read_only_(read_only) {}
    Status WriteAt(uint64_t off, const std::string_view* pieces, size_t count) override {
      if (read_only_) return Status::IOError("writing " + path() + ": Bad file descriptor");
      size_t n = 0;
      for (size_t i = 0; i < count; ++i) n += pieces[i].size();
      bool fail = false, no_space = false;
      size_t allowed = fs_->faults_->Admit(SimFaults::Target::kBeside, n, &fail, &no_space);
      std::lock_guard<std::mutex> g(fs_->mu_);
      std::string& d = node_->data;
      for (size_t i = 0; i < count && allowed > 0; ++i) {
        const size_t take = std::min(allowed, pieces[i].size());
        if (d.size() < off + take) d.resize(off + take, '\0');
        std::memcpy(d.data() + off, pieces[i].data(), take);
        off += take, allowed -= take;
      }
      return fail ? Status::IOError("writing " + path() + ": " + fs_->faults_->ErrorText(no_space)) : Status::Ok();
    }
    Status ReadAt(uint64_t off, char* p, size_t n) const override {
      std::lock_guard<std::mutex> g(fs_->mu_);
      const std::string& d = node_->data;
      if (off > d.size() || n > d.size() - off) return Status::Corruption(path() + " ends before byte " + std::to_string(off + n));
      std::memcpy(p, d.data() + off, n);
      if (off > 0 && path().ends_with("/records")) fs_->faults_->MaybeFlip(SimFaults::Flip::kVault, p, n);
      return Status::Ok();
    }
    Status Append(std::string_view bytes) override {
      MB_ASSIGN_OR_RETURN(uint64_t end, Size());
      return WriteAt(end, &bytes, 1);
    }
    Result<uint64_t> Size() const override {
      std::lock_guard<std::mutex> g(fs_->mu_);
      return static_cast<uint64_t>(node_->data.size());
    }
    Status Truncate(uint64_t size) override {
      std::lock_guard<std::mutex> g(fs_->mu_);
      node_->data.resize(size, '\0');
      return Status::Ok();
    }
    Status Sync() override {
      if (fs_->faults_->SyncFails()) return Status::IOError("syncing " + path() + ": injected fsync failure");
      std::lock_guard<std::mutex> g(fs_->mu_);
      node_->synced = node_->data;
      return Status::Ok();
    }
    Status LockExclusive() override { return Status::Ok(); }

   private:
    std::shared_ptr<Node> node_;
    MemFiles* fs_;
    bool read_only_;
  };

  SimFaults* faults_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Node>> live_, durable_;  // names now; names as their folders' syncs left them
  std::set<std::string> dirs_;
};

// Both halves over one set of faults.
class SimFs {
 public:
  explicit SimFs(uint64_t seed)
      : rng_(seed),
        mem_env_(rocksdb::NewMemEnv(rocksdb::Env::Default())),
        rocks_(std::make_shared<RocksSimFs>(mem_env_->GetFileSystem(), &faults_)),
        env_(rocksdb::NewCompositeEnv(rocks_)),
        files_(std::make_shared<MemFiles>(&faults_)) {}

  rocksdb::Env* env() { return env_.get(); }
  std::shared_ptr<FileSystem> files() { return files_; }
  SimFaults& faults() { return faults_; }
  // Call with the ledger closed.
  void PowerLoss(bool torn) {
    rocks_->PowerLoss(torn, rng_);
    files_->PowerLoss(torn, rng_);
  }

 private:
  SimFaults faults_;
  std::mt19937_64 rng_;
  std::unique_ptr<rocksdb::Env> mem_env_;
  std::shared_ptr<RocksSimFs> rocks_;
  std::unique_ptr<rocksdb::Env> env_;
  std::shared_ptr<MemFiles> files_;
};

}  // namespace minhbach::testing
