// Ledger::Verify: recompute everything from genesis. See docs/architecture.md "verify".
#include <rocksdb/db.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <thread>

#include "ledger_impl.h"

namespace minhbach {
namespace {

std::string TileName(TileId id) {
  // Tile (t, i) covers leaves [i * 256^(t+1), (i+1) * 256^(t+1)).
  const uint32_t shift = kTileHeight * (id.level + 1u);
  uint64_t first = shift >= 64 ? 0 : id.index << shift;
  return "tile " + std::to_string(id.level) + "/" + std::to_string(id.index) + " (from entry " +
         std::to_string(first) + ")";
}

// Order-independent digest of (idempotency key, seq) pairs: the index must hold exactly the log's keys.
// Not cryptographic: it guards the store's own consistency, and the index is not part of what is signed.
uint64_t Mix(std::string_view key, uint64_t seq) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : key) h = (h ^ c) * 1099511628211ull;
  h ^= seq + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  h ^= h >> 31;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 29;
  return h;
}

struct ParsedCheckpoint {
  uint64_t number;
  Checkpoint cp;
};

Status LoadCheckpoints(const Ledger& ledger, const Verifier& key, uint64_t size, std::vector<ParsedCheckpoint>* out) {
  MB_ASSIGN_OR_RETURN(auto stored, ledger.Checkpoints());
  for (const StoredCheckpoint& s : stored) {
    std::string name = "checkpoint #" + std::to_string(s.number);
    auto note = ParseNote(s.note);
    if (!note.ok()) return Status::Corruption(name + ": " + note.status().message());
    MB_RETURN_IF_ERROR(VerifyNote(*note, key).WithContext(name));
    auto cp = Checkpoint::Parse(note->text);
    if (!cp.ok()) return Status::Corruption(name + ": " + cp.status().message());
    if (cp->origin != ledger.origin()) {
      return Status::Corruption(name + ": origin '" + cp->origin + "' is not this log's '" + ledger.origin() + "'");
    }
    if (cp->size > size) {
      return Status::Corruption(name + ": tree size " + std::to_string(cp->size) + " is beyond the log size " +
                                std::to_string(size) + " (entries were removed)");
    }
    out->push_back({s.number, std::move(cp).value()});
  }
  std::stable_sort(out->begin(), out->end(),
                   [](const ParsedCheckpoint& a, const ParsedCheckpoint& b) { return a.cp.size < b.cp.size; });
  return Status::Ok();
}

}  // namespace

