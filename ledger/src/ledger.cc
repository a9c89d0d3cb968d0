#include "minhbach/ledger.h"

#include <capnp/message.h>
#include <fcntl.h>
#include <rocksdb/cache.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>
#include <unordered_map>

#include "file_io.h"
#include "ledger_impl.h"
#include "minhbach/text.h"
#include "minhbach/privacy.h"

namespace minhbach {
namespace fs = std::filesystem;

std::string SeqKey(uint64_t seq) {
  std::string k(8, '\0');
  for (int i = 0; i < 8; ++i) k[i] = static_cast<char>(seq >> (56 - 8 * i));
  return k;
}

uint64_t DecodeBE64(std::string_view b) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(b[i]);
  return v;
}

Status FromRocks(const rocksdb::Status& s, const std::string& context) {
  if (s.ok()) return Status::Ok();
  std::string msg = context + ": " + s.ToString();
  if (s.IsCorruption()) return Status::Corruption(msg);
  if (s.IsNotFound()) return Status::NotFound(msg);
  if (s.IsInvalidArgument()) return Status::InvalidArgument(msg);
  if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
    return Status::IOError(context + ": the ledger is in use by another process (RocksDB LOCK held): " + s.ToString());
  }
  if (s.IsNoSpace() || s.IsIOError()) return Status::IOError(msg);
  return Status::Internal(msg);
}

namespace {

// The disk must keep options.min_free_bytes beside what is about to be written (LedgerOptions::min_free_bytes).
Status CheckFreeSpace(const Ledger::Impl& m, uint64_t writing, const std::string& what) {
  MB_ASSIGN_OR_RETURN(uint64_t free, m.options.free_bytes(m.dir));
  const uint64_t need = m.options.min_free_bytes + writing;
  if (free >= need) return Status::Ok();
  return Status::IOError("the disk holding " + m.dir + " has " + std::to_string(free >> 20) + " MiB free; " + what +
                         " needs " + std::to_string((need + (1 << 20) - 1) >> 20) +
                         " MiB (the ledger keeps " + std::to_string(m.options.min_free_bytes >> 20) +
                         " MiB free for its store): free some space and try again");
}

}  // namespace

Ledger::Impl::~Impl() {
  if (db) {
    // A writer leaves its memtables in table files: otherwise every later open, read-only ones included,
    // replays the whole write-ahead log (0.6 s per command at 100,000 entries). Everything was already durable
    // through the synced WAL; a failure here only costs the next open that replay.
    if (!options.read_only && broken.ok()) {  // a broken ledger leaves its store to the next open's recovery
      // Every append was synced: the anchor may now say that the last batch is durable, so that the next open
      // tells the loss of that batch from a crash before its sync (anchor.h).
      const AnchorState& last = anchor.state();
      if (anchor.is_open() && (last.from_size != size || last.to_size != size)) {
        const AnchorState closed = SettledAt(last, size, last_leaf);
        if (Status a = anchor.Write(closed, options.sync); !a.ok() && log) log->warn("anchoring at close: {}", a.ToString());
      }
      // Not on a (nearly) full disk: the memtables are in the synced log anyway, and a failed flush would meet
      // RocksDB's assertion on a file writer that failed (LedgerOptions::min_free_bytes).
      if (Status room = CheckFreeSpace(*this, 0, "flushing the memtables at close"); room.ok()) {
        rocksdb::FlushOptions fo;
        fo.wait = true;
        rocksdb::Status f = db->Flush(fo, handles);
        if (!f.ok() && log) log->debug("flushing memtables at close: {}", f.ToString());
      } else if (log) {
        log->warn("{}", room.message());
      }
    }
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    handles.clear();
    rocksdb::Status s = db->Close();
    if (!s.ok() && log) log->warn("closing RocksDB: {}", s.ToString());
  }
}

Status Ledger::Impl::Usable() const {
  if (db) return Status::Ok();
  return Status::IOError("the store could not be reopened after a failed write (" + broken.message() +
                         "): open the ledger again");
}

Result<std::string> Ledger::Impl::Get(rocksdb::ColumnFamilyHandle* cf, std::string_view key, const char* what) const {
  MB_RETURN_IF_ERROR(Usable());
  std::string value;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), cf, rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return Status::NotFound(std::string(what) + " not found");
  if (!s.ok()) return FromRocks(s, std::string("reading ") + what);
  return value;
}

Result<Tile> Ledger::Impl::GetTile(TileId id) const {
  auto v = Get(tree, id.Key(), "tile");
  if (!v.ok()) {
    if (v.status().IsNotFound()) {
      return Status::Corruption("tile " + std::to_string(id.level) + "/" + std::to_string(id.index) + " is missing");
    }
    return v.status();
  }
  return Tile::Decode(id, *v);
}

namespace {

// Reads complete-subtree hashes for proofs: the in-memory right edge first, then stored tiles (cached per call).
class StoreNodes : public NodeSource {
 public:
  explicit StoreNodes(const Ledger::Impl& impl) : impl_(impl) {}
  Result<Hash> GetNode(uint32_t level, uint64_t index) override {
    if (auto h = impl_.builder.Find(level, index)) return *h;
    NodeLocation loc = LocateNode(level, index);
    auto it = cache_.find(loc.tile);
    if (it == cache_.end()) {
      MB_ASSIGN_OR_RETURN(Tile t, impl_.GetTile(loc.tile));
      it = cache_.emplace(loc.tile, std::move(t)).first;
    }
    if (!it->second.Has(loc.row, loc.pos)) {
      return Status::Corruption("tile " + std::to_string(loc.tile.level) + "/" + std::to_string(loc.tile.index) +
                                " lacks node " + std::to_string(level) + "/" + std::to_string(index));
    }
    return it->second.At(loc.row, loc.pos);
  }

