#include "minhbach/vault.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#include <unordered_set>

#include "file_io.h"
#include "ledger_impl.h"
#include "minhbach/crc32c.h"

namespace minhbach {
namespace fs = std::filesystem;

// The vault is one append-only file, LEDGER/vault/records (docs/format/storage.md section 7), of frames:
//   header (16 bytes): kind (1) | 0 0 0 | LE32 body length | LE32 crc | LE32 n
//   'F' format:  n = 16; body = "minhbach-vault-2" || pseudonym secret (32)
//   'B' batch:   n = entries; body = n slots (LE64 seq | LE32 offset of the payload from the frame's start |
//                LE32 payload length | LE32 payload crc | LE32 0) || the payloads (one per entry: BeginEntry, AddRecord)
//   'X' erasure: n = subject length; body = subject || LE64 seq of each entry whose payload is erased
// The header's crc is CRC-32C (crc32c.h) over its bytes 0..7 and 12..15 and the covered body: all of it for 'F'
// and 'X', the slots only for 'B' (an erasure overwrites payloads with zeros; each payload has its own crc).
// One Put is one frame written with one pwrite and one fdatasync; an erasure appends its 'X' frame (synced)
// before it zeroes the payloads. The indexes (subject -> entries, donor pseudonyms, names) live in memory,
// rebuilt from the file at open.
namespace {

constexpr const char* kRecordsFile = "records";
constexpr size_t kFrameHeader = 16, kSlotBytes = 24, kFormatBytes = 16;
constexpr uint64_t kMaxFrame = uint64_t{1} << 31;

void PutLE32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
void PutLE64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
uint32_t LE32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
uint64_t LE64(const char* p) { return LE32(p) | (uint64_t{LE32(p + 4)} << 32); }

// The crc of a frame's header (bytes 0..7, 12..15) and `covered` bytes of body.
uint32_t FrameCrc(const char* frame, size_t covered) {
  uint32_t c = Crc32c(0, frame, 8);
  c = Crc32c(c, frame + 12, 4);
  return Crc32c(c, frame + kFrameHeader, covered);
}

void PutField(std::string* out, std::string_view s) {
  const uint32_t n = static_cast<uint32_t>(s.size());
  char len[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8), static_cast<char>(n)};
  out->append(len, 4);
  out->append(s);
}

bool GetField(std::string_view* in, std::string_view* out) {
  if (in->size() < 4) return false;
  const auto* b = reinterpret_cast<const unsigned char*>(in->data());
  const uint32_t n = (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
  if (in->size() - 4 < n) return false;
  *out = in->substr(4, n);
  in->remove_prefix(4 + n);
  return true;
}
bool GetField(std::string_view* in, std::string* out) {
  std::string_view v;
  if (!GetField(in, &v)) return false;
  out->assign(v);
  return true;
}

Result<std::vector<VaultRecord>> DecodeEntryRecords(uint64_t seq, std::string_view in) {
  std::vector<VaultRecord> out;
  std::string subject;
  const std::string where = "vault records of entry " + std::to_string(seq);
  if (!GetField(&in, &subject) || subject.empty()) return Status::Corruption(where + " are malformed");
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

bool AllZero(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == 0; });
}

// A frame with an empty header, `body` bytes of body reserved.
std::string NewFrame(char kind, uint32_t n, size_t body) {
  std::string f(kFrameHeader + body, '\0');
  f[0] = kind;
  PutLE32(f.data() + 4, static_cast<uint32_t>(body));
  PutLE32(f.data() + 12, n);
  return f;
}
void SealFrame(std::string* f, size_t covered) { PutLE32(f->data() + 8, FrameCrc(f->data(), covered)); }

// Whether a whole frame's crc holds (over the slots only, for a batch frame).
bool FrameIntact(std::string_view frame) {
  const uint64_t len = frame.size() - kFrameHeader;
  const uint64_t covered = frame[0] == 'B' ? std::min<uint64_t>(len, uint64_t{LE32(frame.data() + 12)} * kSlotBytes) : len;
  return FrameCrc(frame.data(), covered) == LE32(frame.data() + 8);
}

// The pseudonym keys (HMAC bytes) a donor's account or name record leads to, and its normalized name.
struct DonorKeys {
  std::vector<std::string> pseudonyms;
  std::string name;
};
void AddDonorKeys(const PseudonymKeyer& keyer, std::string_view field, std::string_view value, DonorKeys* k) {
  const bool account = field == "donor_registered.account", name = field == "donor_registered.name";
  if (!account && !name) return;
  const std::string norm = account ? NormalizeDigits(value) : NormalizeName(value);
  const Hash h = keyer(account ? "account" : "name", norm);
  k->pseudonyms.emplace_back(reinterpret_cast<const char*>(h.data()), kHashSize);
  if (name) k->name = norm;
}

}  // namespace

