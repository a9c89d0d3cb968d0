#include "minhbach/vault.h"

#include <rocksdb/db.h>
#include <rocksdb/file_system.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <cstdlib>
#include <tuple>
#include <cstring>
#include <filesystem>
#include <thread>

#include "ledger_impl.h"

namespace minhbach {
namespace fs = std::filesystem;

// Key layout (docs/format/storage.md "The vault"); every key starts with one tag byte. The records of a batch
// have consecutive keys (by entry), so writing them is an append to the memtable, not a scattered insert.
//   'F'                                  -> kVaultFormat
//   'P'                                  -> the pseudonym secret (32 bytes)
//   'q' seq (8 BE)                       -> the entry's records (EncodeEntryRecords); one subject per entry
//   's' subject 0x00 seq (8 BE)          -> the seqs (8 BE each) of the subject's entries in one batch, the first
//                                           being the key's (one key per subject and batch, not per entry)
//   'h' HMAC(32)                         -> donor id (pseudonym index: PseudonymKey of an account or a name)
//   'n' normalized name 0x00 donor       -> "" (a donor's name, for finding one's own donations)
//   'o' subject 0x00 'h'/'n' key         -> "" (the indexes above that lead to the subject; erasure walks them)
namespace {

constexpr int kReadOnlyOpenAttempts = 50;

std::string Bytes(const Hash& h) { return std::string(reinterpret_cast<const char*>(h.data()), h.size()); }
std::string EntryKey(uint64_t seq) { return "q" + SeqKey(seq); }
std::string SubjectPrefix(const std::string& subject) { return "s" + subject + '\0'; }
std::string OwnedKey(const std::string& subject, const std::string& key) { return "o" + subject + '\0' + key; }

void PutField(std::string* out, std::string_view s) {
  const uint32_t n = static_cast<uint32_t>(s.size());
  char len[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8), static_cast<char>(n)};
  out->append(len, 4);
  out->append(s);
}

bool GetField(std::string_view* in, std::string* out) {
  if (in->size() < 4) return false;
  const auto* b = reinterpret_cast<const unsigned char*>(in->data());
  const uint32_t n = (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
  if (in->size() - 4 < n) return false;
  out->assign(in->data() + 4, n);
  in->remove_prefix(4 + n);
  return true;
}

// subject, then per record: field || salt (32) || value; strings as u32 BE length || bytes. The commitment is not
// stored: it is recomputed from (field, salt, value), so a record can only ever open the commitment it was made for.
void AppendRecord(std::string* out, const VaultRecord& r) {
  PutField(out, r.field);
  out->append(reinterpret_cast<const char*>(r.salt.data()), kSaltBytes);
  PutField(out, r.value);
}

Result<std::vector<VaultRecord>> DecodeEntryRecords(uint64_t seq, std::string_view in) {
  std::vector<VaultRecord> out;
  std::string subject;
  const std::string where = "vault records of entry " + std::to_string(seq);
  if (!GetField(&in, &subject)) return Status::Corruption(where + " are malformed");
  while (!in.empty()) {
    VaultRecord r;
    r.seq = seq;
    r.subject = subject;
    if (!GetField(&in, &r.field) || in.size() < kSaltBytes) return Status::Corruption(where + " are malformed");
    std::memcpy(r.salt.data(), in.data(), kSaltBytes);
    in.remove_prefix(kSaltBytes);
    if (!GetField(&in, &r.value)) return Status::Corruption(where + " are malformed");
    r.commitment = Commitment(r.field, r.salt, r.value);
    out.push_back(std::move(r));
  }
  return out;
}

// The pseudonym and name index keys a donor's name or account record leads to (none for other fields).
std::vector<std::string> IndexKeys(const PseudonymKeyer& keyer, const VaultRecord& r) {
  const bool account = r.field == "donor_registered.account", name = r.field == "donor_registered.name";
  if (!account && !name) return {};
  std::vector<std::string> keys;
  keys.push_back("h" + Bytes(keyer(account ? "account" : "name", account ? NormalizeDigits(r.value) : NormalizeName(r.value))));
  if (name) keys.push_back("n" + NormalizeName(r.value) + '\0' + r.subject);
  return keys;
}

// The vault's files are its owner's alone (mode 0600), whatever the umask: every file RocksDB creates for it is
// chmod-ed as soon as it exists, before anything is written to it.
class OwnerOnlyFs : public rocksdb::FileSystemWrapper {
 public:
  explicit OwnerOnlyFs(const std::shared_ptr<rocksdb::FileSystem>& t) : FileSystemWrapper(t) {}
  const char* Name() const override { return "MinhbachOwnerOnlyFs"; }
  using W = std::unique_ptr<rocksdb::FSWritableFile>;
  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o, W* r,
                                    rocksdb::IODebugContext* d) override {
    return Private(f, target()->NewWritableFile(f, o, r, d));
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& o, W* r,
                                       rocksdb::IODebugContext* d) override {
    return Private(f, target()->ReopenWritableFile(f, o, r, d));
  }
  rocksdb::IOStatus ReuseWritableFile(const std::string& f, const std::string& old, const rocksdb::FileOptions& o, W* r,
                                      rocksdb::IODebugContext* d) override {
    return Private(f, target()->ReuseWritableFile(f, old, o, r, d));
  }
  rocksdb::IOStatus NewRandomRWFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSRandomRWFile>* r, rocksdb::IODebugContext* d) override {
    return Private(f, target()->NewRandomRWFile(f, o, r, d));
  }
  rocksdb::IOStatus NewLogger(const std::string& f, const rocksdb::IOOptions& o, std::shared_ptr<rocksdb::Logger>* r,
                              rocksdb::IODebugContext* d) override {
    return Private(f, target()->NewLogger(f, o, r, d));
  }
  rocksdb::IOStatus LockFile(const std::string& f, const rocksdb::IOOptions& o, rocksdb::FileLock** l,
                             rocksdb::IODebugContext* d) override {
    return Private(f, target()->LockFile(f, o, l, d));
  }