 private:
  const Ledger::Impl& impl_;
  std::map<TileId, Tile> cache_;
};


Result<std::string> ReadKeyFile(FileSystem& files, const std::string& path) {
  MB_ASSIGN_OR_RETURN(std::string s, ReadWholeFile(files, path, 4096));
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

std::vector<rocksdb::ColumnFamilyDescriptor> Families(const LedgerOptions& o) {
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(o.block_cache_bytes);
  rocksdb::ColumnFamilyOptions base;
  base.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  base.write_buffer_size = o.write_buffer_bytes;

  rocksdb::BlockBasedTableOptions index_table = table;
  index_table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  rocksdb::ColumnFamilyOptions index_cf = base;
  index_cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(index_table));
  // Most idempotency lookups miss: a memtable bloom filter answers them without a skiplist search.
  index_cf.memtable_prefix_bloom_size_ratio = 0.05;
  index_cf.memtable_whole_key_filtering = true;

  return {{rocksdb::kDefaultColumnFamilyName, base},
          {kCfEntries, base},
          {kCfTree, base},
          {kCfIndex, index_cf},
          {kCfMeta, base},
          {kCfState, base}};
}

rocksdb::DBOptions DbOptions() {
  rocksdb::DBOptions o;
  o.paranoid_checks = true;  // "most workloads value data correctness over availability"
  // Only an incomplete last record (a write cut by a crash) is forgiven; damage before it fails the open instead of
  // replaying the log to the point before it (which silently dropped acknowledged batches: issue 14).
  o.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  o.max_background_jobs = 2;
  o.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  o.keep_log_file_num = 4;
  o.max_bgerror_resume_count = 0;  // no recovery of its own after a failed write: RecoverStore reopens the store
  o.skip_stats_update_on_db_open = true;  // no table properties read from every file at open (compaction hints only)
  return o;
}

constexpr int kReadOnlyOpenAttempts = 20;
constexpr size_t kParallelEncodeMin = 256;  // smaller batches are encoded on the calling thread

Status OpenDb(Ledger::Impl& impl, bool create) {
  fs::path dbdir = fs::path(impl.dir) / kDbDirName;
  rocksdb::DBOptions dbo = DbOptions();
  dbo.create_if_missing = create;
  dbo.create_missing_column_families = create;
  if (impl.options.env) dbo.env = impl.options.env;
  dbo.max_file_opening_threads = impl.options.file_opening_threads;
  dbo.error_if_exists = create;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s;
  if (impl.options.read_only) {
    // A read-only open beside a live writer can find that a file named in the MANIFEST was just deleted by
    // a compaction. That is not damage: the next read of the MANIFEST no longer names it. Retry briefly.
    for (int attempt = 0; attempt < kReadOnlyOpenAttempts; ++attempt) {
      s = rocksdb::DB::OpenForReadOnly(dbo, dbdir.string(), Families(impl.options), &handles, &raw);
      if (s.ok() || s.ToString().find("No such file") == std::string::npos) break;
      impl.log->debug("read-only open raced a compaction ({}); retrying", s.ToString());
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  } else {
    s = rocksdb::DB::Open(dbo, dbdir.string(), Families(impl.options), &handles, &raw);
  }
  if (!s.ok()) return FromRocks(s, "opening ledger store " + dbdir.string());
  impl.db.reset(raw);
  impl.handles = handles;
  impl.entries = handles[1];
  impl.tree = handles[2];
  impl.index = handles[3];
  impl.meta = handles[4];
  impl.state = handles[5];
  return Status::Ok();
}

int64_t SystemClockMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The defaults of the options left empty: the real file system, its free space, the system clock.
void SetDefaults(LedgerOptions& o) {
  if (!o.files) o.files = PosixFileSystem();
  if (!o.free_bytes) o.free_bytes = [files = o.files](const std::string& dir) { return files->FreeBytes(dir); };
  if (!o.clock) o.clock = SystemClockMicros;
}

// Whether `dir` holds a store (its folder, in RocksDB's file system).
bool StoreExists(const LedgerOptions& o, const std::string& dir) {
  rocksdb::Env* env = o.env ? o.env : rocksdb::Env::Default();
  return env->FileExists((fs::path(dir) / kDbDirName).string()).ok();
}

std::string EncodeHead(uint64_t size, const Hash& last) { return SeqKey(size) + std::string(AsView(last)); }

// Checks the tail on open: head record, last entry, its chain link, and the right-edge tiles.
Status LoadTailChecked(Ledger::Impl& impl);
Status LoadTail(Ledger::Impl& impl) {
  Status s = LoadTailChecked(impl);
  // Anything the tail needs and cannot find is a damaged store, not a user's mistake.
  if (s.IsNotFound()) return Status::Corruption(s.message() + " (missing from the store)");
  return s;
}

Status LoadTailChecked(Ledger::Impl& impl) {
  MB_ASSIGN_OR_RETURN(std::string format, impl.Get(impl.meta, kMetaFormat, "format record"));
  if (format == "minhbach-ledger-1" || format == "minhbach-ledger-2" || format == "minhbach-ledger-3" ||
      format == "minhbach-ledger-4") {
    return Status::InvalidArgument("ledger format '" + format + "' is older than this build's ('" +
                                   std::string(kFormatVersion) + "': personal data in a vault file beside the log, "
                                   "and an anchor that guards the store); there is no migration: make a new ledger "
                                   "and append its events again");
  }
  if (format != kFormatVersion) return Status::Corruption("unknown ledger format '" + format + "'");
  MB_ASSIGN_OR_RETURN(impl.origin, impl.Get(impl.meta, kMetaOrigin, "origin record"));
  MB_ASSIGN_OR_RETURN(std::string vkey, impl.Get(impl.meta, kMetaVkey, "verifier key record"));
  auto v = Verifier::Parse(vkey);
  if (!v.ok()) return Status::Corruption("stored verifier key: " + v.status().message());
  if (v->name() != impl.origin) {
    return Status::Corruption("stored verifier key is named '" + v->name() + "', not the origin '" + impl.origin + "'");
  }
  impl.verifier = std::move(v).value();
  MB_ASSIGN_OR_RETURN(std::string head, impl.Get(impl.meta, kMetaHead, "head record"));
  if (head.size() != 8 + kHashSize) return Status::Corruption("head record is " + std::to_string(head.size()) + " bytes");
  impl.size = DecodeBE64(head);
  impl.last_leaf = HashFromBytes(head.data() + 8);
  const uint64_t n = impl.size;
  if (n == 0 && impl.last_leaf != Hash{}) return Status::Corruption("head record: empty log with a non-zero hash");

  // Nothing may follow the head.
  auto after = impl.Get(impl.entries, SeqKey(n), "entry");
  if (after.ok()) {
    return Status::Corruption("entry " + std::to_string(n) + " exists beyond the head (size " + std::to_string(n) + ")");
  }
  if (n > 0) {
    auto last = impl.Get(impl.entries, SeqKey(n - 1), "entry");
    if (!last.ok()) return last.status().WithContext("entry " + std::to_string(n - 1) + " (the last one)");
    EntryHead eh;
    MB_RETURN_IF_ERROR(CheckEntry(*last, &eh).WithContext("entry " + std::to_string(n - 1)));
    if (eh.seq != n - 1) {
      return Status::Corruption("entry " + std::to_string(n - 1) + ": holds seq " + std::to_string(eh.seq));
    }
    if (impl.sha.Leaf(*last) != impl.last_leaf) {
      return Status::Corruption("entry " + std::to_string(n - 1) + ": leaf hash does not match the head record");
    }
    if (n > 1) {
      auto before = impl.Get(impl.entries, SeqKey(n - 2), "entry");
      if (!before.ok()) return before.status().WithContext("entry " + std::to_string(n - 2));
      if (impl.sha.Leaf(*before) != eh.prev_hash) {
        return Status::Corruption("entry " + std::to_string(n - 1) + ": chain link does not match entry " +
                                  std::to_string(n - 2));
      }
    }
  }
  std::vector<Tile> edge;
  for (TileId id : TreeBuilder::RightEdgeTiles(n)) {
    MB_ASSIGN_OR_RETURN(Tile t, impl.GetTile(id));
    edge.push_back(std::move(t));
  }
  MB_ASSIGN_OR_RETURN(impl.builder, TreeBuilder::Restore(n, std::move(edge)));
  // Only a writer needs the domain state (to check new events). Read-only opens (queries, proofs, export) skip
  // loading it, which costs a pass over every state record; `verify` checks it in full from genesis.
  if (!impl.options.read_only) {
    std::map<std::string, std::string> records;
    {
      std::unique_ptr<rocksdb::Iterator> it(impl.db->NewIterator(rocksdb::ReadOptions(), impl.state));
      for (it->SeekToFirst(); it->Valid(); it->Next()) records.emplace(it->key().ToString(), it->value().ToString());
      MB_RETURN_IF_ERROR(FromRocks(it->status(), "reading domain state"));
    }
    MB_ASSIGN_OR_RETURN(impl.domain, DomainState::FromRecords(records));
    if (Status c = impl.domain.CheckConservation(); !c.ok()) return Status::Corruption("domain state: " + c.message());
  }
  if (n > 0 && impl.builder.Find(0, n - 1) != std::optional<Hash>(impl.last_leaf)) {
    return Status::Corruption("tile 0/" + std::to_string((n - 1) / kTileWidth) +
                              ": last leaf hash does not match the head record");
  }
  return Status::Ok();
}

}  // namespace

// Whose personal data a sealed field of this payload is: the person the event names; texts of events that
// name no person are filed under kNoSubject (docs/threat-model.md "Privacy").
std::string VaultSubject(schema::Entry::Payload::Reader p, const DomainState& domain) {
  using P = schema::Entry::Payload;
  auto s = [](capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); };
  auto sponsored = [&](capnp::Text::Reader id) {
    auto it = domain.sponsorships().find(s(id));
    return it == domain.sponsorships().end() ? std::string(kNoSubject) : it->second.child;
  };
  switch (p.which()) {
    case P::DONOR_REGISTERED: return s(p.getDonorRegistered().getDonor());
    case P::DONATION_RECEIVED: return s(p.getDonationReceived().getDonor());
    case P::GUARDIAN_REGISTERED: return s(p.getGuardianRegistered().getGuardian());
    case P::DISBURSEMENT: return s(p.getDisbursement().getChild());
    case P::SPONSORSHIP_ENDED: return sponsored(p.getSponsorshipEnded().getSponsorship());
    case P::SPONSORSHIP_AMENDED: return sponsored(p.getSponsorshipAmended().getSponsorship());
    default: return kNoSubject;
  }
}