Status Ledger::Verify(const VerifyOptions& options, VerifyReport* report) const {
  MB_RETURN_IF_ERROR(impl_->Usable());
  const Impl& m = *impl_;
  auto t0 = std::chrono::steady_clock::now();
  const Verifier& key = options.key ? *options.key : *m.verifier;
  const uint64_t size = m.size;
  std::vector<ParsedCheckpoint> cps;
  MB_RETURN_IF_ERROR(LoadCheckpoints(*this, key, size, &cps));
  size_t next_cp = 0;
  Sha256 sha;
  TreeBuilder tree;
  auto check_checkpoints = [&]() -> Status {
    for (; next_cp < cps.size() && cps[next_cp].cp.size == tree.size(); ++next_cp) {
      Hash root = tree.Root(sha);
      if (root != cps[next_cp].cp.root) {
        return Status::Corruption("checkpoint #" + std::to_string(cps[next_cp].number) + " (size " +
                                  std::to_string(tree.size()) + "): signed root " + Base64Encode(cps[next_cp].cp.root) +
                                  " does not match the recomputed root " + Base64Encode(root) +
                                  " (the log was rewritten)");
      }
    }
    return Status::Ok();
  };
  auto compare_tile = [&](TileId id, const std::string& want, uint64_t* tiles) -> Status {
    std::string got;
    rocksdb::Status s = m.db->Get(rocksdb::ReadOptions(), m.tree, id.Key(), &got);
    if (s.IsNotFound()) return Status::Corruption(TileName(id) + ": missing");
    MB_RETURN_IF_ERROR(FromRocks(s, "reading " + TileName(id)));
    if (got != want) return Status::Corruption(TileName(id) + ": stored node hashes do not match the recomputed ones");
    ++*tiles;
    return Status::Ok();
  };
  MB_RETURN_IF_ERROR(check_checkpoints());

  rocksdb::ReadOptions ro;
  ro.readahead_size = 4 << 20;
  ro.fill_cache = false;
  ro.verify_checksums = true;
  std::unique_ptr<rocksdb::Iterator> it(m.db->NewIterator(ro, m.entries));
  uint64_t expect = 0;
  uint64_t index_digest = 0;
  uint64_t tiles = 0;
  Hash prev{};
  std::optional<Tile> stored_leaves;  // the stored level-0 tile holding `expect`
  DomainState domain;                 // replayed from genesis: every invariant re-checked
  EntryLookup lookup = [this](uint64_t target) { return GetEntry(target); };
  // Entries are read in chunks. The per-entry work that needs nothing from other entries (decoding with
  // every field rule, the leaf hash) is split across two threads; everything that runs in log order (chain,
  // tiles, checkpoints, domain replay) then walks the chunk, so errors are still reported at the first bad
  // sequence number.
  constexpr size_t kChunkEntries = 4096;
  std::vector<std::string> chunk;
  std::vector<std::optional<Result<EntryReader>>> readers;
  std::vector<Hash> leaves;
  Status pending;  // a problem with the keys themselves, reported after the entries before it
  it->SeekToFirst();
  while (pending.ok() && it->Valid()) {
    const uint64_t first = expect;
    chunk.clear();
    for (; it->Valid() && chunk.size() < kChunkEntries; it->Next()) {
      const uint64_t at = first + chunk.size();
      std::string_view k = it->key().ToStringView();
      if (k.size() != 8) {
        pending = Status::Corruption("entry " + std::to_string(at) + ": malformed key of " + std::to_string(k.size()) + " bytes");
        break;
      }
      uint64_t key_seq = DecodeBE64(k);
      if (key_seq != at || at >= size) {
        pending = at >= size ? Status::Corruption("entry " + std::to_string(key_seq) + ": exists beyond the head (size " +
                                                  std::to_string(size) + ")")
                             : Status::Corruption("entry " + std::to_string(at) + ": missing (next stored entry is " +
                                                  std::to_string(key_seq) + ")");
        break;
      }
      chunk.emplace_back(it->value().ToStringView());
    }
    const size_t n = chunk.size();
    readers.clear();
    readers.resize(n);
    leaves.resize(n);
    auto work = [&](size_t lo, size_t hi) {
      Sha256 local;
      for (size_t i = lo; i < hi; ++i) {
        readers[i] = EntryReader::Open(chunk[i]);
        leaves[i] = local.Leaf(chunk[i]);
      }
    };
    if (n >= 512) {
      std::thread helper(work, n / 2, n);
      work(0, n / 2);
      helper.join();
    } else {
      work(0, n);
    }
    for (size_t i = 0; i < n; ++i, ++expect) {
      // Built only when a check fails: this loop runs once per entry.
      auto where = [expect] { return "entry " + std::to_string(expect); };
      Result<EntryReader>& reader = *readers[i];
      if (!reader.ok()) return reader.status().WithContext(where());
      const schema::Entry::Reader root = reader->root();
      if (root.getSeq() != expect) {
        return Status::Corruption(where() + ": holds seq " + std::to_string(root.getSeq()) + " (entries moved or swapped)");
      }
      const Hash& leaf = leaves[i];
      const uint32_t pos = static_cast<uint32_t>(expect % kTileWidth);
      if (pos == 0 || !stored_leaves) {
        TileId id{0, expect / kTileWidth};
        auto t = m.GetTile(id);
        if (!t.ok()) return t.status().WithContext(where());
        stored_leaves = std::move(t).value();
      }
      if (!stored_leaves->Has(0, pos)) {
        return Status::Corruption(where() + ": no leaf hash in " + TileName(stored_leaves->id()) + " (tree nodes truncated)");
      }
      if (stored_leaves->At(0, pos) != leaf) {
        return Status::Corruption(where() + ": stored hash does not match recomputed (entry bytes or tree altered)");
      }
      if (std::memcmp(root.getPrevHash().begin(), prev.data(), kHashSize) != 0) {
        return Status::Corruption(where() + ": chain link (prevHash) does not match the leaf hash of entry " +
                                  std::to_string(expect == 0 ? 0 : expect - 1));
      }
      index_digest += Mix(std::string_view(root.getIdempotencyKey().cStr(), root.getIdempotencyKey().size()), expect);
      if (Status st = domain.Apply(expect, root.getPayload(), lookup); !st.ok()) {
        return Status::Corruption(where() + ": breaks a domain invariant: " + st.message());
      }
      tree.AppendLeaf(sha, leaf);
      prev = leaf;
      for (auto& [id, value] : tree.TakeCompletedTiles()) MB_RETURN_IF_ERROR(compare_tile(id, value, &tiles));
      MB_RETURN_IF_ERROR(check_checkpoints());
      if (options.progress && (expect & 0xFFFF) == 0xFFFF) options.progress(expect + 1, size);
    }
  }
  if (!pending.ok()) return pending;
  MB_RETURN_IF_ERROR(FromRocks(it->status(), "scanning entries"));
  if (expect < size) {
    return Status::Corruption("entry " + std::to_string(expect) + ": missing (head says " + std::to_string(size) +
                              " entries)");
  }
  for (auto& [id, value] : tree.TakeDirtyTiles()) MB_RETURN_IF_ERROR(compare_tile(id, value, &tiles));
  if (size > 0 && prev != m.last_leaf) return Status::Corruption("head record: last leaf hash does not match entry " + std::to_string(size - 1));
  if (next_cp != cps.size()) return Status::Internal("checkpoint left unchecked");

  // No stray tiles: the store holds exactly the tiles the log needs.
  uint64_t stored_tiles = 0;
  {
    std::unique_ptr<rocksdb::Iterator> ti(m.db->NewIterator(ro, m.tree));
    for (ti->SeekToFirst(); ti->Valid(); ti->Next()) ++stored_tiles;
    MB_RETURN_IF_ERROR(FromRocks(ti->status(), "scanning tiles"));
  }
  if (stored_tiles != tiles) {
    return Status::Corruption("tree: " + std::to_string(stored_tiles) + " tiles stored, the log needs " +
                              std::to_string(tiles));
  }
  // The idempotency index holds exactly one key per entry, pointing at it.
  uint64_t stored_digest = 0, stored_keys = 0;
  {
    std::unique_ptr<rocksdb::Iterator> ii(m.db->NewIterator(ro, m.index));
    for (ii->SeekToFirst(); ii->Valid(); ii->Next(), ++stored_keys) {
      if (ii->value().size() != 8) return Status::Corruption("idempotency index: value is not 8 bytes");
      stored_digest += Mix(ii->key().ToStringView(), DecodeBE64(ii->value().ToStringView()));
    }
    MB_RETURN_IF_ERROR(FromRocks(ii->status(), "scanning the idempotency index"));
  }
  if (stored_keys != size || stored_digest != index_digest) {
    return Status::Corruption("idempotency index disagrees with the log (" + std::to_string(stored_keys) +
                              " keys indexed for " + std::to_string(size) + " entries)");
  }
  if (Status c = domain.CheckConservation(); !c.ok()) return Status::Corruption("domain state: " + c.message());
  // The stored domain state is exactly what replay gives.
  {
    std::map<std::string, std::string> want = domain.Records();
    std::unique_ptr<rocksdb::Iterator> si(m.db->NewIterator(ro, m.state));
    auto w = want.begin();
    for (si->SeekToFirst(); si->Valid(); si->Next(), ++w) {
      std::string key = si->key().ToString();
      if (w == want.end() || w->first != key) {
        std::string replay_key = w == want.end() ? "nothing" : w->first;
        return Status::Corruption("domain state: stored record '" + key + "' where replay gives '" + replay_key + "'");
      }
      if (si->value().ToStringView() != w->second) {
        return Status::Corruption("domain state: record '" + key + "' is " + si->value().ToString() +
                                  ", replay gives " + w->second);
      }
    }
    MB_RETURN_IF_ERROR(FromRocks(si->status(), "scanning domain state"));
    if (w != want.end()) return Status::Corruption("domain state: record '" + w->first + "' is missing");
  }
  if (options.progress) options.progress(size, size);
  if (report) {
    report->entries = size;
    report->checkpoints = cps.size();
    report->tiles = tiles;
    report->root = tree.Root(sha);
    report->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  return Status::Ok();
}

}  // namespace minhbach
