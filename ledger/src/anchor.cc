#include "anchor.h"

#include <cstring>
#include <filesystem>
#include <optional>

#include "file_io.h"
#include "ledger_impl.h"
#include "minhbach/crc32c.h"
#include "minhbach/ledger.h"

namespace minhbach {
namespace fs = std::filesystem;

namespace {

// A slot: magic (16) | counter | from_size | from_leaf | to_size | to_leaf | checkpoint_number |
// checkpoint_size | checkpoint_root, integers BE64, then zeros, and BE32 CRC-32C of bytes 0..507 at 508.
constexpr size_t kSlotBytes = 512, kCrcAt = kSlotBytes - 4;
constexpr char kMagic[17] = "minhbach-anchor1";

void PutHash(std::string* out, const Hash& h) { out->append(reinterpret_cast<const char*>(h.data()), kHashSize); }

std::string EncodeSlot(const AnchorState& a) {
  std::string s(kMagic, 16);
  s += SeqKey(a.counter) + SeqKey(a.from_size);
  PutHash(&s, a.from_leaf);
  s += SeqKey(a.to_size);
  PutHash(&s, a.to_leaf);
  s += SeqKey(a.checkpoint_number) + SeqKey(a.checkpoint_size);
  PutHash(&s, a.checkpoint_root);
  s += SeqKey(a.from_vault_end) + SeqKey(a.to_vault_end);
  s.resize(kSlotBytes, '\0');
  const uint32_t crc = Crc32c(0, s.data(), kCrcAt);
  for (int i = 0; i < 4; ++i) s[kCrcAt + i] = static_cast<char>(crc >> (24 - 8 * i));
  return s;
}

std::optional<AnchorState> DecodeSlot(std::string_view s) {
  if (s.size() != kSlotBytes || s.substr(0, 16) != std::string_view(kMagic, 16)) return std::nullopt;
  uint32_t crc = 0;
  for (int i = 0; i < 4; ++i) crc = (crc << 8) | static_cast<unsigned char>(s[kCrcAt + i]);
  if (Crc32c(0, s.data(), kCrcAt) != crc) return std::nullopt;
  AnchorState a;
  const char* p = s.data() + 16;
  auto u64 = [&] { const uint64_t v = DecodeBE64(std::string_view(p, 8)); p += 8; return v; };
  auto hash = [&] { Hash h = HashFromBytes(p); p += kHashSize; return h; };
  a.counter = u64();
  a.from_size = u64();
  a.from_leaf = hash();
  a.to_size = u64();
  a.to_leaf = hash();
  a.checkpoint_number = u64();
  a.checkpoint_size = u64();
  a.checkpoint_root = hash();
  a.from_vault_end = u64();  // zeros in a slot written before these fields: no bound
  a.to_vault_end = u64();
  return a;
}

std::string Describe(uint64_t size, const Hash& leaf) {
  return std::to_string(size) + " entries (last leaf " + HexEncode(leaf).substr(0, 16) + "…)";
}

Status Behind(const std::string& what) {
  return Status::IOError("the store is behind its anchor: " + what +
                         ". Entries that were acknowledged are missing from db/ (a damaged write-ahead log, or an "
                         "old copy of db/ put back); the ledger refuses to go on from a shorter log. See "
                         "docs/format/storage.md section 9.3 for the recovery procedure");
}

}  // namespace

Result<Anchor> Anchor::Create(FileSystem& files, const std::string& ledger_dir) {
  Anchor a;
  const std::string path = (fs::path(ledger_dir) / kAnchorFileName).string();
  AnchorState first;
  first.counter = 1;
  std::string bytes = EncodeSlot(AnchorState{}) + EncodeSlot(first);  // slot 0 empty-but-valid, slot 1 current
  MB_RETURN_IF_ERROR(WriteNewFileDurably(files, path, bytes, 0600));
  MB_ASSIGN_OR_RETURN(a.file_, files.Open(path, OpenMode::kWrite));
  a.state_ = first;
  return a;
}

Result<Anchor> Anchor::Open(FileSystem& files, const std::string& ledger_dir, bool read_only) {
  Anchor a;
  const std::string path = (fs::path(ledger_dir) / kAnchorFileName).string();
  auto file = files.Open(path, read_only ? OpenMode::kRead : OpenMode::kWrite);
  if (!file.ok()) {
    return Status::IOError("the ledger's anchor cannot be opened (" + file.status().message() +
                           "): without it a rolled-back store cannot be told from a whole one; see "
                           "docs/format/storage.md section 9.3");
  }
  a.file_ = std::move(*file);
  std::string bytes(2 * kSlotBytes, '\0');
  MB_RETURN_IF_ERROR(a.file_->ReadAt(0, bytes.data(), bytes.size()));
  auto s0 = DecodeSlot(std::string_view(bytes).substr(0, kSlotBytes));
  auto s1 = DecodeSlot(std::string_view(bytes).substr(kSlotBytes));
  if (!s0 && !s1) return Status::Corruption(path + ": neither slot is valid (magic or crc)");
  a.state_ = !s1 || (s0 && s0->counter > s1->counter) ? *s0 : *s1;
  return a;
}

uint64_t VaultEndAt(const AnchorState& a, uint64_t size) {
  return size == a.from_size && size != a.to_size ? a.from_vault_end : a.to_vault_end;
}

AnchorState SettledAt(AnchorState a, uint64_t size, const Hash& last_leaf) {
  a.from_vault_end = a.to_vault_end = VaultEndAt(a, size);
  a.from_size = a.to_size = size;
  a.from_leaf = a.to_leaf = last_leaf;
  return a;
}

Status Anchor::Write(AnchorState next, bool sync) {
  next.counter = state_.counter + 1;
  const std::string slot = EncodeSlot(next);
  MB_RETURN_IF_ERROR(file_->WriteAt((next.counter % 2) * kSlotBytes, slot));
  if (sync) MB_RETURN_IF_ERROR(file_->Sync());
  state_ = next;
  return Status::Ok();
}

Status CheckAnchor(const AnchorState& a, uint64_t size, const Hash& last_leaf, uint64_t checkpoints,
                   const std::function<Result<Hash>(uint64_t)>& leaf_at,
                   const std::function<Result<Hash>(uint64_t)>& root_at) {
  const bool at_to = size == a.to_size && last_leaf == a.to_leaf;
  const bool at_from = size == a.from_size && last_leaf == a.from_leaf;
  if (!at_to && !at_from) {
    if (size < a.to_size && size != a.from_size) {
      return Behind("the anchor says " + Describe(a.to_size, a.to_leaf) + ", the store has " + Describe(size, last_leaf));
    }
    if (size <= a.to_size) {  // as long, but other entries: not a loss, a store rewritten or swapped
      return Status::Corruption("the store does not match its anchor: the anchor says " + Describe(a.to_size, a.to_leaf) +
                                ", the store has " + Describe(size, last_leaf) +
                                " (its entries were rewritten, or db/ is another ledger's)");
    }
    // The store went on after the anchor's last write (that write was lost): the anchored entry must be in it.
    if (a.to_size > 0) {
      MB_ASSIGN_OR_RETURN(Hash there, leaf_at(a.to_size - 1));
      if (there != a.to_leaf) {
        return Status::Corruption("the store does not match its anchor: its entry " + std::to_string(a.to_size - 1) +
                                  " is not the one the anchor recorded (its entries were rewritten, or db/ is "
                                  "another ledger's)");
      }
    }
  }
  if (a.checkpoint_number == 0) return Status::Ok();
  if (checkpoints < a.checkpoint_number) {
    return Behind("checkpoint " + std::to_string(a.checkpoint_number - 1) + " was signed and stored, the store holds " +
                  std::to_string(checkpoints) + " checkpoints");
  }
  if (size < a.checkpoint_size) {
    return Behind("checkpoint " + std::to_string(a.checkpoint_number - 1) + " was signed at size " +
                  std::to_string(a.checkpoint_size) + ", the store has " + std::to_string(size) + " entries");
  }
  MB_ASSIGN_OR_RETURN(Hash root, root_at(a.checkpoint_size));
  if (root != a.checkpoint_root) {
    return Behind("the store's root at size " + std::to_string(a.checkpoint_size) + " is not the one of signed checkpoint " +
                  std::to_string(a.checkpoint_number - 1));
  }
  return Status::Ok();
}

}  // namespace minhbach