 private:
  static rocksdb::IOStatus Private(const std::string& f, rocksdb::IOStatus s) {
    if (s.ok() && ::chmod(f.c_str(), 0600) != 0) return rocksdb::IOStatus::IOError("chmod 0600 " + f);
    return s;
  }
};

// One environment for every vault of the process (RocksDB keeps a pointer to it).
rocksdb::Env* VaultEnv() {
  static const std::unique_ptr<rocksdb::Env> env =
      rocksdb::NewCompositeEnv(std::make_shared<OwnerOnlyFs>(rocksdb::FileSystem::Default()));
  return env.get();
}

// The subject index records of a batch's records (grouped by seq): one per subject, keyed by its first seq.
std::map<std::string, std::string> SubjectIndex(const std::vector<VaultRecord>& records) {
  std::map<std::string, std::pair<uint64_t, std::string>> by_subject;  // subject -> (first seq, seqs)
  uint64_t last = UINT64_MAX;
  std::string last_subject;
  for (const VaultRecord& r : records) {
    if (r.seq == last && r.subject == last_subject) continue;
    last = r.seq;
    last_subject = r.subject;
    auto [it, fresh] = by_subject.try_emplace(r.subject, r.seq, std::string());
    it->second.second += SeqKey(r.seq);
  }
  std::map<std::string, std::string> out;
  for (auto& [subject, first_seqs] : by_subject) out[SubjectPrefix(subject) + SeqKey(first_seqs.first)] = std::move(first_seqs.second);
  return out;
}