class Vault::Impl {
 public:
  struct Slot {
    uint64_t seq = 0, frame = 0, off = 0;  // the entry, its frame's offset, its payload's offset in the file
    uint32_t len = 0, crc = 0;
    bool erased = false;
  };
  std::string dir, path;
  std::shared_ptr<spdlog::logger> log;
  bool read_only = false;
  std::unique_ptr<File> file;
  Hash secret{};
  std::unique_ptr<PseudonymKeyer> keyer;

  mutable std::shared_mutex mu;
  mutable bool loaded = false;
  mutable Status load_status;
  mutable std::vector<Slot> slots;  // log order
  mutable size_t indexed = 0;       // slots[0, indexed) are in the indexes below
  mutable std::unordered_map<std::string, std::vector<uint64_t>> subjects;
  mutable std::unordered_map<std::string, std::string> pseudonyms;  // PseudonymKey bytes -> donor (the first)
  mutable std::map<std::string, std::vector<std::string>, std::less<>> names;  // normalized name -> donors
  uint64_t whole_until = 0;  // Vault::Open
  mutable uint64_t end = 0;   // the end of the last whole frame
  mutable uint64_t tail = 0;  // bytes after it (a torn write)
  mutable std::vector<size_t> unscrubbed;  // erased slots whose payload still holds bytes

  Status Load() const;
  Status LoadFrame(uint64_t at, const std::string& frame, std::vector<std::string>* payloads,
                   std::unordered_set<uint64_t>* erased_seqs) const;
  Status Classify(const std::vector<std::string>& payloads, const std::unordered_set<uint64_t>& erased_seqs,
                  size_t last_first, uint64_t size) const;
  Status Index(const Slot& s, std::string_view payload) const;
  Status CatchUp() const;
  Result<bool> AnyFrameFrom(uint64_t from, uint64_t size) const;
  // Loads the file at the first question; with `indexes`, also indexes the entries appended since (Put leaves
  // that to the first question that needs the indexes, off the append path).
  Status Ready(bool indexes = false) const {
    {
      std::shared_lock l(mu);
      if (loaded && (!load_status.ok() || !indexes || indexed == slots.size())) return load_status;
    }
    std::unique_lock l(mu);
    if (!loaded) {
      load_status = Load();
      loaded = true;
    }
    if (load_status.ok() && indexes) return CatchUp();
    return load_status;
  }
  const Slot* Find(uint64_t seq) const {
    auto it = std::lower_bound(slots.begin(), slots.end(), seq, [](const Slot& s, uint64_t q) { return s.seq < q; });
    return it != slots.end() && it->seq == seq ? &*it : nullptr;
  }
  Result<std::string> Payload(const Slot& s) const {
    std::string p(s.len, '\0');
    MB_RETURN_IF_ERROR(file->ReadAt(s.off, p.data(), p.size()));
    return p;
  }
  // The records of slot `s` (read under the shared lock); empty when erased.
  Result<std::vector<VaultRecord>> Records(const Slot& s) const {
    if (s.erased) return std::vector<VaultRecord>();
    MB_ASSIGN_OR_RETURN(std::string p, Payload(s));
    if (Crc32c(0, p.data(), p.size()) != s.crc) {
      if (AllZero(p)) return std::vector<VaultRecord>();  // erased by a writer after this reader loaded
      return Status::Corruption(path + ": the records of entry " + std::to_string(s.seq) + " are damaged (crc)");
    }
    return DecodeEntryRecords(s.seq, p);
  }
  Status Sync() const { return file->Sync(); }
  // A batch frame's header and slots, then its payloads where they lie (no copy); not synced.
  Status WriteFrame(uint64_t at, const std::string& head, const std::vector<SealedEntry>& entries) const {
    std::vector<std::string_view> pieces;
    pieces.reserve(entries.size() + 1);
    pieces.push_back(head);
    for (const SealedEntry& e : entries) pieces.push_back(e.payload);
    return file->WriteAt(at, pieces.data(), pieces.size());
  }
  // Overwrites [from, to) with zeros (no sync).
  Status Zero(uint64_t from, uint64_t to) const {
    const std::string zeros(std::min<uint64_t>(to - from, 1 << 20), '\0');
    for (uint64_t at = from; at < to; at += zeros.size()) {
      MB_RETURN_IF_ERROR(file->WriteAt(at, std::string_view(zeros).substr(0, std::min<uint64_t>(zeros.size(), to - at))));
    }
    return Status::Ok();
  }
  // Zeroes and cuts the file at `at` (synced), then rebuilds the indexes. Caller holds the unique lock.
  Status CutAt(uint64_t at) const {
    MB_RETURN_IF_ERROR(Zero(at, end + tail));
    MB_RETURN_IF_ERROR(Sync());
    MB_RETURN_IF_ERROR(file->Truncate(at));
    MB_RETURN_IF_ERROR(Sync());
    return Load();
  }
  // Writable: cuts a torn tail and zeroes erased payloads an interrupted erasure left (both synced).
  Status Repair() const;
  static Result<std::unique_ptr<Impl>> OpenFile(FileSystem& files, const std::string& ledger_dir,
                                                std::shared_ptr<spdlog::logger> log, bool create, bool read_only);
};

