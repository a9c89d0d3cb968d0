#include "minhbach/projections.h"

#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <unordered_map>

namespace minhbach {
namespace {

constexpr const char* kFormatKey = "format";
constexpr const char* kFormat = "minhbach-projections-9";  // 3: donor trace, programme reports, statements; 4: no x/ dx/; 5: history rows split by U+001F; 6: statement details; 7: amount index am/
constexpr const char* kPositionKey = "pos";
constexpr uint64_t kFlushEveryEntries = 32768;  // bounds the dirty-record cache during long catch-ups

std::string BE64(uint64_t v) {
  std::string k(8, '\0');
  for (int i = 0; i < 8; ++i) k[i] = static_cast<char>(v >> (56 - 8 * i));
  return k;
}

uint64_t FromBE64(std::string_view b) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(b[i]);
  return v;
}

bool IsBookkeeping(std::string_view key) { return key == kFormatKey || key == kPositionKey; }

// Records in RocksDB with the changes since the last flush held in memory ("" = deleted).
class RocksKv final : public Kv {
 public:
  std::unique_ptr<rocksdb::DB> db;
  std::unordered_map<std::string, std::string> dirty;

  Result<std::string> Get(const std::string& key) const override {
    auto it = dirty.find(key);
    if (it != dirty.end()) return it->second;
    std::string v;
    rocksdb::Status s = db->Get(rocksdb::ReadOptions(), key, &v);
    if (s.IsNotFound()) return std::string();
    if (!s.ok()) return Status::IOError("reading read model record " + key + ": " + s.ToString());
    return v;
  }

  void Put(const std::string& key, std::string value) override { dirty[key] = std::move(value); }

  // Merges the stored records with the unflushed ones.
  Status Scan(const std::string& prefix, const std::string& start,
              const std::function<bool(std::string_view, std::string_view)>& fn) const override {
    const std::string& from = start.empty() ? prefix : start;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
    it->Seek(from);
    // The unflushed records in range, ordered (queries run after a flush, so this is usually empty).
    std::map<std::string_view, std::string_view> pending;
    for (const auto& [k, v] : dirty) {
      if (std::string_view(k).starts_with(prefix) && k >= from) pending.emplace(k, v);
    }
    auto d = pending.begin();
    while (true) {
      bool db_ok = it->Valid() && it->key().starts_with(prefix);
      bool d_ok = d != pending.end();
      if (!db_ok && !d_ok) break;
      std::string_view key, value;
      if (d_ok && (!db_ok || std::string_view(d->first) <= std::string_view(it->key().data(), it->key().size()))) {
        if (db_ok && std::string_view(d->first) == std::string_view(it->key().data(), it->key().size())) it->Next();
        key = d->first;
        value = d->second;
        ++d;
      } else {
        std::string k = it->key().ToString(), v = it->value().ToString();  // valid only until Next()
        it->Next();
        if (IsBookkeeping(k)) continue;
        if (!fn(k, v)) return Status::Ok();
        continue;
      }
      if (value.empty() || IsBookkeeping(key)) continue;
      if (!fn(key, value)) return Status::Ok();
    }
    if (!it->status().ok()) return Status::IOError("reading read models: " + it->status().ToString());
    return Status::Ok();
  }
};

}  // namespace

class Projections::Impl {
 public:
  ~Impl() {
    if (kv.db) (void)kv.db->Flush(rocksdb::FlushOptions());  // the next open need not replay the WAL
  }
  std::string dir;
  std::shared_ptr<spdlog::logger> log;
  std::function<void(uint64_t, uint64_t)> progress;
  RocksKv kv;
  std::unique_ptr<ReadModels> models;
  const Ledger* ledger = nullptr;
  uint64_t pos = 0;
  Hash pos_leaf{};

  Status OpenDb();
  Status Flush();
  Status CatchUp(const Ledger& ledger);
  Status Wipe();
};

Status Projections::Impl::OpenDb() {
  rocksdb::Options o;
  o.create_if_missing = true;
  o.paranoid_checks = true;
  // Catch-up reads many keys that do not exist yet: a Bloom filter answers those without reading blocks.
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(o, dir, &raw);
  if (!s.ok()) {
    if (s.ToString().find("lock") != std::string::npos) {
      return Status::IOError("read models in " + dir + " are in use by another process: " + s.ToString());
    }
    return Status::IOError("opening read models " + dir + ": " + s.ToString());
  }
  kv.db.reset(raw);
  return Status::Ok();
}

Status Projections::Impl::Flush() {
  MB_RETURN_IF_ERROR(models->Sync());
  // In key order: the memtable's skip list inserts neighbouring keys far faster than scattered ones.
  std::vector<const std::pair<const std::string, std::string>*> sorted;
  sorted.reserve(kv.dirty.size());
  for (const auto& kvp : kv.dirty) sorted.push_back(&kvp);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->first < b->first; });
  rocksdb::WriteBatch wb;
  for (const auto* kvp : sorted) {
    if (kvp->second.empty()) wb.Delete(kvp->first);
    else wb.Put(kvp->first, kvp->second);
  }
  wb.Put(kPositionKey, BE64(pos) + std::string(AsView(pos_leaf)));
  wb.Put(kFormatKey, kFormat);
  rocksdb::Status s = kv.db->Write(rocksdb::WriteOptions(), &wb);
  if (!s.ok()) return Status::IOError("writing read models: " + s.ToString());
  kv.dirty.clear();
  return Status::Ok();
}