rocksdb::Options VaultOptions() {
  rocksdb::Options o;
  o.paranoid_checks = true;
  o.WAL_ttl_seconds = 0;      // no WAL archive: a flushed WAL is deleted (erasure depends on it)
  o.WAL_size_limit_MB = 0;
  o.keep_log_file_num = 2;
  o.max_manifest_file_size = 4 << 20;
  o.write_buffer_size = 64 << 20;
  rocksdb::BlockBasedTableOptions t;
  t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  return o;
}

}  // namespace

class Vault::Impl {
 public:
  std::string dir;
  std::shared_ptr<spdlog::logger> log;
  std::unique_ptr<rocksdb::DB> db;
  bool read_only = false;
  Hash secret{};
  std::unique_ptr<PseudonymKeyer> keyer;

  Result<std::string> Get(const std::string& key) const {
    std::string v;
    rocksdb::Status s = db->Get(rocksdb::ReadOptions(), key, &v);
    if (s.IsNotFound()) return Status::NotFound("vault key");
    MB_RETURN_IF_ERROR(FromRocks(s, "reading the vault"));
    return v;
  }
  Status Write(rocksdb::WriteBatch* wb, const char* what) {
    if (read_only) return Status::InvalidArgument("the vault was opened read-only");
    rocksdb::WriteOptions wo;
    wo.sync = true;
    return FromRocks(db->Write(wo, wb), what);
  }
  // The entries holding the subject's records, in log order.
  Result<std::vector<uint64_t>> SubjectSeqs(const std::string& subject) const {
    std::vector<uint64_t> seqs;
    const std::string prefix = SubjectPrefix(subject);
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      const rocksdb::Slice v = it->value();
      if (it->key().size() != prefix.size() + 8 || v.size() == 0 || v.size() % 8 != 0) {
        return Status::Corruption("vault: malformed subject index record of '" + subject + "'");
      }
      for (size_t i = 0; i < v.size(); i += 8) seqs.push_back(DecodeBE64(std::string_view(v.data() + i, 8)));
    }
    MB_RETURN_IF_ERROR(FromRocks(it->status(), "reading the vault"));
    return seqs;
  }
  // Every key under `prefix`, suffixes only.
  Result<std::vector<std::string>> Suffixes(const std::string& prefix) const {
    std::vector<std::string> keys;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      keys.push_back(it->key().ToString().substr(prefix.size()));
    }
    MB_RETURN_IF_ERROR(FromRocks(it->status(), "reading the vault"));
    return keys;
  }
  static Result<std::unique_ptr<Impl>> OpenDb(const std::string& ledger_dir, std::shared_ptr<spdlog::logger> log,
                                              bool create, bool read_only);
};