// Indexes one entry's payload, read in place: its subject's entries, and a donor's pseudonym keys and name.
Status Vault::Impl::Index(const Slot& s, std::string_view payload) const {
  std::string_view subject, field, value;
  if (!GetField(&payload, &subject) || subject.empty()) {
    return Status::Corruption("vault records of entry " + std::to_string(s.seq) + " are malformed");
  }
  DonorKeys k;
  while (!payload.empty()) {
    if (!GetField(&payload, &field) || payload.size() < kSaltBytes) break;
    payload.remove_prefix(kSaltBytes);
    if (!GetField(&payload, &value)) break;
    AddDonorKeys(*keyer, field, value, &k);
  }
  if (!payload.empty()) return Status::Corruption("vault records of entry " + std::to_string(s.seq) + " are malformed");
  const std::string who(subject);
  subjects[who].push_back(s.seq);
  for (std::string& h : k.pseudonyms) pseudonyms.try_emplace(std::move(h), who);
  if (!k.name.empty()) names[k.name].push_back(who);
  return Status::Ok();
}

// One frame at `at` (its bytes in `frame`, header included): its slots and payloads, or the seqs it erases.
Status Vault::Impl::LoadFrame(uint64_t at, const std::string& frame, std::vector<std::string>* payloads,
                              std::unordered_set<uint64_t>* erased_seqs) const {
  const char kind = frame[0];
  const uint32_t n = LE32(frame.data() + 12);
  const std::string where = path + ": frame at byte " + std::to_string(at);
  if (kind == 'X') {
    const size_t body = frame.size() - kFrameHeader;
    if (n > body || (body - n) % 8 != 0) return Status::Corruption(where + " (an erasure) is malformed");
    for (size_t i = kFrameHeader + n; i < frame.size(); i += 8) erased_seqs->insert(LE64(frame.data() + i));
    return Status::Ok();
  }
  if (kind != 'B' || uint64_t{n} * kSlotBytes > frame.size() - kFrameHeader) {
    return Status::Corruption(where + " is of no known kind, or malformed");
  }
  for (uint32_t i = 0; i < n; ++i) {
    const char* p = frame.data() + kFrameHeader + size_t{i} * kSlotBytes;
    Slot s{LE64(p), at, at + LE32(p + 8), LE32(p + 12), LE32(p + 16), false};
    const uint64_t rel = s.off - at;
    if (rel < kFrameHeader + uint64_t{n} * kSlotBytes || rel + s.len > frame.size() ||
        (!slots.empty() && s.seq <= slots.back().seq)) {
      return Status::Corruption(where + ": entry slot " + std::to_string(i) + " is malformed or out of order");
    }
    slots.push_back(s);
    payloads->emplace_back(frame.data() + rel, s.len);
  }
  return Status::Ok();
}