Status Ledger::Impl::SealSubject(const EventDraft& d, std::string* subject) const {
  EntryReader reader = EntryReader::OpenTrusted(d.payload);
  *subject = VaultSubject(reader.payload(), domain);  // read only: safe beside the other core
  if (auto at = domain.ErasedAt(*subject)) {
    return Status::InvalidArgument("the personal data of '" + *subject + "' was erased at entry " + std::to_string(*at) +
                                   ": new personal data needs a new pseudonym");
  }
  return Status::Ok();
}

Status SealFields(const EventDraft& d, uint64_t seq, const std::string& subject, Hash* commitments,
                  SealedEntry* sealed) {
  sealed->seq = seq;
  sealed->payload.reserve(64 + d.sealed.size() * (kSaltBytes + 96));
  Vault::BeginEntry(&sealed->payload, subject);
  for (const SealedField& f : d.sealed) {
    // Every path into the vault obeys the text rules of the field it replaces (JSON input checked them already).
    if (f.value.empty() || f.value.size() > kSealedBytesMax || !IsCleanUtf8(f.value, true)) {
      return Status::InvalidArgument("field '" + f.field + "': personal data must be 1.." +
                                     std::to_string(kSealedBytesMax) + " bytes of UTF-8 text");
    }
    const Salt salt = RandomSalt();
    *commitments++ = Commitment(f.field, salt, f.value);
    Vault::AddRecord(&sealed->payload, f.field, salt, f.value);
  }
  return Status::Ok();
}

Sealer::Sealer(const std::vector<EventDraft>& events, const std::vector<size_t>& order, uint64_t first_seq,
               const std::vector<std::string>& subjects, VaultWrite& vault)
    : events_(events), order_(order), first_seq_(first_seq), subjects_(subjects), status_(order.size()),
      first_(order.size() + 1), sealed_(order.size()), vault_(vault) {
  size_t k = 0;
  for (size_t j = 0; j < order.size(); ++j) {
    first_[j] = k;
    k += events[order[j]].sealed.size();
  }
  first_[order.size()] = k;
  commitments_.resize(k);
}

Sealer::~Sealer() { Stop(); }

void Sealer::Stop() {
  stop_ = true;
  SubjectsReady();
  if (helper_) helper_->Join();
  helper_ = nullptr;
}

void Sealer::HandOver() {
  if (std::all_of(status_.begin(), status_.end(), [](const Status& s) { return s.ok(); })) vault_.Start(sealed_);
}

void Sealer::StartHelper(Helper& helper, std::function<void()> before) {
  helper_ = &helper;
  helper.Run([this, before = std::move(before)] {
    before();
    encoded_.store(true);
    encoded_.notify_all();
    ready_.wait(false);
    for (size_t j = 0; j < order_.size(); ++j) {
      if (stop_.load(std::memory_order_relaxed)) return;
      SealOne(j);
      done_.store(static_cast<uint32_t>(j + 1));  // seq_cst with the load below and Patch's pair: no lost wake-up
      if (waiting_.load()) done_.notify_all();
    }
    HandOver();  // the vault's write starts while the calling thread is still checking
  });
}

void Sealer::SubjectsReady() {
  ready_.store(true);
  ready_.notify_all();
  if (helper_ && !stop_) encoded_.wait(false);  // the helper's half is encoded too
}

void Sealer::SealOne(size_t j) {
  const EventDraft& d = events_[order_[j]];
  if (d.sealed.empty()) return;
  // No subject: the entry did not encode, and the batch will be refused; nothing of it may reach the vault.
  if (subjects_[j].empty()) {
    status_[j] = Status::InvalidArgument("entry " + std::to_string(first_seq_ + j) + " was not encoded");
    return;
  }
  status_[j] = SealFields(d, first_seq_ + j, subjects_[j], &commitments_[first_[j]], &sealed_[j]);
}

Status Sealer::Patch(size_t j, std::string* entry) {
  const EventDraft& d = events_[order_[j]];
  if (d.sealed.empty()) return Status::Ok();
  if (!helper_) {
    SealOne(j);  // unthreaded: sealed here, on the calling thread
  } else {
    uint32_t done = done_.load(std::memory_order_acquire);
    for (int spin = 0; done <= j && spin < 4096; ++spin) done = done_.load(std::memory_order_acquire);
    while (done <= j) {
      waiting_.store(true);
      done_.wait(done);
      done = done_.load();
    }
    waiting_.store(false, std::memory_order_relaxed);
  }
  MB_RETURN_IF_ERROR(status_[j]);
  for (size_t k = 0; k < d.sealed.size(); ++k) {
    MB_RETURN_IF_ERROR(PatchMarker(entry, d.sealed[k].marker, commitments_[first_[j] + k]));
  }
  return Status::Ok();
}

void Sealer::Finish() {
  if (helper_) {
    helper_->Join();
    helper_ = nullptr;
  } else {
    HandOver();
  }
}

Helper::Helper() : thread_([this] {
  std::unique_lock l(mu_);
  while (true) {
    cv_.wait(l, [this] { return stop_ || job_; });
    if (stop_) return;
    std::function<void()> job = std::move(job_);
    job_ = nullptr;
    l.unlock();
    job();
    l.lock();
    busy_ = false;
    cv_.notify_all();
  }
}) {}

