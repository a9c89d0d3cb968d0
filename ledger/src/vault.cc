#include "minhbach/vault.h"

#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "ledger_impl.h"

namespace minhbach {
namespace fs = std::filesystem;

// Key layout (docs/format/storage.md "The vault"); every key starts with one tag byte.
//   'F'                                  -> kVaultFormat
//   'P'                                  -> the pseudonym secret (32 bytes)
//   'c' commitment(32)                   -> record (EncodeRecord)
//   'k' idempotency key                  -> the commitments of that entry, 32 bytes each
//   'h' HMAC(32)                         -> donor id (pseudonym index: PseudonymKey of an account or a name)
//   'n' normalized name 0x00 donor       -> "" (a donor's name, for finding one's own donations)
//   's' subject 0x00 owned key           -> "" (every key above that belongs to the subject; erasure walks it)
namespace {

constexpr int kReadOnlyOpenAttempts = 50;

std::string CommitmentKey(const Hash& c) { return "c" + std::string(reinterpret_cast<const char*>(c.data()), c.size()); }
std::string OwnedKey(const std::string& subject, const std::string& key) { return "s" + subject + '\0' + key; }

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

// salt(32) || seq (8 BE) || subject || field || value || idempotency key, each string as u32 BE length || bytes.
std::string EncodeRecord(const VaultRecord& r) {
  std::string out(reinterpret_cast<const char*>(r.salt.data()), kSaltBytes);
  for (int i = 7; i >= 0; --i) out += static_cast<char>(r.seq >> (8 * i));
  PutField(&out, r.subject);
  PutField(&out, r.field);
  PutField(&out, r.value);
  PutField(&out, r.idempotency_key);
  return out;
}

Result<VaultRecord> DecodeRecord(const Hash& commitment, std::string_view in) {
  VaultRecord r;
  r.commitment = commitment;
  if (in.size() < kSaltBytes + 8) return Status::Corruption("vault record " + HexEncode(commitment) + " is truncated");
  std::memcpy(r.salt.data(), in.data(), kSaltBytes);
  r.seq = DecodeBE64(in.substr(kSaltBytes, 8));
  in.remove_prefix(kSaltBytes + 8);
  if (!GetField(&in, &r.subject) || !GetField(&in, &r.field) || !GetField(&in, &r.value) ||
      !GetField(&in, &r.idempotency_key) || !in.empty()) {
    return Status::Corruption("vault record " + HexEncode(commitment) + " is malformed");
  }
  // Paired with the check before the value was written: the record opens its own commitment.
  if (Commitment(r.field, r.salt, r.value) != commitment) {
    return Status::Corruption("vault record " + HexEncode(commitment) + " does not open its commitment");
  }
  return r;
}

rocksdb::Options VaultOptions() {
  rocksdb::Options o;
  o.paranoid_checks = true;
  o.WAL_ttl_seconds = 0;      // no WAL archive: a flushed WAL is deleted (erasure depends on it)
  o.WAL_size_limit_MB = 0;
  o.keep_log_file_num = 2;
  o.max_manifest_file_size = 4 << 20;
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
  // Every key the subject owns.
  Result<std::vector<std::string>> Owned(const std::string& subject) const {
    std::vector<std::string> keys;
    const std::string prefix = "s" + subject + '\0';
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
  // Files of the vault are readable by their owner only (0600).
  o.env = rocksdb::Env::Default();
  (void)o.env->SetAllowNonOwnerAccess(false).PermitUncheckedError();
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
  return std::unique_ptr<Vault>(new Vault(std::move(impl)));
}

Status Vault::Put(const std::vector<VaultRecord>& records) {
  rocksdb::WriteBatch wb(records.size() * 256);
  std::map<std::string, std::string> by_key;  // idempotency key -> commitments
  for (const VaultRecord& r : records) {
    // Paired with DecodeRecord: a record is checked to open its commitment before it is written.
    if (Commitment(r.field, r.salt, r.value) != r.commitment) {
      return Status::Internal("vault record for " + r.field + " does not open its commitment");
    }
    const std::string ck = CommitmentKey(r.commitment);
    wb.Put(ck, EncodeRecord(r));
    wb.Put(OwnedKey(r.subject, ck), "");
    by_key[r.idempotency_key].append(reinterpret_cast<const char*>(r.commitment.data()), kHashSize);
    const bool account = r.field == "donor_registered.account", name = r.field == "donor_registered.name";
    if (account || name) {
      Hash h = PseudonymKey(impl_->secret, account ? "account" : "name",
                            account ? NormalizeDigits(r.value) : NormalizeName(r.value));
      const std::string hk = "h" + std::string(reinterpret_cast<const char*>(h.data()), kHashSize);
      wb.Put(hk, r.subject);
      wb.Put(OwnedKey(r.subject, hk), "");
    }
    if (name) {
      const std::string nk = "n" + NormalizeName(r.value) + '\0' + r.subject;
      wb.Put(nk, "");
      wb.Put(OwnedKey(r.subject, nk), "");
    }
  }
  for (const auto& [key, commitments] : by_key) {
    const std::string kk = "k" + key;
    wb.Put(kk, commitments);
    for (size_t i = 0; i < commitments.size(); i += kHashSize) {
      // The key's list belongs to every subject it names (usually one).
      auto rec = std::find_if(records.begin(), records.end(), [&](const VaultRecord& r) {
        return std::memcmp(r.commitment.data(), commitments.data() + i, kHashSize) == 0;
      });
      wb.Put(OwnedKey(rec->subject, kk), "");
    }
  }
  return impl_->Write(&wb, "writing the vault");
}

Status Vault::Remove(const std::vector<VaultRecord>& records) {
  rocksdb::WriteBatch wb;
  for (const VaultRecord& r : records) {
    const std::string ck = CommitmentKey(r.commitment);
    wb.Delete(ck);
    wb.Delete(OwnedKey(r.subject, ck));
    wb.Delete("k" + r.idempotency_key);
    wb.Delete(OwnedKey(r.subject, "k" + r.idempotency_key));
  }
  return impl_->Write(&wb, "undoing vault records");
}

Result<std::optional<VaultRecord>> Vault::Get(const Hash& commitment) const {
  auto v = impl_->Get(CommitmentKey(commitment));
  if (!v.ok() && v.status().IsNotFound()) return std::optional<VaultRecord>();
  if (!v.ok()) return v.status();
  MB_ASSIGN_OR_RETURN(VaultRecord r, DecodeRecord(commitment, *v));
  return std::optional<VaultRecord>(std::move(r));
}

Result<std::vector<VaultRecord>> Vault::ForKey(const std::string& idempotency_key) const {
  std::vector<VaultRecord> out;
  auto v = impl_->Get("k" + idempotency_key);
  if (!v.ok() && v.status().IsNotFound()) return out;
  if (!v.ok()) return v.status();
  for (size_t i = 0; i + kHashSize <= v->size(); i += kHashSize) {
    Hash c;
    std::memcpy(c.data(), v->data() + i, kHashSize);
    MB_ASSIGN_OR_RETURN(auto r, Get(c));
    if (r) out.push_back(std::move(*r));
  }
  return out;
}

Result<std::vector<VaultRecord>> Vault::ForSubject(const std::string& subject) const {
  std::vector<VaultRecord> out;
  MB_ASSIGN_OR_RETURN(auto keys, impl_->Owned(subject));
  for (const std::string& k : keys) {
    if (k.size() != 1 + kHashSize || k[0] != 'c') continue;
    Hash c;
    std::memcpy(c.data(), k.data() + 1, kHashSize);
    MB_ASSIGN_OR_RETURN(auto r, Get(c));
    if (r) out.push_back(std::move(*r));
  }
  return out;
}

Status Vault::Scan(const std::function<bool(const VaultRecord&)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek("c"); it->Valid() && it->key().starts_with("c"); it->Next()) {
    if (it->key().size() != 1 + kHashSize) return Status::Corruption("vault: malformed record key");
    Hash c;
    std::memcpy(c.data(), it->key().data() + 1, kHashSize);
    MB_ASSIGN_OR_RETURN(VaultRecord r, DecodeRecord(c, it->value().ToStringView()));
    if (!fn(r)) return Status::Ok();
  }
  return FromRocks(it->status(), "scanning the vault");
}

Result<size_t> Vault::EraseSubject(const std::string& subject) {
  MB_ASSIGN_OR_RETURN(auto keys, impl_->Owned(subject));
  size_t records = 0;
  rocksdb::WriteBatch wb;
  for (const std::string& k : keys) {
    if (!k.empty() && k[0] == 'c') ++records;
    wb.Delete(k);
    wb.Delete(OwnedKey(subject, k));
  }
  MB_RETURN_IF_ERROR(impl_->Write(&wb, "erasing from the vault"));
  // The deleted values are still in the memtable's WAL and in SST files: flush (a flushed WAL is deleted, as
  // the vault keeps no archive), then rewrite every file so the tombstones drop the values.
  rocksdb::FlushOptions fo;
  fo.wait = true;
  MB_RETURN_IF_ERROR(FromRocks(impl_->db->Flush(fo), "flushing the vault"));
  rocksdb::CompactRangeOptions co;
  co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  co.exclusive_manual_compaction = true;
  MB_RETURN_IF_ERROR(FromRocks(impl_->db->CompactRange(co, nullptr, nullptr), "compacting the vault"));
  MB_RETURN_IF_ERROR(FromRocks(impl_->db->FlushWAL(true), "syncing the vault's log"));
  impl_->log->info("erased {} vault records of {} ({} keys)", records, subject, keys.size());
  return records;
}

Result<std::optional<std::string>> Vault::FindPseudonym(std::string_view kind, std::string_view normalized) const {
  Hash h = PseudonymKey(impl_->secret, kind, normalized);
  auto v = impl_->Get("h" + std::string(reinterpret_cast<const char*>(h.data()), kHashSize));
  if (!v.ok() && v.status().IsNotFound()) return std::optional<std::string>();
  if (!v.ok()) return v.status();
  return std::optional<std::string>(*v);
}

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