Status Vault::Impl::Load() const {
  slots.clear(), subjects.clear(), pseudonyms.clear(), names.clear(), unscrubbed.clear();
  indexed = 0;
  MB_ASSIGN_OR_RETURN(const uint64_t size, file->Size());
  std::vector<std::string> payloads;
  std::unordered_set<uint64_t> erased_seqs;
  uint64_t at = kFrameHeader + kFormatBytes + kHashSize;  // after the format frame (checked at open)
  size_t last_first = 0;  // the first slot of the last frame
  while (at + kFrameHeader <= size) {
    char h[kFrameHeader];
    MB_RETURN_IF_ERROR(file->ReadAt(at, h, sizeof h));
    const uint64_t len = LE32(h + 4);
    std::string frame;
    if (len <= size - at - kFrameHeader) {
      frame.resize(kFrameHeader + len);
      MB_RETURN_IF_ERROR(file->ReadAt(at, frame.data(), frame.size()));
    }
    if (frame.empty() || !FrameIntact(frame)) {
      // Only the last write can be torn (each is synced before the next starts): a bad frame with a whole frame
      // after it is damage, not a torn write.
      MB_ASSIGN_OR_RETURN(bool more, AnyFrameFrom(at + 1, size));
      if (!more && at >= whole_until) break;
      return Status::Corruption(path + ": frame at byte " + std::to_string(at) + " is damaged (crc)");
    }
    last_first = slots.size();
    MB_RETURN_IF_ERROR(LoadFrame(at, frame, &payloads, &erased_seqs));
    at += frame.size();
  }
  end = at, tail = size - at;
  MB_RETURN_IF_ERROR(Classify(payloads, erased_seqs, last_first, size));
  if (end < whole_until) {
    return Status::Corruption(path + ": its whole frames end at byte " + std::to_string(end) + ", but the ledger's "
                              "anchor says they reached byte " + std::to_string(whole_until) + ": records were lost");
  }
  for (size_t i = 0; i < slots.size(); ++i) {
    if (!slots[i].erased) MB_RETURN_IF_ERROR(Index(slots[i], payloads[i]));
  }
  indexed = slots.size();
  return Status::Ok();
}

// Marks each slot erased (an erasure frame names it, or its payload is zeros) or live (its crc holds). A payload
// that is neither is damage, unless it is in the last frame: a write torn before all its payloads reached the
// disk, which is then dropped like a frame cut short.
Status Vault::Impl::Classify(const std::vector<std::string>& payloads, const std::unordered_set<uint64_t>& erased_seqs,
                             size_t last_first, uint64_t size) const {
  for (size_t i = 0; i < slots.size(); ++i) {
    Slot& s = slots[i];
    const bool intact = Crc32c(0, payloads[i].data(), payloads[i].size()) == s.crc, zero = AllZero(payloads[i]);
    // Zeros are an erasure only where an erasure frame says so: that frame is synced before the zeros are
    // written. A reader may see the zeros of an erasure whose frame came after its look at the file's size.
    s.erased = erased_seqs.count(s.seq) > 0 || (read_only && !intact && zero);
    if (s.erased && !zero) unscrubbed.push_back(i);
    if (s.erased || intact) continue;
    if (i < last_first || tail > 0 || slots[last_first].frame < whole_until) {
      return Status::Corruption(path + ": the records of entry " + std::to_string(s.seq) + " are damaged (crc)");
    }
    end = slots[last_first].frame, tail = size - end;
    slots.resize(last_first);
    std::erase_if(unscrubbed, [&](size_t u) { return u >= last_first; });
    return Status::Ok();
  }
  return Status::Ok();
}