Helper::~Helper() {
  {
    std::lock_guard l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Helper::Run(std::function<void()> job) {
  std::lock_guard l(mu_);
  busy_ = true;
  job_ = std::move(job);
  cv_.notify_all();
}

void Helper::Join() {
  std::unique_lock l(mu_);
  cv_.wait(l, [this] { return !busy_; });
}

Status Ledger::Impl::Reseal(const EventDraft& d, uint64_t old_seq, const std::string& old_payload,
                            std::string* payload) const {
  EntryReader old = EntryReader::OpenTrusted(old_payload);
  const std::vector<CommitmentRef> refs = PayloadCommitments(old.payload());
  for (const SealedField& f : d.sealed) {
    for (const CommitmentRef& ref : refs) {
      if (ref.field != f.field) continue;
      MB_ASSIGN_OR_RETURN(std::optional<VaultRecord> rec, vault->Get(old_seq, ref.commitment));
      if (rec && rec->value == f.value) MB_RETURN_IF_ERROR(PatchMarker(payload, f.marker, ref.commitment));
    }
  }
  return Status::Ok();
}

VaultWrite::VaultWrite(std::unique_ptr<Helper>& helper, Vault& vault, std::shared_ptr<spdlog::logger> log)
    : helpers_(helper), vault_(vault), log_(std::move(log)) {}

void VaultWrite::Start(std::vector<SealedEntry>& sealed) {
  if (helper_) return;
  for (SealedEntry& e : sealed) {
    if (!e.payload.empty()) entries_.push_back(std::move(e));
  }
  if (entries_.empty()) return;
  if (!helpers_) helpers_ = std::make_unique<Helper>();
  helper_ = helpers_.get();
  helper_->Run([this] {
    const auto t0 = std::chrono::steady_clock::now();
    status_ = vault_.Put(entries_);
    log_->debug("vault: {} entries' records written and synced in {} us", entries_.size(),
                std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count());
  });
}

VaultWrite::~VaultWrite() { (void)Finish(); }

Status VaultWrite::Finish() {
  if (helper_ && !waited_) {
    helper_->Join();  // status_ was set by the job, before Join returns
    waited_ = true;
  }
  return status_;
}

void VaultWrite::Abandon() {
  if (helper_ && Finish().ok()) {
    if (Status r = vault_.Remove(entries_.front().seq); !r.ok()) log_->warn("could not remove unused vault records: {}", r.ToString());
  }
  helper_ = nullptr;
}

Status PatchMarker(std::string* payload, const Hash& marker, const Hash& commitment) {
  const std::string_view m(reinterpret_cast<const char*>(marker.data()), kHashSize);
  const size_t at = payload->find(m);
  if (at == std::string::npos || payload->find(m, at + 1) != std::string::npos) {
    return Status::InvalidArgument("a sealed field's marker is not in the draft exactly once (a draft not made by the parser?)");
  }
  std::memcpy(payload->data() + at, commitment.data(), kHashSize);
  return Status::Ok();
}

Ledger::Ledger(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Ledger::~Ledger() = default;

Result<std::unique_ptr<Ledger>> Ledger::Create(const std::string& dir, const std::string& origin,
                                               std::shared_ptr<spdlog::logger> log, LedgerOptions options) {
  MB_RETURN_IF_ERROR(ValidateKeyName(origin).WithContext("origin"));
  SetDefaults(options);
  FileSystem& files = *options.files;
  MB_RETURN_IF_ERROR(files.CreateDirs(dir));
  if (StoreExists(options, dir) || files.Exists((fs::path(dir) / kSigningKeyFile).string())) {
    return Status::InvalidArgument("a ledger already exists in " + dir);
  }
  MB_ASSIGN_OR_RETURN(SigningKey key, SigningKey::Generate(origin));
  MB_RETURN_IF_ERROR(WriteNewFileDurably(files, (fs::path(dir) / kSigningKeyFile).string(), key.ToString() + "\n", 0600));
  MB_RETURN_IF_ERROR(WriteNewFileDurably(files, (fs::path(dir) / kVerifierKeyFile).string(), key.verifier().ToString() + "\n", 0644));

  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->log = std::move(log);
  impl->options = std::move(options);
  impl->options.read_only = false;
  MB_RETURN_IF_ERROR(CheckFreeSpace(*impl, 0, "making a ledger"));
  MB_RETURN_IF_ERROR(OpenDb(*impl, /*create=*/true));
  MB_ASSIGN_OR_RETURN(impl->vault, Vault::Create(dir, impl->log, impl->options.files.get()));
  rocksdb::WriteBatch wb;
  wb.Put(impl->meta, kMetaFormat, kFormatVersion);
  wb.Put(impl->meta, kMetaOrigin, origin);
  wb.Put(impl->meta, kMetaVkey, key.verifier().ToString());
  wb.Put(impl->meta, kMetaHead, EncodeHead(0, Hash{}));
  rocksdb::WriteOptions wo;
  wo.sync = true;
  MB_RETURN_IF_ERROR(FromRocks(impl->db->Write(wo, &wb), "initialising ledger"));
  MB_ASSIGN_OR_RETURN(impl->anchor, Anchor::Create(*impl->options.files, dir));
  impl->origin = origin;
  impl->verifier = key.verifier();
  impl->log->info("created ledger {} (origin {})", dir, origin);
  return std::unique_ptr<Ledger>(new Ledger(std::move(impl)));
}

Result<std::unique_ptr<Ledger>> Ledger::Open(const std::string& dir, std::shared_ptr<spdlog::logger> log,
                                             LedgerOptions options) {
  SetDefaults(options);
  if (!StoreExists(options, dir)) {
    return Status::InvalidArgument("no ledger in " + dir + " (run `minhbach init` first)");
  }
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->log = std::move(log);
  impl->options = std::move(options);
  // RocksDB writes at a writable open (a MANIFEST, OPTIONS, a new log): not on a full disk.
  if (!impl->options.read_only) MB_RETURN_IF_ERROR(CheckFreeSpace(*impl, 0, "opening the ledger for writing"));
  // The anchor first: a reader beside a live writer then reads the store at a later moment than the anchor,
  // never an earlier one (the writer's anchor runs at most one batch ahead of its store, anchor.h).
  MB_ASSIGN_OR_RETURN(impl->anchor, Anchor::Open(*impl->options.files, dir, impl->options.read_only));
  MB_RETURN_IF_ERROR(OpenDb(*impl, /*create=*/false));
  MB_RETURN_IF_ERROR(LoadTail(*impl).WithContext("opening ledger " + dir));
  std::unique_ptr<Ledger> ledger(new Ledger(std::move(impl)));
  Impl& m = *ledger->impl_;
  // Before anything is changed (the vault's clean-up below goes by the store's size): a store that lost
  // acknowledged entries is refused here.
  MB_RETURN_IF_ERROR(ledger->CheckAnchor().WithContext("opening ledger " + dir));
  MB_ASSIGN_OR_RETURN(m.vault, Vault::Open(dir, m.log, m.options.read_only, m.options.files.get(),
                                            VaultEndAt(m.anchor.state(), m.size)));
  if (!m.options.read_only) {
    // Records of an append that crashed between the vault's write and the log's name entries the log never got.
    MB_ASSIGN_OR_RETURN(size_t dropped, m.vault->DropFrom(m.size));
    if (dropped > 0) m.log->warn("removed vault records of {} entries beyond the log (an interrupted append)", dropped);
  }
  MB_RETURN_IF_ERROR(SettleBeyondAnchor(m).WithContext("opening ledger " + dir));
  m.log->debug("opened ledger {} at size {}", dir, m.size);
  return ledger;
}

Status Ledger::CheckAnchor() const {
  const Impl& m = *impl_;
  MB_ASSIGN_OR_RETURN(auto checkpoints, Checkpoints());
  return minhbach::CheckAnchor(
      m.anchor.state(), m.size, m.last_leaf, checkpoints.size(),
      [&](uint64_t i) -> Result<Hash> {
        MB_ASSIGN_OR_RETURN(std::string bytes, GetEntry(i));
        return m.sha.Leaf(bytes);
      },
      [&](uint64_t n) { return RootAt(n); });
}

const std::string& Ledger::origin() const { return impl_->origin; }
const Verifier& Ledger::verifier() const { return *impl_->verifier; }
Vault& Ledger::vault() const { return *impl_->vault; }
uint64_t Ledger::size() const { return impl_->size; }
Hash Ledger::root() const { return impl_->builder.Root(impl_->sha); }

// Entries beyond the anchor's last batch (its write was lost in a crash after the batch's own sync, or failed):
// the anchor's bound on the vault does not cover their records, so each entry that holds commitments must have a
// slot in the vault (a damaged last frame is otherwise taken for a torn write). A writer then anchors the store
// as it is, bound included. At every open, and after a recovery in the process.
Status SettleBeyondAnchor(Ledger::Impl& m) {
  const AnchorState& a = m.anchor.state();
  if (m.size <= a.to_size) return Status::Ok();
  for (uint64_t seq = a.to_size; seq < m.size; ++seq) {
    MB_ASSIGN_OR_RETURN(std::string bytes, m.Get(m.entries, SeqKey(seq), "entry"));
    MB_ASSIGN_OR_RETURN(EntryReader entry, EntryReader::Open(bytes));
    if (PayloadCommitments(entry.payload()).empty()) continue;
    MB_ASSIGN_OR_RETURN(bool held, m.vault->Holds(seq));
    if (!held) {
      return Status::Corruption("entry " + std::to_string(seq) + " holds commitments, but the vault holds no records "
                                "of it: the vault's last frame was damaged or lost (docs/format/storage.md 9.3)");
    }
  }
  if (m.options.read_only) return Status::Ok();
  AnchorState settled = SettledAt(a, m.size, m.last_leaf);
  settled.from_vault_end = settled.to_vault_end = m.vault->WholeBytes();
  return m.anchor.Write(settled, m.options.sync).WithContext("anchoring the store beyond its anchor");
}

namespace {

// After a failed write (m.broken), the store is opened again in this process, as a restart would: RocksDB's log
// writer that saw the failed write can never be written again (RocksDB asserts, and aborts, if it is), and
// DB::Resume does not replace it when the memtables are empty (the simulation found that abort). The reopen
// replays the log, whose torn last record is dropped; then the tail is read again, and the vault's records of
// the failed batch, beyond the store, are dropped. A server thus goes on by itself once the disk works and has
// room again (issue 14). If the reopen fails, the ledger answers I/O errors until it is opened again.
Status RecoverStore(Ledger::Impl& m) {
  if (m.broken.ok()) return Status::Ok();
  MB_RETURN_IF_ERROR(CheckFreeSpace(m, 0, "recovering the store after a failed write (" + m.broken.message() + ")"));
  if (m.db) {
    for (auto* h : m.handles) m.db->DestroyColumnFamilyHandle(h);
    m.handles.clear();
    if (rocksdb::Status c = m.db->Close(); !c.ok()) m.log->debug("closing the store after a failed write: {}", c.ToString());
    m.db.reset();
  }
  MB_RETURN_IF_ERROR(OpenDb(m, /*create=*/false).WithContext("reopening the store after a failed write (" + m.broken.message() + ")"));
  MB_RETURN_IF_ERROR(LoadTail(m).WithContext("reading the store again after a failed write"));
  MB_ASSIGN_OR_RETURN(size_t dropped, m.vault->DropFrom(m.size));
  MB_RETURN_IF_ERROR(SettleBeyondAnchor(m));
  m.log->warn("recovered from a failed write ({}): the log holds {} entries; {} entries' vault records dropped",
              m.broken.message(), m.size, dropped);
  m.broken = Status::Ok();
  return Status::Ok();
}

// A RocksDB write outside Append, synced when the ledger syncs.
Status WriteNow(Ledger::Impl& m, rocksdb::WriteBatch* wb, const std::string& what) {
  MB_RETURN_IF_ERROR(CheckFreeSpace(m, wb->GetDataSize(), what));
  MB_RETURN_IF_ERROR(RecoverStore(m));
  rocksdb::WriteOptions wo;
  wo.sync = m.options.sync;
  Status written = FromRocks(m.db->Write(wo, wb), what);
  if (!written.ok()) m.broken = written;  // RocksDB's log writer may have seen the error: reopen before the next write
  return written;
}

// The commit point of Append (docs/format/storage.md section 4). The vault's records are durable first: their
// write started as soon as the batch was sealed, beside the checks, so this rarely waits. Then one synced
// RocksDB write commits the batch, while the anchor records the states before and after it, synced beside it:
// whichever reaches the disk first, an open finds the store at one of the two (anchor.h).
Status CommitBatch(Ledger::Impl& m, rocksdb::WriteBatch* wb, VaultWrite& vault, AnchorState next) {
  if (Status v = vault.Finish(); !v.ok()) {
    vault.Abandon();
    return v;
  }
  next.to_vault_end = m.vault->WholeBytes();
  // A torn write of the new slot falls back to the other one, which must then not name a batch the store never
  // got (a failed append's `to`): with the store committed beside it, the store would be at a third size the
  // open refuses. Settle it first (rare: only after a failed append).
  if (m.anchor.state().to_size != m.size) {
    Status settled = m.anchor.Write(SettledAt(m.anchor.state(), m.size, m.last_leaf), m.options.sync);
    if (!settled.ok()) {
      m.broken = settled;  // the batch's vault records go at the recovery
      return settled.WithContext("anchoring the store before the batch");
    }
  }
  if (!m.helper) m.helper = std::make_unique<Helper>();
  Status anchored;
  m.helper->Run([&] { anchored = m.anchor.Write(next, m.options.sync); });
  rocksdb::WriteOptions wo;
  wo.sync = m.options.sync;
  Status written = FromRocks(m.db->Write(wo, wb), "appending batch");
  m.helper->Join();
  // A failed write (a full disk) may have left part of the batch in RocksDB's log, and its vault records stay
  // until the store has recovered (RecoverStore): only then is it known that the batch is not in the store.
  for (const Status& s : {written, anchored}) {
    if (!s.ok()) {
      m.broken = s;
      return s;
    }
  }
  return Status::Ok();
}

}  // namespace

Result<AppendResult> Ledger::Append(const std::vector<EventDraft>& events, const AppendContext& ctx) {
  Impl& m = *impl_;
  if (m.options.read_only) return Status::InvalidArgument("ledger was opened read-only");
  {
    uint64_t bytes = 0;
    for (const EventDraft& e : events) bytes += e.payload.size() * 4;  // the entry, its index key, tiles, vault
    MB_RETURN_IF_ERROR(CheckFreeSpace(m, bytes, "an append of " + std::to_string(events.size()) + " events"));
  }
  MB_RETURN_IF_ERROR(RecoverStore(m));
  MB_RETURN_IF_ERROR(ValidateContext(ctx));
  if (events.empty()) return Status::InvalidArgument("empty batch");
  if (events.size() > kBatchEventsMax) {
    return Status::InvalidArgument("batch of " + std::to_string(events.size()) + " events exceeds the limit of " +
                                   std::to_string(kBatchEventsMax));
  }
  auto where = [&](size_t i) {
    return events[i].line ? "line " + std::to_string(events[i].line) : "event " + std::to_string(i + 1);
  };

  // 1. Idempotency keys: unique within the batch, and either new or an exact retry of a logged event.
  std::unordered_map<std::string_view, size_t> in_batch;
  in_batch.reserve(events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    auto [it, fresh] = in_batch.emplace(events[i].idempotency_key, i);
    if (!fresh) {
      return Status::InvalidArgument(where(i) + ": idempotency key '" + events[i].idempotency_key +
                                     "' is also used by " + where(it->second) + " of this batch");
    }
  }
  const auto t_start = std::chrono::steady_clock::now();
  std::vector<rocksdb::Slice> keys;
  keys.reserve(events.size());
  for (const EventDraft& e : events) keys.emplace_back(e.idempotency_key);
  std::vector<rocksdb::PinnableSlice> found(events.size());
  std::vector<rocksdb::Status> statuses(events.size());
  m.db->MultiGet(rocksdb::ReadOptions(), m.index, keys.size(), keys.data(), found.data(), statuses.data());
  AppendResult result;
  std::vector<bool> skip(events.size(), false);
  for (size_t i = 0; i < events.size(); ++i) {
    if (statuses[i].IsNotFound()) continue;
    MB_RETURN_IF_ERROR(FromRocks(statuses[i], "idempotency lookup"));
    if (found[i].size() != 8) return Status::Corruption("idempotency index value is not 8 bytes");
    uint64_t existing = DecodeBE64(found[i].ToStringView());
    MB_ASSIGN_OR_RETURN(std::string bytes, GetEntry(existing));
    MB_ASSIGN_OR_RETURN(Entry old, DecodeEntry(bytes));
    std::string retry = events[i].payload;
    if (!events[i].sealed.empty()) MB_RETURN_IF_ERROR(m.Reseal(events[i], existing, old.payload, &retry).WithContext(where(i)));
    if (old.idempotency_key != events[i].idempotency_key || old.payload != retry) {
      return Status::InvalidArgument(where(i) + ": idempotency key '" + events[i].idempotency_key +
                                     "' is already used by entry " + std::to_string(existing) +
                                     " with different content" +
                                     (events[i].sealed.empty() ? "" : " (or with personal data since erased)"));
    }
    skip[i] = true;
    result.duplicates.push_back({i, events[i].line, existing});
  }

  // 2. Encode, chain and hash into a copy of the right edge; nothing is visible until the write succeeds.
  const auto t_lookup = std::chrono::steady_clock::now();
  TreeBuilder next = m.builder;
  rocksdb::WriteBatch wb(events.size() * 320);
  std::vector<std::string> batch_bytes;  // this batch's entries, for reversals of entries in the same batch
  batch_bytes.reserve(events.size());
  EntryLookup lookup = [&](uint64_t target) -> Result<std::string> {
    if (target >= m.size) return batch_bytes.at(target - m.size);
    return GetEntry(target);
  };
  m.domain.Begin();
  const int64_t now = m.options.clock();
  // 2a. Encode every new entry; independent of each other once seq is known, so both cores share it. The
  //     prevHash bytes are patched in 2b, in log order (canonical layout does not depend on them).
  std::vector<size_t> order;
  order.reserve(events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    if (!skip[i]) order.push_back(i);
  }
  const size_t n = order.size();
  // Personal data (docs/format/commitment.md): the subject of each entry with sealed fields is found while the
  // domain is still the batch's starting state; the salts, commitments and vault payloads are made in 2b.
  std::vector<std::string> subjects(n);
  batch_bytes.resize(n);
  std::vector<size_t> prev_offsets(n);
  std::vector<Status> encoded(n);
  auto encode = [&](size_t lo, size_t hi) {
    for (size_t j = lo; j < hi; ++j) {
      const EventDraft& d = events[order[j]];
      encoded[j] = EncodeEntryUnchained(m.size + j, now, ctx, d, &batch_bytes[j], &prev_offsets[j]);
      if (encoded[j].ok() && !d.sealed.empty()) encoded[j] = m.SealSubject(d, &subjects[j]);
    }
  };
  // 2a'. Sealing (salts, commitments, vault payloads) runs in log order on the helper thread once it has
  //      encoded its half, beside 2b, which patches each entry's commitments in when it reaches it.
  VaultWrite vault(m.vault_helper, *m.vault, m.log);  // before the sealer: destroyed after it
  Sealer sealer(events, order, m.size, subjects, vault);
  if (n >= kParallelEncodeMin) {
    if (!m.helper) m.helper = std::make_unique<Helper>();
    sealer.StartHelper(*m.helper, [&] { encode(n / 2, n); });
    encode(0, n / 2);
  } else {
    encode(0, n);
  }
  sealer.SubjectsReady();  // both halves are encoded; the helper's seals read the subjects of both
  const auto t_encoded = std::chrono::steady_clock::now();
  // 2b. In log order: limits, chain link, domain invariants, leaf hash, tiles.
  Hash prev = m.last_leaf;
  for (size_t j = 0; j < n; ++j) {
    const size_t i = order[j];
    const uint64_t seq = m.size + j;
    std::string& bytes = batch_bytes[j];
    Status st = encoded[j];
    if (st.ok()) st = sealer.Patch(j, &bytes);
    st = st.WithContext(where(i));
    if (st.ok() && bytes.size() > kEntryBytesMax) {
      st = Status::InvalidArgument(where(i) + ": encoded entry is " + std::to_string(bytes.size()) + " bytes, limit " +
                                   std::to_string(kEntryBytesMax));
    }
    if (st.ok()) {
      PatchPrevHash(&bytes, prev_offsets[j], prev);
      // The domain invariants, in log order: a refusal rejects the whole batch.
      EntryReader reader = EntryReader::OpenTrusted(bytes);
      st = m.domain.Apply(seq, reader.payload(), lookup).WithContext(where(i));
    }
    if (!st.ok()) {
      sealer.Stop();    // the helper may be handing the vault its write: wait for it,
      vault.Abandon();  // then take the write back
      m.domain.Rollback();
      return st;
    }
    Hash leaf = m.sha.Leaf(bytes);
    std::string key = SeqKey(seq);
    wb.Put(m.entries, key, bytes);
    wb.Put(m.index, events[i].idempotency_key, key);
    next.AppendLeaf(m.sha, leaf);
    prev = leaf;
  }
  const uint64_t seq = m.size + n;
  result.first_seq = m.size;
  result.appended = seq - m.size;
  result.size = seq;
  if (result.appended == 0) {
    m.domain.Commit();
    return result;
  }
  // The vault's write (synced) runs beside the rest; the log's own write is made durable only after it (the
  // vault first: a crash between the two leaves records no entry refers to, never an entry whose personal data
  // is missing).
  sealer.Finish();
  if (Status c = m.domain.CheckConservation(); !c.ok()) {
    vault.Abandon();
    m.domain.Rollback();
    return Status::Internal("after this batch, " + c.message());  // a bug in the domain rules, never bad input
  }
  for (const auto& [key, value] : m.domain.ChangedRecords()) {
    if (value.empty()) {
      wb.Delete(m.state, key);
    } else {
      wb.Put(m.state, key, value);
    }
  }
  for (auto& [id, value] : next.TakeDirtyTiles()) wb.Put(m.tree, id.Key(), value);
  wb.Put(m.meta, kMetaHead, EncodeHead(seq, prev));

  // 3. The commit point.
  const auto t_encode = std::chrono::steady_clock::now();
  AnchorState anchored = SettledAt(m.anchor.state(), m.size, m.last_leaf);
  anchored.to_size = seq;
  anchored.to_leaf = prev;
  if (Status c = CommitBatch(m, &wb, vault, anchored); !c.ok()) {
    m.domain.Rollback();
    return c;
  }
  m.domain.Commit();
  const auto t_write = std::chrono::steady_clock::now();
  auto us = [](auto a, auto b) { return std::chrono::duration_cast<std::chrono::microseconds>(b - a).count(); };
  m.log->debug("append {} events ({} bytes, {} with personal data): lookup {} us, encode {} us, chain+rules+hash {} us, "
               "commit {} us", result.appended, wb.GetDataSize(),
               std::count_if(order.begin(), order.end(), [&](size_t i) { return !events[i].sealed.empty(); }), us(t_start, t_lookup), us(t_lookup, t_encoded),
               us(t_encoded, t_encode), us(t_encode, t_write));
  m.builder = std::move(next);
  m.size = seq;
  m.last_leaf = prev;
  return result;
}

namespace {

// One part of an erasure: the draft built directly (no parser: the commitments are binary).
EventDraft ErasureDraft(const std::string& subject, const std::string& reason, const std::vector<Hash>& commitments,
                        size_t from, size_t count, uint16_t part, uint16_t parts, uint64_t at_size) {
  capnp::MallocMessageBuilder msg;
  auto e = msg.initRoot<schema::Entry>().getPayload().initErasure();
  e.setSubject(subject);
  e.setReason(reason);
  e.setPart(part);
  e.setParts(parts);
  auto list = e.initCommitments(static_cast<unsigned>(count));
  for (size_t i = 0; i < count; ++i) {
    list.set(static_cast<unsigned>(i), capnp::Data::Reader(commitments[from + i].data(), kHashSize));
  }
  kj::Array<capnp::word> words = capnp::canonicalize(msg.getRoot<schema::Entry>().asReader());
  auto bytes = words.asBytes();
  EventDraft d;
  d.idempotency_key = "erasure:" + subject + ":" + std::to_string(at_size) + ":" + std::to_string(part);
  d.payload.assign(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
  return d;
}

}  // namespace

Result<Ledger::ErasureResult> Ledger::Erase(const std::string& subject, const std::string& reason,
                                            const AppendContext& ctx) {
  Impl& m = *impl_;
  if (m.options.read_only) return Status::InvalidArgument("ledger was opened read-only");
  MB_RETURN_IF_ERROR(CheckPublicText(reason).WithContext("--reason: a public text"));
  if (reason.empty() || reason.size() > 2048 || !IsCleanUtf8(reason, true)) {
    return Status::InvalidArgument("--reason: 1..2048 bytes of UTF-8 text expected");
  }
  MB_ASSIGN_OR_RETURN(std::vector<VaultRecord> records, m.vault->ForSubject(subject));
  ErasureResult out;
  if (auto at = m.domain.ErasedAt(subject)) {
    if (records.empty()) {
      // A crash after the erasure frame but before the zeroing leaves bytes to overwrite.
      if (Status c = m.vault->CompleteErasures(); !c.ok()) m.log->warn("completing the vault's erasures: {}", c.ToString());
      return Status::InvalidArgument("subject '" + subject + "' was already erased at entry " + std::to_string(*at));
    }
    m.log->warn("completing the interrupted erasure of {} (entry {})", subject, *at);
    out.first_seq = *at;
  } else {
    if (m.domain.SubjectKind(subject).empty()) {
      return Status::InvalidArgument("subject '" + subject + "' is not a registered donor, child or guardian");
    }
    std::vector<Hash> commitments;
    for (const VaultRecord& r : records) commitments.push_back(r.commitment);
    constexpr size_t kPer = 256;
    const size_t parts = commitments.empty() ? 1 : (commitments.size() + kPer - 1) / kPer;
    if (parts > 65535) return Status::InvalidArgument("subject '" + subject + "' has too many commitments to erase");
    std::vector<EventDraft> drafts;
    for (size_t p = 0; p < parts; ++p) {
      const size_t from = p * kPer, count = std::min(kPer, commitments.size() - std::min(from, commitments.size()));
      drafts.push_back(ErasureDraft(subject, reason, commitments, from, count, static_cast<uint16_t>(p + 1),
                                    static_cast<uint16_t>(parts), m.size));
    }
    MB_ASSIGN_OR_RETURN(AppendResult appended, Append(drafts, ctx));
    out.first_seq = appended.first_seq;
    out.parts = parts;
    out.commitments = commitments.size();
  }
  MB_ASSIGN_OR_RETURN(out.records, m.vault->EraseSubject(subject));
  return out;
}

Result<std::string> Ledger::GetEntry(uint64_t seq) const {
  if (seq >= impl_->size) {
    return Status::NotFound("entry " + std::to_string(seq) + " does not exist (log size " +
                            std::to_string(impl_->size) + ")");
  }
  auto v = impl_->Get(impl_->entries, SeqKey(seq), "entry");
  if (!v.ok() && v.status().IsNotFound()) {
    return Status::Corruption("entry " + std::to_string(seq) + " is missing from the store");
  }
  return v;
}

Status Ledger::ScanEntries(uint64_t from, uint64_t limit,
                           const std::function<bool(uint64_t, std::string_view)>& fn) const {
  MB_RETURN_IF_ERROR(impl_->Usable());
  rocksdb::ReadOptions ro;
  ro.readahead_size = 2 << 20;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->entries));
  uint64_t expect = from;
  const uint64_t n = impl_->size;
  const uint64_t end = from >= n ? from : (limit >= n - from ? n : from + limit);
  for (it->Seek(SeqKey(from)); it->Valid() && expect < end; it->Next(), ++expect) {
    if (it->key().size() != 8 || DecodeBE64(it->key().ToStringView()) != expect) {
      return Status::Corruption("entry " + std::to_string(expect) + " is missing from the store");
    }
    if (!fn(expect, it->value().ToStringView())) return Status::Ok();
  }
  MB_RETURN_IF_ERROR(FromRocks(it->status(), "scanning entries"));
  if (expect < end) return Status::Corruption("entry " + std::to_string(expect) + " is missing from the store");
  return Status::Ok();
}

Result<Hash> Ledger::LeafHash(uint64_t seq) const {
  MB_ASSIGN_OR_RETURN(std::string bytes, GetEntry(seq));
  return impl_->sha.Leaf(bytes);
}

Result<Hash> Ledger::RootAt(uint64_t size) const {
  if (size > impl_->size) {
    return Status::NotFound("tree size " + std::to_string(size) + " is beyond the log size " + std::to_string(impl_->size));
  }
  StoreNodes nodes(*impl_);
  return minhbach::RootAt(nodes, impl_->sha, size);
}

Result<std::vector<Hash>> Ledger::ProveInclusion(uint64_t seq, uint64_t size) const {
  if (size > impl_->size) {
    return Status::NotFound("tree size " + std::to_string(size) + " is beyond the log size " + std::to_string(impl_->size));
  }
  StoreNodes nodes(*impl_);
  return InclusionProof(nodes, impl_->sha, seq, size);
}

Result<std::vector<Hash>> Ledger::ProveConsistency(uint64_t size1, uint64_t size2) const {
  if (size2 > impl_->size) {
    return Status::NotFound("tree size " + std::to_string(size2) + " is beyond the log size " + std::to_string(impl_->size));
  }
  StoreNodes nodes(*impl_);
  return ConsistencyProof(nodes, impl_->sha, size1, size2);
}

Result<std::string> Ledger::TileHashes(uint32_t level, uint64_t index, uint32_t width) const {
  if (width < 1 || width > kTileWidth) return Status::InvalidArgument("tile width must be 1..256");
  // Level-8·level nodes exist up to (size >> 8·level); tile levels above 7 would need more than 2^64 leaves.
  if (level >= 8) return Status::NotFound("no tile at level " + std::to_string(level));
  const uint64_t nodes = impl_->size >> (8 * level);
  if (index > (nodes >> 8) || (index << 8) + width > nodes) {
    return Status::NotFound("tile " + std::to_string(level) + "/" + std::to_string(index) + " of width " +
                            std::to_string(width) + " is beyond the tree (size " + std::to_string(impl_->size) + ")");
  }
  std::string out;
  out.reserve(width * kHashSize);
  StoreNodes nodes_source(*impl_);
  for (uint32_t p = 0; p < width; ++p) {
    MB_ASSIGN_OR_RETURN(Hash h, nodes_source.GetNode(8 * level, (index << 8) + p));
    out.append(reinterpret_cast<const char*>(h.data()), h.size());
  }
  return out;
}

Result<std::string> Ledger::DomainRecord(std::string_view key) const {
  auto v = impl_->Get(impl_->state, key, "state record");
  if (!v.ok() && v.status().IsNotFound()) return std::string();
  return v;
}

Result<std::string> Ledger::SignCheckpoint() {
  Impl& m = *impl_;
  if (m.options.read_only) return Status::InvalidArgument("ledger was opened read-only");
  fs::path key_path = fs::path(m.dir) / kSigningKeyFile;
  if (auto mode = m.options.files->Mode(key_path.string()); mode.ok() && (*mode & 077) != 0) {
    m.log->warn("{} is readable by group or others (mode {:o}); it should be 0600", key_path.string(), *mode & 0777);
  }
  MB_ASSIGN_OR_RETURN(std::string key_text, ReadKeyFile(*m.options.files, key_path.string()));
  MB_ASSIGN_OR_RETURN(SigningKey key, SigningKey::Parse(key_text));
  if (key.verifier().ToString() != m.verifier->ToString()) {
    return Status::InvalidArgument(key_path.string() + " is not the key this ledger was created with");
  }
  Checkpoint cp{m.origin, m.size, root(), {}};
  SignedNote note{cp.Body(), {}};
  MB_RETURN_IF_ERROR(SignNote(note, key));
  std::string text = note.Format();
  MB_ASSIGN_OR_RETURN(auto existing, Checkpoints());
  std::string k = std::string(kMetaCheckpointPrefix) + SeqKey(existing.size());
  rocksdb::WriteBatch wb;
  wb.Put(m.meta, k, text);
  MB_RETURN_IF_ERROR(WriteNow(m, &wb, "storing checkpoint"));
  // Signed and stored: from now on a store without it, or at another root at its size, is refused at open.
  AnchorState a = SettledAt(m.anchor.state(), m.size, m.last_leaf);
  a.checkpoint_number = existing.size() + 1;
  a.checkpoint_size = cp.size;
  a.checkpoint_root = cp.root;
  MB_RETURN_IF_ERROR(m.anchor.Write(a, m.options.sync).WithContext("anchoring the checkpoint"));
  return text;
}

Result<std::vector<StoredCheckpoint>> Ledger::Checkpoints() const {
  MB_RETURN_IF_ERROR(impl_->Usable());
  std::vector<StoredCheckpoint> out;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->meta));
  const std::string prefix = kMetaCheckpointPrefix;
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    std::string_view k = it->key().ToStringView();
    if (k.size() != prefix.size() + 8) return Status::Corruption("malformed checkpoint key");
    uint64_t number = DecodeBE64(k.substr(prefix.size()));
    if (number != out.size()) {
      return Status::Corruption("checkpoint #" + std::to_string(out.size()) + " is missing (next stored is #" +
                                std::to_string(number) + ")");
    }
    out.push_back({number, std::string(it->value().ToStringView()), {}});
  }
  MB_RETURN_IF_ERROR(FromRocks(it->status(), "reading checkpoints"));
  const std::string cs = kMetaCosignaturePrefix;
  for (it->Seek(cs); it->Valid() && it->key().starts_with(cs); it->Next()) {
    std::string_view k = it->key().ToStringView();
    if (k.size() < cs.size() + 9) return Status::Corruption("malformed cosignature key");
    uint64_t number = DecodeBE64(k.substr(cs.size(), 8));
    if (number >= out.size()) return Status::Corruption("cosignature of missing checkpoint #" + std::to_string(number));
    out[number].cosignatures.emplace_back(it->value().ToStringView());
  }
  MB_RETURN_IF_ERROR(FromRocks(it->status(), "reading cosignatures"));
  return out;
}