Vault::Vault(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Vault::~Vault() = default;

Result<std::unique_ptr<Vault::Impl>> Vault::Impl::OpenDb(const std::string& ledger_dir, std::shared_ptr<spdlog::logger> log,
                                                         bool create, bool read_only) {
  auto impl = std::make_unique<Impl>();
  impl->dir = (fs::path(ledger_dir) / kVaultDirName).string();
  impl->log = std::move(log);
  impl->read_only = read_only;
  if (create) {
    std::error_code ec;
    if (fs::exists(impl->dir)) return Status::InvalidArgument(impl->dir + " already exists");
    fs::create_directories(impl->dir, ec);
    if (ec) return Status::IOError("creating " + impl->dir + ": " + ec.message());
  } else if (!fs::exists(impl->dir)) {
    return Status::InvalidArgument("no personal-data vault in " + ledger_dir + " (" + impl->dir + " is missing)");
  }
  ::chmod(impl->dir.c_str(), 0700);
  rocksdb::Options o = VaultOptions();
  o.env = VaultEnv();  // files 0600
  o.create_if_missing = create;
  o.error_if_exists = create;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s;
  if (read_only) {
    for (int attempt = 0; attempt < kReadOnlyOpenAttempts; ++attempt) {
      s = rocksdb::DB::OpenForReadOnly(o, impl->dir, &raw);
      if (s.ok() || s.ToString().find("No such file") == std::string::npos) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  } else {
    s = rocksdb::DB::Open(o, impl->dir, &raw);
  }
  MB_RETURN_IF_ERROR(FromRocks(s, "opening the vault " + impl->dir));
  impl->db.reset(raw);
  return impl;
}

Result<std::unique_ptr<Vault>> Vault::Create(const std::string& ledger_dir, std::shared_ptr<spdlog::logger> log) {
  MB_ASSIGN_OR_RETURN(auto impl, Impl::OpenDb(ledger_dir, std::move(log), true, false));
  Salt secret = RandomSalt();
  std::memcpy(impl->secret.data(), secret.data(), kHashSize);
  impl->keyer = std::make_unique<PseudonymKeyer>(impl->secret);
  rocksdb::WriteBatch wb;
  wb.Put("F", kVaultFormat);
  wb.Put("P", rocksdb::Slice(reinterpret_cast<const char*>(secret.data()), secret.size()));
  MB_RETURN_IF_ERROR(impl->Write(&wb, "initialising the vault"));
  return std::unique_ptr<Vault>(new Vault(std::move(impl)));
}

Result<std::unique_ptr<Vault>> Vault::Open(const std::string& ledger_dir, std::shared_ptr<spdlog::logger> log,
                                           bool read_only) {
  MB_ASSIGN_OR_RETURN(auto impl, Impl::OpenDb(ledger_dir, std::move(log), false, read_only));
  auto format = impl->Get("F");
  if (!format.ok() || *format != kVaultFormat) {
    return Status::Corruption("the vault in " + impl->dir + " is not of format " + kVaultFormat);
  }
  auto secret = impl->Get("P");
  if (!secret.ok() || secret->size() != kHashSize) return Status::Corruption("the vault's pseudonym secret is missing");
  std::memcpy(impl->secret.data(), secret->data(), kHashSize);
  impl->keyer = std::make_unique<PseudonymKeyer>(impl->secret);
  return std::unique_ptr<Vault>(new Vault(std::move(impl)));
}

std::string Vault::EncodeEntry(const VaultRecord* records, size_t n) {
  std::string value;
  value.reserve(8 + n * (kSaltBytes + 128));
  PutField(&value, records[0].subject);
  for (size_t i = 0; i < n; ++i) AppendRecord(&value, records[i]);
  return value;
}

Status Vault::Put(const std::vector<VaultRecord>& records, const std::vector<std::string>* encoded) {
  // The batch is written in key order ('h' 'n' 'o' < 'q' < 's'): each memtable insert then lands next to the
  // previous one (RocksDB reuses its skiplist splice) instead of searching from the top (measured: 3x the write).
  std::vector<std::pair<std::string, std::string>> index;  // 'h', 'n', 'o' keys
  std::vector<std::pair<uint64_t, std::string>> entries;   // seq -> EncodeEntry, in log order
  size_t bytes = 0;
  for (size_t i = 0; i < records.size();) {
    const VaultRecord& first = records[i];
    size_t n = 0;
    for (; i + n < records.size() && records[i + n].seq == first.seq; ++n) {
      const VaultRecord& r = records[i + n];
      if (r.subject.empty() || r.subject != first.subject) {
        return Status::Internal("vault records of entry " + std::to_string(r.seq) + " name no subject, or two");
      }
      for (std::string& k : IndexKeys(*impl_->keyer, r)) {
        if (k[0] == 'h') {
          // The first donor registered with an account or name keeps it: a namesake registered later does not
          // take over the earlier donor's recognition (and erasing one cannot unlink the other).
          auto held = impl_->Get(k);
          if (held.ok() && *held != r.subject) continue;
          if (!held.ok() && !held.status().IsNotFound()) return held.status();
        }
        index.emplace_back(OwnedKey(r.subject, k), "");
        std::string v = k[0] == 'h' ? r.subject : std::string();
        index.emplace_back(std::move(k), std::move(v));
      }
    }
    std::string value = encoded ? (*encoded)[entries.size()] : EncodeEntry(&first, n);
    bytes += value.size() + 32;
    entries.emplace_back(first.seq, std::move(value));
    i += n;
  }
  if (encoded && encoded->size() != entries.size()) return Status::Internal("vault: prepared records do not match");
  std::sort(index.begin(), index.end());
  auto subjects = SubjectIndex(records);  // std::map: in key order
  rocksdb::WriteBatch wb(bytes + index.size() * 64 + subjects.size() * 48);
  for (const auto& [k, v] : index) wb.Put(k, v);
  for (const auto& [seq, v] : entries) wb.Put(EntryKey(seq), v);
  for (const auto& [k, v] : subjects) wb.Put(k, v);
  return impl_->Write(&wb, "writing the vault");
}

Status Vault::Remove(const std::vector<VaultRecord>& records) {
  rocksdb::WriteBatch wb;
  for (const auto& [key, seqs] : SubjectIndex(records)) wb.Delete(key);
  for (const VaultRecord& r : records) {
    wb.Delete(EntryKey(r.seq));
    for (const std::string& k : IndexKeys(*impl_->keyer, r)) {
      if (k[0] == 'h') {  // only a link the record's own subject holds (an earlier namesake keeps theirs)
        auto held = impl_->Get(k);
        if (held.ok() && *held != r.subject) continue;
      }
      wb.Delete(k);
      wb.Delete(OwnedKey(r.subject, k));
    }
  }
  return impl_->Write(&wb, "undoing vault records");
}

Result<size_t> Vault::DropFrom(uint64_t size) {
  std::vector<VaultRecord> orphans;
  size_t entries = 0;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(EntryKey(size)); it->Valid() && it->key().starts_with("q"); it->Next()) {
    if (it->key().size() != 9) return Status::Corruption("vault: malformed entry key");
    MB_ASSIGN_OR_RETURN(auto recs, DecodeEntryRecords(DecodeBE64(it->key().ToStringView().substr(1)), it->value().ToStringView()));
    ++entries;
    for (auto& r : recs) orphans.push_back(std::move(r));
  }
  MB_RETURN_IF_ERROR(FromRocks(it->status(), "reading the vault"));
  if (!orphans.empty()) MB_RETURN_IF_ERROR(Remove(orphans));
  return entries;
}

Result<std::vector<VaultRecord>> Vault::ForEntry(uint64_t seq) const {
  auto v = impl_->Get(EntryKey(seq));
  if (!v.ok() && v.status().IsNotFound()) return std::vector<VaultRecord>();
  if (!v.ok()) return v.status();
  return DecodeEntryRecords(seq, *v);
}

Result<std::optional<VaultRecord>> Vault::Get(uint64_t seq, const Hash& commitment) const {
  MB_ASSIGN_OR_RETURN(auto recs, ForEntry(seq));
  for (auto& r : recs) {
    if (r.commitment == commitment) return std::optional<VaultRecord>(std::move(r));
  }
  return std::optional<VaultRecord>();
}

Status Vault::VisitSubject(const std::string& subject, const std::function<bool(VaultRecord&&)>& fn) const {
  MB_ASSIGN_OR_RETURN(auto seqs, impl_->SubjectSeqs(subject));
  for (uint64_t seq : seqs) {
    MB_ASSIGN_OR_RETURN(auto recs, ForEntry(seq));
    for (auto& r : recs) {
      if (!fn(std::move(r))) return Status::Ok();
    }
  }
  return Status::Ok();
}

Result<std::vector<VaultRecord>> Vault::ForSubject(const std::string& subject) const {
  std::vector<VaultRecord> out;
  MB_RETURN_IF_ERROR(VisitSubject(subject, [&](VaultRecord&& r) {
    out.push_back(std::move(r));
    return true;
  }));
  return out;
}

Status Vault::Scan(const std::function<bool(const VaultRecord&)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek("q"); it->Valid() && it->key().starts_with("q"); it->Next()) {
    if (it->key().size() != 9) return Status::Corruption("vault: malformed entry key");
    MB_ASSIGN_OR_RETURN(auto recs, DecodeEntryRecords(DecodeBE64(it->key().ToStringView().substr(1)), it->value().ToStringView()));
    for (const auto& r : recs) {
      if (!fn(r)) return Status::Ok();
    }
  }
  return FromRocks(it->status(), "scanning the vault");
}