// Whether some position in [from, size) starts a whole frame of batch or erasure kind whose crc holds.
Result<bool> Vault::Impl::AnyFrameFrom(uint64_t from, uint64_t size) const {
  if (from >= size) return false;
  std::string rest(size - from, '\0');
  MB_RETURN_IF_ERROR(file->ReadAt(from, rest.data(), rest.size()));
  for (size_t p = 0; p + kFrameHeader <= rest.size(); ++p) {
    if ((rest[p] != 'B' && rest[p] != 'X') || rest[p + 1] || rest[p + 2] || rest[p + 3]) continue;
    const uint64_t len = LE32(rest.data() + p + 4);
    if (len > rest.size() - p - kFrameHeader) continue;
    if (FrameIntact(std::string_view(rest).substr(p, kFrameHeader + len))) return true;
  }
  return false;
}

// Indexes the slots appended since the last question, reading each frame's payloads in one read. Caller holds
// the unique lock.
Status Vault::Impl::CatchUp() const {
  std::string bytes;
  while (indexed < slots.size()) {
    size_t last = indexed;
    while (last + 1 < slots.size() && slots[last + 1].frame == slots[indexed].frame) ++last;
    const uint64_t from = slots[indexed].off, to = slots[last].off + slots[last].len;
    bytes.resize(to - from);
    MB_RETURN_IF_ERROR(file->ReadAt(from, bytes.data(), bytes.size()));
    for (; indexed <= last; ++indexed) {
      const Slot& s = slots[indexed];
      const std::string_view p = std::string_view(bytes).substr(s.off - from, s.len);
      if (s.erased || (Crc32c(0, p.data(), p.size()) != s.crc && AllZero(p))) continue;
      MB_RETURN_IF_ERROR(Index(s, p));
    }
  }
  return Status::Ok();
}

Status Vault::Impl::Repair() const {
  std::unique_lock l(mu);
  if (tail > 0) {
    log->warn("vault: cutting {} bytes of an interrupted write at byte {}", tail, end);
    MB_RETURN_IF_ERROR(CutAt(end));
  }
  if (unscrubbed.empty()) return Status::Ok();
  log->warn("vault: completing the erasure of {} entries (interrupted)", unscrubbed.size());
  for (size_t i : unscrubbed) MB_RETURN_IF_ERROR(Zero(slots[i].off, slots[i].off + slots[i].len));
  unscrubbed.clear();
  return Sync();
}

Result<std::unique_ptr<Vault::Impl>> Vault::Impl::OpenFile(FileSystem& files, const std::string& ledger_dir,
                                                           std::shared_ptr<spdlog::logger> log, bool create,
                                                           bool read_only) {
  auto impl = std::make_unique<Impl>();
  impl->dir = (fs::path(ledger_dir) / kVaultDirName).string();
  impl->path = (fs::path(impl->dir) / kRecordsFile).string();
  impl->log = std::move(log);
  impl->read_only = read_only;
  if (create) {
    if (files.Exists(impl->dir)) return Status::InvalidArgument(impl->dir + " already exists");
    MB_RETURN_IF_ERROR(files.CreateDirs(impl->dir));
  } else if (!files.Exists(impl->dir)) {
    return Status::InvalidArgument("no personal-data vault in " + ledger_dir + " (" + impl->dir + " is missing)");
  } else if (!files.Exists(impl->path)) {
    if (files.Exists((fs::path(impl->dir) / "CURRENT").string())) {
      return Status::InvalidArgument("the vault in " + impl->dir + " is of format minhbach-vault-1 (a RocksDB store), "
                                     "which this build does not read (it reads " + kVaultFormat + ")");
    }
    return Status::Corruption("the vault in " + impl->dir + " has no " + kRecordsFile + " file");
  }
  if (!read_only) MB_RETURN_IF_ERROR(files.Chmod(impl->dir, 0700));
  const OpenMode mode = read_only ? OpenMode::kRead : create ? OpenMode::kCreate : OpenMode::kWrite;
  MB_ASSIGN_OR_RETURN(impl->file, files.Open(impl->path, mode, 0600));
  if (!read_only) MB_RETURN_IF_ERROR(files.Chmod(impl->path, 0600));
  return impl;
}

