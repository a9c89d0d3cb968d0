// The anchor: the ledger's last acknowledged state and last signed checkpoint, kept in a file of its own beside
// RocksDB (LEDGER/anchor), so that a store that lost acknowledged entries (a damaged write-ahead log replayed to
// an earlier point, a store copied back from an old backup) is refused at open instead of silently extending a
// shorter log and signing a fork. docs/format/storage.md section 9.
//
// Two 512-byte slots, written alternately: a torn write of one leaves the other. Each Ledger::Append writes
// the state before and after its batch; the write is synced beside the log's own sync, so at open the store
// may be at either state (a crash between the two syncs), or ahead of both (the anchor's write was lost).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "minhbach/files.h"
#include "minhbach/hash.h"
#include "minhbach/status.h"

namespace minhbach {


struct AnchorState {
  uint64_t counter = 0;  // which write this is; the slot is counter % 2
  uint64_t from_size = 0, to_size = 0;  // the store before and after the last batch
  Hash from_leaf{}, to_leaf{};          // the last leaf hash at those sizes (zeros at size 0)
  uint64_t checkpoint_size = 0;         // the last signed checkpoint (none when checkpoint_number is 0)
  uint64_t checkpoint_number = 0;       // 1 + its number in the store
  Hash checkpoint_root{};
  // The vault's whole frames end at least here when the store is at from_size / to_size: a damaged or cut
  // frame before that is damage, never taken for a torn last write (0: no bound).
  uint64_t from_vault_end = 0, to_vault_end = 0;
};

// The bound on the vault's whole frames for a store of `size` entries (VaultEndAt), and the anchor state once
// the store is known to be at `size` (a clean close, a checkpoint): both sides of the last batch at that size.
uint64_t VaultEndAt(const AnchorState& a, uint64_t size);
AnchorState SettledAt(AnchorState a, uint64_t size, const Hash& last_leaf);

class Anchor {
 public:
  Anchor() = default;

  // Creates LEDGER/anchor (which must not exist) at an empty log, synced with its folder.
  static Result<Anchor> Create(FileSystem& fs, const std::string& ledger_dir);
  // Opens it and reads the newer of its valid slots.
  static Result<Anchor> Open(FileSystem& fs, const std::string& ledger_dir, bool read_only);

  const AnchorState& state() const { return state_; }
  bool is_open() const { return file_ != nullptr; }
  // Writes `next` (its counter is set) to the other slot and syncs it (unless `sync` is false: tests only).
  Status Write(AnchorState next, bool sync = true);

 private:
  std::unique_ptr<File> file_;
  AnchorState state_;
};

// What the store must be, given the anchor: at its state after the last batch, or before it (that batch was
// never made durable), or beyond it with the anchor's last leaf at its place; and holding the anchored
// checkpoint (`checkpoints` is how many the store holds). `leaf_at(i)` is entry i's leaf hash, `root_at(n)` the root at size n. Refusals are IOErrors that
// name both sides and point at the recovery procedure.
Status CheckAnchor(const AnchorState& a, uint64_t size, const Hash& last_leaf, uint64_t checkpoints,
                   const std::function<Result<Hash>(uint64_t)>& leaf_at,
                   const std::function<Result<Hash>(uint64_t)>& root_at);

}  // namespace minhbach