Result<size_t> Vault::EraseSubject(const std::string& subject) {
  MB_ASSIGN_OR_RETURN(auto seqs, impl_->SubjectSeqs(subject));
  MB_ASSIGN_OR_RETURN(auto index, impl_->Suffixes(SubjectPrefix(subject)));
  MB_ASSIGN_OR_RETURN(auto owned, impl_->Suffixes("o" + subject + '\0'));
  size_t records = 0;
  rocksdb::WriteBatch wb;
  for (uint64_t seq : seqs) {
    MB_ASSIGN_OR_RETURN(auto recs, ForEntry(seq));
    records += recs.size();
    wb.Delete(EntryKey(seq));
  }
  for (const std::string& k : index) wb.Delete(SubjectPrefix(subject) + k);
  for (const std::string& k : owned) {
    if (!k.empty() && k[0] == 'h') {
      auto held = impl_->Get(k);  // only the subject's own link (see Put)
      if (held.ok() && *held != subject) {
        wb.Delete(OwnedKey(subject, k));
        continue;
      }
    }
    wb.Delete(k);
    wb.Delete(OwnedKey(subject, k));
  }
  MB_RETURN_IF_ERROR(impl_->Write(&wb, "erasing from the vault"));
  MB_RETURN_IF_ERROR(Compact());
  impl_->log->info("erased {} vault records of {} ({} entries, {} index keys)", records, subject, seqs.size(), owned.size());
  return records;
}