Vault::Vault(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Vault::~Vault() = default;

Result<std::unique_ptr<Vault>> Vault::Create(const std::string& ledger_dir, std::shared_ptr<spdlog::logger> log,
                                             FileSystem* files) {
  std::shared_ptr<FileSystem> posix = files ? nullptr : PosixFileSystem();
  FileSystem& fsys = files ? *files : *posix;
  MB_ASSIGN_OR_RETURN(auto impl, Impl::OpenFile(fsys, ledger_dir, std::move(log), true, false));
  const Salt secret = RandomSalt();
  std::memcpy(impl->secret.data(), secret.data(), kHashSize);
  impl->keyer = std::make_unique<PseudonymKeyer>(impl->secret);
  std::string f = NewFrame('F', kFormatBytes, kFormatBytes + kHashSize);
  std::memcpy(f.data() + kFrameHeader, kVaultFormat, kFormatBytes);
  std::memcpy(f.data() + kFrameHeader + kFormatBytes, secret.data(), kHashSize);
  SealFrame(&f, kFormatBytes + kHashSize);
  MB_RETURN_IF_ERROR(impl->file->WriteAt(0, f));
  MB_RETURN_IF_ERROR(impl->Sync());
  MB_RETURN_IF_ERROR(fsys.SyncDir(impl->dir));
  MB_RETURN_IF_ERROR(fsys.SyncDir(ParentDir(impl->dir)));
  impl->end = f.size();
  impl->loaded = true;
  return std::unique_ptr<Vault>(new Vault(std::move(impl)));
}

Result<std::unique_ptr<Vault>> Vault::Open(const std::string& ledger_dir, std::shared_ptr<spdlog::logger> log,
                                           bool read_only, FileSystem* files, uint64_t whole_until) {
  std::shared_ptr<FileSystem> posix = files ? nullptr : PosixFileSystem();
  MB_ASSIGN_OR_RETURN(auto impl, Impl::OpenFile(files ? *files : *posix, ledger_dir, std::move(log), false, read_only));
  impl->whole_until = whole_until;
  std::string f(kFrameHeader + kFormatBytes + kHashSize, '\0');
  const Status read = impl->file->ReadAt(0, f.data(), f.size());
  if (!read.ok() || f[0] != 'F' || LE32(f.data() + 4) != kFormatBytes + kHashSize ||
      LE32(f.data() + 12) != kFormatBytes || std::memcmp(f.data() + kFrameHeader, kVaultFormat, kFormatBytes) != 0) {
    return Status::Corruption("the vault in " + impl->dir + " is not of format " + kVaultFormat);
  }
  if (FrameCrc(f.data(), kFormatBytes + kHashSize) != LE32(f.data() + 8)) {
    return Status::Corruption("the vault's pseudonym secret is damaged (crc)");
  }
  std::memcpy(impl->secret.data(), f.data() + kFrameHeader + kFormatBytes, kHashSize);
  impl->keyer = std::make_unique<PseudonymKeyer>(impl->secret);
  if (!read_only) {  // a read-only open reads the rest at its first question
    MB_RETURN_IF_ERROR(impl->Ready());
    MB_RETURN_IF_ERROR(impl->Repair());
  }
  return std::unique_ptr<Vault>(new Vault(std::move(impl)));
}

void Vault::BeginEntry(std::string* payload, std::string_view subject) { PutField(payload, subject); }

void Vault::AddRecord(std::string* payload, std::string_view field, const Salt& salt, std::string_view value) {
  PutField(payload, field);
  payload->append(reinterpret_cast<const char*>(salt.data()), kSaltBytes);
  PutField(payload, value);
}


Status Vault::Put(const std::vector<VaultRecord>& records) {
  std::vector<SealedEntry> entries;
  std::string_view subject;
  for (const VaultRecord& r : records) {
    if (r.subject.empty()) return Status::Internal("vault records of entry " + std::to_string(r.seq) + " name no subject");
    if (entries.empty() || entries.back().seq != r.seq) {
      entries.push_back({r.seq, {}});
      BeginEntry(&entries.back().payload, subject = r.subject);
    } else if (r.subject != subject) {
      return Status::Internal("vault records of entry " + std::to_string(r.seq) + " name two subjects");
    }
    AddRecord(&entries.back().payload, r.field, r.salt, r.value);
  }
  return Put(entries);
}

Status Vault::Put(const std::vector<SealedEntry>& entries) {
  Impl& m = *impl_;
  if (m.read_only) return Status::InvalidArgument("the vault was opened read-only");
  if (entries.empty()) return Status::Ok();
  MB_RETURN_IF_ERROR(m.Ready());
  size_t bytes = kFrameHeader + entries.size() * kSlotBytes;
  for (const SealedEntry& e : entries) bytes += e.payload.size();
  if (bytes > kMaxFrame) return Status::InvalidArgument("vault: a batch of over 2 GiB of personal data");
  std::unique_lock l(m.mu);
  const uint64_t at = m.end;
  std::string head = NewFrame('B', static_cast<uint32_t>(entries.size()), bytes - kFrameHeader);
  head.resize(kFrameHeader + entries.size() * kSlotBytes);
  uint64_t off = head.size();
  uint64_t last = m.slots.empty() ? 0 : m.slots.back().seq + 1;
  std::vector<Impl::Slot> slots;
  slots.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const SealedEntry& e = entries[i];
    std::string_view rest = e.payload, subject;
    if (e.seq < last || !GetField(&rest, &subject) || subject.empty()) {
      return Status::Internal("vault: entry " + std::to_string(e.seq) + " is out of order, or names no subject");
    }
    last = e.seq + 1;
    const uint32_t crc = Crc32c(0, e.payload.data(), e.payload.size());
    char* slot = head.data() + kFrameHeader + i * kSlotBytes;
    PutLE64(slot, e.seq);
    PutLE32(slot + 8, static_cast<uint32_t>(off));
    PutLE32(slot + 12, static_cast<uint32_t>(e.payload.size()));
    PutLE32(slot + 16, crc);
    slots.push_back({e.seq, at, at + off, static_cast<uint32_t>(e.payload.size()), crc, false});
    off += e.payload.size();
  }
  SealFrame(&head, head.size() - kFrameHeader);
  Status w = m.WriteFrame(at, head, entries);
  if (!w.ok()) {
    if (!m.file->Truncate(at).ok()) m.log->warn("vault: could not cut a failed write at byte {}", at);
    return w;
  }
  MB_RETURN_IF_ERROR(m.Sync());
  m.end = at + bytes;
  m.slots.insert(m.slots.end(), slots.begin(), slots.end());  // indexed by the first question that needs it
  return Status::Ok();
}

