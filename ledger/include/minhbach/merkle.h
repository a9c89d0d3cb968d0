// RFC 9162 Merkle tree: proof generation over stored tiles and a pure proof verifier.
// See docs/format/merkle.md for the hashing rules and docs/format/storage.md for the tile layout.
//
// Generating a proof reads only complete-subtree node hashes through a NodeSource: O(log n) reads,
// never a rebuild of the tree. Verification is pure: no storage, no I/O; it checks proof lengths
// first and returns a Corruption status naming what did not match.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "minhbach/hash.h"
#include "minhbach/status.h"

namespace minhbach {

// Gives the hash of a complete subtree: the node at `level` covering leaves
// [index * 2^level, (index + 1) * 2^level). Level 0 nodes are leaf hashes.
class NodeSource {
 public:
  virtual ~NodeSource() = default;
  virtual Result<Hash> GetNode(uint32_t level, uint64_t index) = 0;
};

// MTH(D[0:size]) of RFC 9162, computed from at most popcount(size) complete nodes.
Result<Hash> RootAt(NodeSource& nodes, Sha256& sha, uint64_t size);
// PATH(index, D[0:size]), ordered from the leaf upwards. Requires index < size.
Result<std::vector<Hash>> InclusionProof(NodeSource& nodes, Sha256& sha, uint64_t index, uint64_t size);
// PROOF(size1, D[0:size2]). Requires 1 <= size1 <= size2. Empty when size1 == size2.
Result<std::vector<Hash>> ConsistencyProof(NodeSource& nodes, Sha256& sha, uint64_t size1, uint64_t size2);

// Pure verifiers (RFC 9162 sections 2.1.3.2 and 2.1.4.2, with the edge cases of the shared RFC 6962
// vectors: size1 == size2 needs an empty proof and equal roots; size1 == 0 is always refused).
Status VerifyInclusion(Sha256& sha, uint64_t index, uint64_t size, const Hash& leaf_hash,
                       std::span<const Hash> proof, const Hash& root);
Status VerifyConsistency(Sha256& sha, uint64_t size1, uint64_t size2, std::span<const Hash> proof,
                         const Hash& root1, const Hash& root2);

// The same checks on raw, untrusted byte strings (e.g. from a JSON proof file): every hash that the check
// uses must be 32 bytes. When size1 == size2 the roots are compared as given, whatever their length; when
// size1 == 0 they are not used (any tree is consistent with the empty one).
Status VerifyInclusionRaw(Sha256& sha, uint64_t index, uint64_t size, std::string_view leaf_hash,
                          const std::vector<std::string>& proof, std::string_view root);
Status VerifyConsistencyRaw(Sha256& sha, uint64_t size1, uint64_t size2, const std::vector<std::string>& proof,
                            std::string_view root1, std::string_view root2);

// The compact range [0, size) of RFC 9162 / transparency-dev "compact": the roots of the perfect subtrees
// of the binary decomposition of size, largest (leftmost) first: popcount(size) hashes. Enough to compute the
// root and to keep appending leaves without the rest of the tree (incremental audit bundles use it).
class CompactRange {
 public:
  CompactRange() = default;
  // Checks that `nodes` has popcount(size) hashes.
  static Result<CompactRange> FromNodes(uint64_t size, std::vector<Hash> nodes);
  uint64_t size() const { return size_; }
  const std::vector<Hash>& nodes() const { return nodes_; }
  void Append(Sha256& sha, const Hash& leaf_hash);
  // MTH(D[0:size]); SHA-256 of the empty string for size 0.
  Hash Root(Sha256& sha) const;
  // (level, index) of each node of the compact range of `size`, in order.
  static std::vector<std::pair<uint32_t, uint64_t>> NodePositions(uint64_t size);