Status Vault::Compact() {
  // Deleted values are still in the memtable's WAL and in SST files: flush (a flushed WAL is deleted, as the
  // vault keeps no archive), then rewrite every file so the tombstones drop the values.
  rocksdb::FlushOptions fo;
  fo.wait = true;
  MB_RETURN_IF_ERROR(FromRocks(impl_->db->Flush(fo), "flushing the vault"));
  rocksdb::CompactRangeOptions co;
  co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  co.exclusive_manual_compaction = true;
  MB_RETURN_IF_ERROR(FromRocks(impl_->db->CompactRange(co, nullptr, nullptr), "compacting the vault"));
  return FromRocks(impl_->db->FlushWAL(true), "syncing the vault's log");
}

Result<std::optional<std::string>> Vault::FindPseudonym(std::string_view kind, std::string_view normalized) const {
  Hash h = (*impl_->keyer)(kind, normalized);
  auto v = impl_->Get("h" + std::string(reinterpret_cast<const char*>(h.data()), kHashSize));
  if (!v.ok() && v.status().IsNotFound()) return std::optional<std::string>();
  if (!v.ok()) return v.status();
  return std::optional<std::string>(*v);
}

Hash Vault::KeyedDigest(std::string_view kind, std::string_view text) const { return (*impl_->keyer)(kind, text); }

Result<std::vector<std::string>> Vault::FindByName(std::string_view normalized, size_t limit) const {
  std::vector<std::string> out;
  const std::string prefix = "n" + std::string(normalized) + '\0';
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix) && out.size() < limit; it->Next()) {
    out.push_back(it->key().ToString().substr(prefix.size()));
  }
  MB_RETURN_IF_ERROR(FromRocks(it->status(), "searching the vault"));
  return out;
}

}  // namespace minhbach