Result<size_t> Vault::DropFrom(uint64_t size) {
  Impl& m = *impl_;
  if (m.read_only) return Status::InvalidArgument("the vault was opened read-only");
  MB_RETURN_IF_ERROR(m.Ready());
  std::unique_lock l(m.mu);
  auto it = std::lower_bound(m.slots.begin(), m.slots.end(), size,
                             [](const Impl::Slot& s, uint64_t q) { return s.seq < q; });
  if (it == m.slots.end()) return size_t{0};
  const size_t dropped = static_cast<size_t>(m.slots.end() - it);
  if (it != m.slots.begin() && std::prev(it)->frame == it->frame) {
    return Status::Corruption("vault: a frame holds entries on both sides of the log's end " + std::to_string(size));
  }
  MB_RETURN_IF_ERROR(m.CutAt(it->frame));
  return dropped;
}

Result<std::vector<VaultRecord>> Vault::ForEntry(uint64_t seq) const {
  MB_RETURN_IF_ERROR(impl_->Ready());
  std::shared_lock l(impl_->mu);
  const Impl::Slot* s = impl_->Find(seq);
  if (!s) return std::vector<VaultRecord>();
  return impl_->Records(*s);
}

Result<bool> Vault::Holds(uint64_t seq) const {
  MB_RETURN_IF_ERROR(impl_->Ready());
  std::shared_lock l(impl_->mu);
  return impl_->Find(seq) != nullptr;
}

Result<std::optional<VaultRecord>> Vault::Get(uint64_t seq, const Hash& commitment) const {
  MB_ASSIGN_OR_RETURN(auto recs, ForEntry(seq));
  for (auto& r : recs) {
    if (r.commitment == commitment) return std::optional<VaultRecord>(std::move(r));
  }
  return std::optional<VaultRecord>();
}