Status Projections::Impl::CatchUp(const Ledger& l) {
  const uint64_t total = l.size();
  if (pos >= total) return Status::Ok();
  Status inner;
  uint64_t since_flush = 0;
  const auto t0 = std::chrono::steady_clock::now();
  Status s = l.ScanEntries(pos, total - pos, [&](uint64_t seq, std::string_view bytes) {
    inner = models->Apply(seq, bytes).WithContext("read models, entry " + std::to_string(seq));
    if (!inner.ok()) return false;
    pos = seq + 1;
    pos_leaf = models->last_leaf();
    if (++since_flush == kFlushEveryEntries) {
      since_flush = 0;
      inner = Flush();
      if (!inner.ok()) return false;
    }
    if (progress && (seq & 0xFFFF) == 0xFFFF) progress(seq + 1, total);
    return true;
  });
  MB_RETURN_IF_ERROR(inner);
  MB_RETURN_IF_ERROR(s);
  if (progress) progress(total, total);
  Status flushed = Flush();
  log->debug("read models caught up to {} in {} ms", total,
             std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count());
  return flushed;
}

Status Projections::Impl::Wipe() {
  kv.db.reset();
  kv.dirty.clear();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (ec) return Status::IOError("removing read models " + dir + ": " + ec.message());
  pos = 0;
  pos_leaf = Hash{};
  models->Reset();
  return OpenDb();
}

Projections::Projections(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Projections::~Projections() = default;

Result<std::unique_ptr<Projections>> Projections::Open(const Ledger& ledger, const std::string& dir,
                                                       std::shared_ptr<spdlog::logger> log,
                                                       std::function<void(uint64_t, uint64_t)> progress) {
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->log = std::move(log);
  impl->progress = std::move(progress);
  impl->models = std::make_unique<ReadModels>(impl->kv, [&ledger](uint64_t seq) { return ledger.GetEntry(seq); });
  MB_RETURN_IF_ERROR(impl->OpenDb());
  // Trust the stored position only when it names an entry of this very log; otherwise rebuild.
  bool usable = false;
  std::string format, pos;
  auto* db = impl->kv.db.get();
  if (db->Get(rocksdb::ReadOptions(), kFormatKey, &format).ok() && format == kFormat &&
      db->Get(rocksdb::ReadOptions(), kPositionKey, &pos).ok() && pos.size() == 8 + kHashSize) {
    uint64_t p = FromBE64(pos);
    Hash leaf = HashFromBytes(pos.data() + 8);
    if (p == 0) {
      usable = leaf == Hash{};
    } else if (p <= ledger.size()) {
      auto want = ledger.LeafHash(p - 1);
      usable = want.ok() && *want == leaf;
    }
    if (usable) {
      impl->pos = p;
      impl->pos_leaf = leaf;
    }
  }
  if (!usable) {
    impl->log->info("read models in {} are missing or do not match the log: rebuilding", dir);
    MB_RETURN_IF_ERROR(impl->Wipe());
  }
  Status s = impl->CatchUp(ledger);
  if (s.IsCorruption() && s.message().find("read model record is damaged") != std::string::npos) {
    // A record that cannot be read back: never trusted, rebuilt.
    impl->log->warn("read models could not be caught up ({}): rebuilding", s.ToString());
    MB_RETURN_IF_ERROR(impl->Wipe());
    s = impl->CatchUp(ledger);
  }
  MB_RETURN_IF_ERROR(s);
  impl->progress = nullptr;  // the caller's callback may not outlive this call
  return std::unique_ptr<Projections>(new Projections(std::move(impl)));
}

Status Projections::CatchUp(const Ledger& ledger) { return impl_->CatchUp(ledger); }

Status Projections::Rebuild(const Ledger& ledger, std::function<void(uint64_t, uint64_t)> progress) {
  impl_->progress = std::move(progress);
  Status s = impl_->Wipe();
  if (s.ok()) s = impl_->CatchUp(ledger);
  impl_->progress = nullptr;
  return s;
}

uint64_t Projections::position() const { return impl_->pos; }

const ReadModels& Projections::models() const { return *impl_->models; }

std::map<std::string, std::string> Projections::Dump() const {
  std::map<std::string, std::string> out;
  std::unique_ptr<rocksdb::Iterator> it(impl_->kv.db->NewIterator(rocksdb::ReadOptions()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (IsBookkeeping(std::string_view(it->key().data(), it->key().size()))) continue;
    out[it->key().ToString()] = it->value().ToString();
  }
  return out;
}

Status ReplayInto(const Ledger& ledger, uint64_t size, Kv& kv, const std::function<void(uint64_t, uint64_t)>& progress,
                  ReadModels::Options options) {
  ReadModels models(kv, [&ledger](uint64_t seq) { return ledger.GetEntry(seq); }, options);
  Status inner;
  Status s = ledger.ScanEntries(0, size, [&](uint64_t seq, std::string_view bytes) {
    inner = models.Apply(seq, bytes).WithContext("replaying entry " + std::to_string(seq));
    if (progress && (seq & 0xFFFF) == 0xFFFF) progress(seq + 1, size);
    return inner.ok();
  });
  MB_RETURN_IF_ERROR(inner);
  MB_RETURN_IF_ERROR(s);
  if (progress) progress(size, size);
  return models.Sync();
}

}  // namespace minhbach