 private:
  uint64_t size_ = 0;
  std::vector<Hash> nodes_;
};

// ---- Tiles: how the tree's node hashes are stored ----
//
// A tile holds a height-8 subtree: tile (t, i) covers tree levels 8t .. 8t+8 above the level-8t nodes
// [256 i, 256 i + 256). It stores every node of those 9 rows that is complete: row r (0..8) holds
// `width >> r` hashes, where width (1..256) is how many level-8t nodes exist so far. A tile only ever
// grows, so a node complete at an old tree size is found in any later version of its tile.
inline constexpr uint32_t kTileHeight = 8;
inline constexpr uint32_t kTileWidth = 1u << kTileHeight;   // 256
inline constexpr uint32_t kTileRows = kTileHeight + 1;      // 9
inline constexpr uint32_t kTileNodesMax = 2 * kTileWidth - 1;  // 511
inline constexpr uint32_t kTileLevelsMax = 8;  // 8 tile levels cover trees up to 2^64 leaves

struct TileId {
  uint8_t level = 0;   // tile level t
  uint64_t index = 0;  // tile index i
  auto operator<=>(const TileId&) const = default;
  std::string Key() const;  // 9 bytes: t || big-endian i
  static std::optional<TileId> FromKey(std::string_view key);
};

class Tile {
 public:
  Tile() = default;
  Tile(TileId id) : id_(id) {}
  const TileId& id() const { return id_; }
  uint32_t width() const { return width_; }
  bool full() const { return width_ == kTileWidth; }
  // Hash at row r, position p; requires p < width >> r.
  const Hash& At(uint32_t row, uint32_t pos) const { return nodes_[RowOffset(row) + pos]; }
  bool Has(uint32_t row, uint32_t pos) const { return row < kTileRows && pos < (width_ >> row); }
  // Appends the next level-8t node, completing every row above that it finishes. Returns the
  // top (row 8) hash when the tile becomes full.
  std::optional<Hash> Append(Sha256& sha, const Hash& bottom);

  // Value bytes: 2-byte big-endian width, then rows 0..8, row r holding width >> r hashes.
  std::string Encode() const;
  static Result<Tile> Decode(TileId id, std::string_view value);

  static constexpr uint32_t RowOffset(uint32_t row) {
    // rows are packed bottom-up: 256, 128, 64, ... 1
    return 2 * kTileWidth - (2 * kTileWidth >> row);
  }

 private:
  TileId id_;
  uint32_t width_ = 0;
  std::array<Hash, kTileNodesMax> nodes_{};
};

// Where the node (level, index) lives: tile (level / 8, (index << r) >> 8), row r = level % 8.
struct NodeLocation {
  TileId tile;
  uint32_t row;
  uint32_t pos;
};
NodeLocation LocateNode(uint32_t level, uint64_t index);

// The right edge of the tree: the one growing tile at each tile level. Appending leaves updates it and
// records every tile that changed, ready to be written in the same batch as the entries.
class TreeBuilder {
 public:
  TreeBuilder() = default;
  uint64_t size() const { return size_; }
  // Restores the right edge of a tree of `size` leaves from its rightmost tiles (one per tile level,
  // bottom first, as RightEdgeTiles(size) names them). Checks that their widths agree with size.
  static Result<TreeBuilder> Restore(uint64_t size, std::vector<Tile> right_edge);
  // The ids of the rightmost tile at each tile level for a tree of `size` leaves (empty when size is 0).
  static std::vector<TileId> RightEdgeTiles(uint64_t size);

  void AppendLeaf(Sha256& sha, const Hash& leaf_hash);
  // Tiles changed since the last call, encoded (completed tiles in completion order, then the
  // partial right-edge tiles). Clears the change record.
  std::vector<std::pair<TileId, std::string>> TakeDirtyTiles();
  // Only the tiles completed since the last call (verify compares them as soon as they are final).
  std::vector<std::pair<TileId, std::string>> TakeCompletedTiles();
  // Node lookup in the in-memory right edge; nullopt when not held here.
  std::optional<Hash> Find(uint32_t level, uint64_t index) const;
  // Root of the current tree (no storage reads: the right edge holds every node needed).
  Hash Root(Sha256& sha) const;

 private:
  uint64_t size_ = 0;
  std::vector<Tile> edge_;       // edge_[t] is the growing tile at tile level t
  std::vector<bool> dirty_;      // edge_[t] changed and was not yet taken
  std::vector<std::pair<TileId, std::string>> completed_;
};

}  // namespace minhbach