std::string StoredCheckpoint::WithCosignatures() const {
  std::string out = note;
  for (const std::string& line : cosignatures) out += line + "\n";
  return out;
}

Result<size_t> Ledger::AddCosignatures(const std::string& cosigned, const std::vector<Verifier>& witnesses) {
  Impl& m = *impl_;
  if (m.options.read_only) return Status::InvalidArgument("ledger was opened read-only");
  MB_ASSIGN_OR_RETURN(SignedNote note, ParseNote(cosigned));
  MB_ASSIGN_OR_RETURN(auto cps, Checkpoints());
  const StoredCheckpoint* match = nullptr;
  for (auto it = cps.rbegin(); it != cps.rend() && !match; ++it) {
    auto stored = ParseNote(it->note);
    if (stored.ok() && stored->text == note.text) match = &*it;
  }
  if (!match) return Status::InvalidArgument("the cosigned note is not a checkpoint of this ledger");
  rocksdb::WriteBatch wb;
  size_t added = 0, valid = 0;
  for (const Verifier& w : witnesses) {
    auto t = VerifyCosignature(note, w);
    if (t.status().IsNotFound()) continue;
    if (!t.ok()) return t.status().WithContext("cosigned note");
    ++valid;
    SignedNote only{note.text, {}};
    for (const NoteSignature& s : note.signatures) {
      if (s.name == w.name() && s.key_id == w.key_id()) only.signatures.push_back(s);
    }
    std::string formatted = only.Format();
    std::string line = formatted.substr(note.text.size() + 1);  // "— name sig\n"
    line.pop_back();
    if (std::find(match->cosignatures.begin(), match->cosignatures.end(), line) != match->cosignatures.end()) continue;
    wb.Put(m.meta, std::string(kMetaCosignaturePrefix) + SeqKey(match->number) + w.ToString(), line);
    ++added;
  }
  if (valid == 0) return Status::InvalidArgument("the note carries no valid cosignature by the given witness keys");
  if (added) MB_RETURN_IF_ERROR(WriteNow(m, &wb, "storing cosignatures"));
  return added;
}

Result<std::vector<Hash>> Ledger::CompactRangeAt(uint64_t size) const {
  if (size > impl_->size) return Status::InvalidArgument("compact range beyond the log size");
  StoreNodes nodes(*impl_);
  std::vector<Hash> out;
  for (auto [level, index] : CompactRange::NodePositions(size)) {
    MB_ASSIGN_OR_RETURN(Hash h, nodes.GetNode(level, index));
    out.push_back(h);
  }
  return out;
}

}  // namespace minhbach