Status Vault::VisitSubject(const std::string& subject, const std::function<bool(VaultRecord&&)>& fn) const {
  MB_RETURN_IF_ERROR(impl_->Ready(/*indexes=*/true));
  std::vector<uint64_t> seqs;
  {
    std::shared_lock l(impl_->mu);
    auto it = impl_->subjects.find(subject);
    if (it != impl_->subjects.end()) seqs = it->second;
  }
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
  MB_RETURN_IF_ERROR(impl_->Ready());
  for (size_t i = 0;; ++i) {
    std::vector<VaultRecord> recs;
    {
      std::shared_lock l(impl_->mu);
      if (i >= impl_->slots.size()) return Status::Ok();
      MB_ASSIGN_OR_RETURN(recs, impl_->Records(impl_->slots[i]));
    }
    for (const auto& r : recs) {
      if (!fn(r)) return Status::Ok();
    }
  }
}

Result<size_t> Vault::EraseSubject(const std::string& subject) {
  Impl& m = *impl_;
  if (m.read_only) return Status::InvalidArgument("the vault was opened read-only");
  MB_RETURN_IF_ERROR(m.Ready(/*indexes=*/true));
  std::unique_lock l(m.mu);
  MB_RETURN_IF_ERROR(m.CatchUp());
  auto it = m.subjects.find(subject);
  if (it == m.subjects.end()) return size_t{0};
  const std::vector<uint64_t> seqs = it->second;
  size_t records = 0;
  std::string f = NewFrame('X', static_cast<uint32_t>(subject.size()), subject.size() + 8 * seqs.size());
  std::memcpy(f.data() + kFrameHeader, subject.data(), subject.size());
  for (size_t i = 0; i < seqs.size(); ++i) {
    const Impl::Slot* s = m.Find(seqs[i]);
    if (!s) return Status::Internal("vault: subject index names entry " + std::to_string(seqs[i]) + ", not held");
    MB_ASSIGN_OR_RETURN(auto recs, m.Records(*s));
    records += recs.size();
    PutLE64(f.data() + kFrameHeader + subject.size() + 8 * i, seqs[i]);
  }
  SealFrame(&f, f.size() - kFrameHeader);
  // The erasure frame first (synced): a crash while the payloads are zeroed leaves them erased all the same.
  MB_RETURN_IF_ERROR(m.file->WriteAt(m.end, f));
  MB_RETURN_IF_ERROR(m.Sync());
  m.end += f.size();
  for (uint64_t seq : seqs) {
    const Impl::Slot* s = m.Find(seq);
    MB_RETURN_IF_ERROR(m.Zero(s->off, s->off + s->len));
  }
  MB_RETURN_IF_ERROR(m.Sync());
  MB_RETURN_IF_ERROR(m.Load());  // the indexes as a reopen finds them (a later namesake may now hold the keys)
  m.log->info("erased {} vault records of {} ({} entries)", records, subject, seqs.size());
  return records;
}

uint64_t Vault::WholeBytes() const {
  std::shared_lock l(impl_->mu);
  return impl_->end;
}

Status Vault::CompleteErasures() {
  if (impl_->read_only) return Status::InvalidArgument("the vault was opened read-only");
  MB_RETURN_IF_ERROR(impl_->Ready());
  return impl_->Repair();
}

Result<std::optional<std::string>> Vault::FindPseudonym(std::string_view kind, std::string_view normalized) const {
  MB_RETURN_IF_ERROR(impl_->Ready(/*indexes=*/true));
  const Hash h = (*impl_->keyer)(kind, normalized);
  std::shared_lock l(impl_->mu);
  auto it = impl_->pseudonyms.find(std::string(reinterpret_cast<const char*>(h.data()), kHashSize));
  if (it == impl_->pseudonyms.end()) return std::optional<std::string>();
  return std::optional<std::string>(it->second);
}

Hash Vault::KeyedDigest(std::string_view kind, std::string_view text) const { return (*impl_->keyer)(kind, text); }

Result<std::vector<std::string>> Vault::FindByName(std::string_view normalized, size_t limit) const {
  MB_RETURN_IF_ERROR(impl_->Ready(/*indexes=*/true));
  std::shared_lock l(impl_->mu);
  auto it = impl_->names.find(normalized);
  if (it == impl_->names.end()) return std::vector<std::string>();
  std::vector<std::string> out(it->second.begin(), it->second.begin() + std::min(limit, it->second.size()));
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace minhbach
