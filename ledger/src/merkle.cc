#include "minhbach/merkle.h"

#include <algorithm>
#include <bit>

namespace minhbach {
namespace {

// Largest power of two strictly less than n (n >= 2).
uint64_t SplitPoint(uint64_t n) { return std::bit_floor(n - 1); }

// MTH(D[lo:hi]) for a range whose start is aligned to a power of two >= its length: the range splits
// into complete subtrees of decreasing size (one per set bit of hi - lo), folded from the right.
Result<Hash> RangeHash(NodeSource& src, Sha256& sha, uint64_t lo, uint64_t hi) {
  Hash parts[64];
  int count = 0;
  uint64_t pos = lo;
  for (int b = 63; b >= 0; --b) {
    uint64_t bit = uint64_t{1} << b;
    if ((hi - lo) & bit) {
      MB_ASSIGN_OR_RETURN(parts[count], src.GetNode(static_cast<uint32_t>(b), pos >> b));
      ++count;
      pos += bit;
    }
  }
  Hash acc = parts[count - 1];
  for (int i = count - 2; i >= 0; --i) acc = sha.Node(parts[i], acc);
  return acc;
}

Status Mismatch(const char* what, const Hash& got, const Hash& want) {
  return Status::Corruption(std::string(what) + " mismatch: calculated " + Base64Encode(got) + ", expected " +
                            Base64Encode(want));
}

// The helpers below follow transparency-dev/merkle proof/verify.go.
Hash ChainInner(Sha256& sha, Hash seed, std::span<const Hash> proof, uint64_t index) {
  for (size_t i = 0; i < proof.size(); ++i) {
    seed = ((index >> i) & 1) == 0 ? sha.Node(seed, proof[i]) : sha.Node(proof[i], seed);
  }
  return seed;
}

Hash ChainInnerRight(Sha256& sha, Hash seed, std::span<const Hash> proof, uint64_t index) {
  for (size_t i = 0; i < proof.size(); ++i) {
    if ((index >> i) & 1) seed = sha.Node(proof[i], seed);
  }
  return seed;
}

Hash ChainBorderRight(Sha256& sha, Hash seed, std::span<const Hash> proof) {
  for (const Hash& h : proof) seed = sha.Node(h, seed);
  return seed;
}

// Number of proof nodes below the point where the path to `index` leaves the left edge of the
// right border (inner), and the number of border nodes above it.
void DecomposeInclusion(uint64_t index, uint64_t size, size_t* inner, size_t* border) {
  *inner = static_cast<size_t>(std::bit_width(index ^ (size - 1)));
  *border = static_cast<size_t>(std::popcount(index >> *inner));
}

}  // namespace

Result<Hash> RootAt(NodeSource& nodes, Sha256& sha, uint64_t size) {
  if (size == 0) return Sha256::Empty();
  return RangeHash(nodes, sha, 0, size);
}

Result<std::vector<Hash>> InclusionProof(NodeSource& nodes, Sha256& sha, uint64_t index, uint64_t size) {
  if (index >= size) {
    return Status::InvalidArgument("leaf index " + std::to_string(index) + " is not below tree size " +
                                   std::to_string(size));
  }
  // PATH(m, D[lo:hi]) of RFC 9162 2.1.3.1, unrolled top-down; the result is reversed to leaf-first order.
  std::vector<Hash> proof;
  uint64_t lo = 0, hi = size;
  while (hi - lo > 1) {
    uint64_t k = SplitPoint(hi - lo);
    if (index < lo + k) {
      MB_ASSIGN_OR_RETURN(Hash h, RangeHash(nodes, sha, lo + k, hi));
      proof.push_back(h);
      hi = lo + k;
    } else {
      MB_ASSIGN_OR_RETURN(Hash h, RangeHash(nodes, sha, lo, lo + k));
      proof.push_back(h);
      lo += k;
    }
  }
  std::reverse(proof.begin(), proof.end());
  return proof;
}

Result<std::vector<Hash>> ConsistencyProof(NodeSource& nodes, Sha256& sha, uint64_t size1, uint64_t size2) {
  if (size1 > size2) {
    return Status::InvalidArgument("old size " + std::to_string(size1) + " is larger than new size " +
                                   std::to_string(size2));
  }
  if (size1 == 0) {
    return Status::InvalidArgument("old size must be at least 1: a proof from the empty tree proves nothing");
  }
  std::vector<Hash> proof;
  if (size1 == size2) return proof;
  // SUBPROOF(m, D[lo:hi], b) of RFC 9162 2.1.4.1, unrolled top-down, then reversed.
  uint64_t lo = 0, hi = size2;
  bool whole = true;  // b: the subtree so far is the one the old root commits to
  while (true) {
    if (size1 == hi) {
      if (!whole) {
        MB_ASSIGN_OR_RETURN(Hash h, RangeHash(nodes, sha, lo, hi));
        proof.push_back(h);
      }
      break;
    }
    uint64_t k = SplitPoint(hi - lo);
    if (size1 <= lo + k) {
      MB_ASSIGN_OR_RETURN(Hash h, RangeHash(nodes, sha, lo + k, hi));
      proof.push_back(h);
      hi = lo + k;
    } else {
      MB_ASSIGN_OR_RETURN(Hash h, RangeHash(nodes, sha, lo, lo + k));
      proof.push_back(h);
      lo += k;
      whole = false;
    }
  }
  std::reverse(proof.begin(), proof.end());
  return proof;
}

Status VerifyInclusion(Sha256& sha, uint64_t index, uint64_t size, const Hash& leaf_hash,
                       std::span<const Hash> proof, const Hash& root) {
  if (index >= size) {
    return Status::Corruption("inclusion proof: leaf index " + std::to_string(index) + " >= tree size " +
                              std::to_string(size));
  }
  size_t inner = 0, border = 0;
  DecomposeInclusion(index, size, &inner, &border);
  if (proof.size() != inner + border) {
    return Status::Corruption("inclusion proof: wrong proof size " + std::to_string(proof.size()) + ", want " +
                              std::to_string(inner + border));
  }
  Hash got = ChainInner(sha, leaf_hash, proof.first(inner), index);
  got = ChainBorderRight(sha, got, proof.subspan(inner));
  if (got != root) return Mismatch("inclusion proof: root", got, root);
  return Status::Ok();
}

Status VerifyConsistency(Sha256& sha, uint64_t size1, uint64_t size2, std::span<const Hash> proof,
                         const Hash& root1, const Hash& root2) {
  if (size2 < size1) {
    return Status::Corruption("consistency proof: size2 " + std::to_string(size2) + " < size1 " +
                              std::to_string(size1));
  }
  if (size1 == 0) {
    // As in the shared RFC 6962 vectors: every tree extends the empty one, so such a proof proves nothing
    // and is refused rather than accepted vacuously.
    return Status::Corruption("consistency proof: size1 is 0 (a proof from the empty tree proves nothing)");
  }
  if (size1 == size2) {
    if (!proof.empty()) return Status::Corruption("consistency proof: sizes are equal but the proof is not empty");
    if (root1 != root2) return Mismatch("consistency proof: equal sizes, root", root1, root2);
    return Status::Ok();
  }
  if (proof.empty()) return Status::Corruption("consistency proof: empty proof");

  size_t inner = 0, border = 0;
  DecomposeInclusion(size1 - 1, size2, &inner, &border);
  const int shift = std::countr_zero(size1);
  inner -= static_cast<size_t>(shift);  // shift < inner because size1 < size2

  // The proof starts with the hash of the subtree of size 2^shift, unless size1 is exactly that size.
  Hash seed = proof[0];
  size_t start = 1;
  if (size1 == (uint64_t{1} << shift)) {
    seed = root1;
    start = 0;
  }
  if (proof.size() != start + inner + border) {
    return Status::Corruption("consistency proof: wrong proof size " + std::to_string(proof.size()) + ", want " +
                              std::to_string(start + inner + border));
  }
  std::span<const Hash> rest = proof.subspan(start);
  const uint64_t mask = (size1 - 1) >> shift;
  Hash hash1 = ChainInnerRight(sha, seed, rest.first(inner), mask);
  hash1 = ChainBorderRight(sha, hash1, rest.subspan(inner));
  if (hash1 != root1) return Mismatch("consistency proof: old root", hash1, root1);
  Hash hash2 = ChainInner(sha, seed, rest.first(inner), mask);
  hash2 = ChainBorderRight(sha, hash2, rest.subspan(inner));
  if (hash2 != root2) return Mismatch("consistency proof: new root", hash2, root2);
  return Status::Ok();
}

namespace {

Status ToHash(std::string_view raw, const std::string& what, Hash* out) {
  if (raw.size() != kHashSize) {
    return Status::Corruption(what + " is " + std::to_string(raw.size()) + " bytes, want 32");
  }
  *out = HashFromBytes(raw.data());
  return Status::Ok();
}

Status ToHashes(const std::vector<std::string>& raw, std::vector<Hash>* out) {
  out->resize(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    MB_RETURN_IF_ERROR(ToHash(raw[i], "proof[" + std::to_string(i) + "]", &(*out)[i]));
  }
  return Status::Ok();
}

}  // namespace

Status VerifyInclusionRaw(Sha256& sha, uint64_t index, uint64_t size, std::string_view leaf_hash,
                          const std::vector<std::string>& proof, std::string_view root) {
  Hash leaf, r;
  std::vector<Hash> p;
  MB_RETURN_IF_ERROR(ToHash(leaf_hash, "leaf hash", &leaf));
  MB_RETURN_IF_ERROR(ToHash(root, "root", &r));
  MB_RETURN_IF_ERROR(ToHashes(proof, &p));
  return VerifyInclusion(sha, index, size, leaf, p, r);
}

Status VerifyConsistencyRaw(Sha256& sha, uint64_t size1, uint64_t size2, const std::vector<std::string>& proof,
                            std::string_view root1, std::string_view root2) {
  if (size1 == size2 && size1 > 0) {
    // The roots are not hashed in this case: they are compared as given.
    if (!proof.empty()) return Status::Corruption("consistency proof: expected an empty proof");
    if (root1 != root2) return Status::Corruption("consistency proof: equal sizes, roots differ");
    return Status::Ok();
  }
  if (size1 == 0) return VerifyConsistency(sha, 0, size2, {}, Hash{}, Hash{});
  Hash r1, r2;
  std::vector<Hash> p;
  MB_RETURN_IF_ERROR(ToHash(root1, "root1", &r1));
  MB_RETURN_IF_ERROR(ToHash(root2, "root2", &r2));
  MB_RETURN_IF_ERROR(ToHashes(proof, &p));
  return VerifyConsistency(sha, size1, size2, p, r1, r2);
}

// ---- Tiles ----

std::string TileId::Key() const {
  std::string key(9, '\0');
  key[0] = static_cast<char>(level);
  for (int i = 0; i < 8; ++i) key[1 + i] = static_cast<char>(index >> (56 - 8 * i));
  return key;
}

std::optional<TileId> TileId::FromKey(std::string_view key) {
  if (key.size() != 9 || static_cast<uint8_t>(key[0]) >= kTileLevelsMax) return std::nullopt;
  TileId id;
  id.level = static_cast<uint8_t>(key[0]);
  for (int i = 0; i < 8; ++i) id.index = (id.index << 8) | static_cast<uint8_t>(key[1 + i]);
  return id;
}

std::optional<Hash> Tile::Append(Sha256& sha, const Hash& bottom) {
  assert(width_ < kTileWidth);
  nodes_[RowOffset(0) + width_] = bottom;
  ++width_;
  for (uint32_t r = 1; r < kTileRows; ++r) {
    if (width_ & ((1u << r) - 1)) break;  // row r gains a node only when 2^r divides the width
    uint32_t p = (width_ >> r) - 1;
    nodes_[RowOffset(r) + p] = sha.Node(At(r - 1, 2 * p), At(r - 1, 2 * p + 1));
  }
  if (width_ == kTileWidth) return At(kTileHeight, 0);
  return std::nullopt;
}

std::string Tile::Encode() const {
  std::string out;
  size_t n = 0;
  for (uint32_t r = 0; r < kTileRows; ++r) n += width_ >> r;
  out.resize(2 + n * kHashSize);
  out[0] = static_cast<char>(width_ >> 8);
  out[1] = static_cast<char>(width_ & 0xff);
  char* p = out.data() + 2;
  for (uint32_t r = 0; r < kTileRows; ++r) {
    size_t bytes = (width_ >> r) * kHashSize;
    std::memcpy(p, nodes_[RowOffset(r)].data(), bytes);
    p += bytes;
  }
  return out;
}

Result<Tile> Tile::Decode(TileId id, std::string_view value) {
  std::string name = "tile " + std::to_string(id.level) + "/" + std::to_string(id.index);
  if (value.size() < 2) return Status::Corruption(name + ": value shorter than its 2-byte width");
  uint32_t width = (static_cast<uint8_t>(value[0]) << 8) | static_cast<uint8_t>(value[1]);
  if (width == 0 || width > kTileWidth) return Status::Corruption(name + ": width " + std::to_string(width) + " not in 1..256");
  size_t n = 0;
  for (uint32_t r = 0; r < kTileRows; ++r) n += width >> r;
  if (value.size() != 2 + n * kHashSize) {
    return Status::Corruption(name + ": " + std::to_string(value.size()) + " bytes, width " + std::to_string(width) +
                              " needs " + std::to_string(2 + n * kHashSize));
  }
  Tile t(id);
  t.width_ = width;
  const char* p = value.data() + 2;
  for (uint32_t r = 0; r < kTileRows; ++r) {
    size_t bytes = (width >> r) * kHashSize;
    std::memcpy(t.nodes_[RowOffset(r)].data(), p, bytes);
    p += bytes;
  }
  return t;
}

NodeLocation LocateNode(uint32_t level, uint64_t index) {
  NodeLocation loc;
  loc.row = level % kTileHeight;
  loc.tile.level = static_cast<uint8_t>(level / kTileHeight);
  loc.tile.index = index >> (kTileHeight - loc.row);
  loc.pos = static_cast<uint32_t>(index & ((kTileWidth >> loc.row) - 1));
  return loc;
}

std::vector<TileId> TreeBuilder::RightEdgeTiles(uint64_t size) {
  std::vector<TileId> ids;
  for (uint32_t t = 0; t < kTileLevelsMax; ++t) {
    uint64_t nodes = t == 0 ? size : (size >> (kTileHeight * t));  // level-8t nodes that exist
    if (nodes == 0) break;
    ids.push_back(TileId{static_cast<uint8_t>(t), (nodes - 1) >> kTileHeight});
  }
  return ids;
}

Result<TreeBuilder> TreeBuilder::Restore(uint64_t size, std::vector<Tile> right_edge) {
  std::vector<TileId> want = RightEdgeTiles(size);
  if (right_edge.size() != want.size()) {
    return Status::Corruption("tree of size " + std::to_string(size) + " needs " + std::to_string(want.size()) +
                              " right-edge tiles, got " + std::to_string(right_edge.size()));
  }
  for (size_t t = 0; t < want.size(); ++t) {
    uint64_t nodes = size >> (kTileHeight * t);
    uint64_t width = nodes - want[t].index * kTileWidth;
    if (right_edge[t].id() != want[t] || right_edge[t].width() != width) {
      return Status::Corruption("tile " + std::to_string(want[t].level) + "/" + std::to_string(want[t].index) +
                                " has width " + std::to_string(right_edge[t].width()) + ", tree size " +
                                std::to_string(size) + " needs " + std::to_string(width));
    }
  }
  TreeBuilder b;
  b.size_ = size;
  b.edge_ = std::move(right_edge);
  b.dirty_.assign(b.edge_.size(), false);
  return b;
}

void TreeBuilder::AppendLeaf(Sha256& sha, const Hash& leaf_hash) {
  Hash cur = leaf_hash;
  for (uint32_t t = 0;; ++t) {
    if (t == edge_.size()) {
      edge_.emplace_back(TileId{static_cast<uint8_t>(t), 0});
      dirty_.push_back(false);
    } else if (edge_[t].full()) {
      edge_[t] = Tile(TileId{static_cast<uint8_t>(t), edge_[t].id().index + 1});
    }
    std::optional<Hash> top = edge_[t].Append(sha, cur);
    if (!top) {
      dirty_[t] = true;
      break;
    }
    completed_.emplace_back(edge_[t].id(), edge_[t].Encode());
    dirty_[t] = false;
    cur = *top;
  }
  ++size_;
}

std::vector<std::pair<TileId, std::string>> TreeBuilder::TakeDirtyTiles() {
  std::vector<std::pair<TileId, std::string>> out = std::move(completed_);
  completed_.clear();
  for (size_t t = 0; t < edge_.size(); ++t) {
    if (dirty_[t]) {
      out.emplace_back(edge_[t].id(), edge_[t].Encode());
      dirty_[t] = false;
    }
  }
  return out;
}

std::vector<std::pair<TileId, std::string>> TreeBuilder::TakeCompletedTiles() {
  std::vector<std::pair<TileId, std::string>> out = std::move(completed_);
  completed_.clear();
  return out;
}

std::optional<Hash> TreeBuilder::Find(uint32_t level, uint64_t index) const {
  NodeLocation loc = LocateNode(level, index);
  if (loc.tile.level >= edge_.size()) return std::nullopt;
  const Tile& tile = edge_[loc.tile.level];
  if (tile.id() != loc.tile || !tile.Has(loc.row, loc.pos)) return std::nullopt;
  return tile.At(loc.row, loc.pos);
}

Hash TreeBuilder::Root(Sha256& sha) const {
  if (size_ == 0) return Sha256::Empty();
  Hash parts[64];
  int count = 0;
  uint64_t pos = 0;
  for (int b = 63; b >= 0; --b) {
    uint64_t bit = uint64_t{1} << b;
    if (size_ & bit) {
      std::optional<Hash> h = Find(static_cast<uint32_t>(b), pos >> b);
      assert(h.has_value() && "right edge must hold every node of the root's compact range");
      parts[count++] = *h;
      pos += bit;
    }
  }
  Hash acc = parts[count - 1];
  for (int i = count - 2; i >= 0; --i) acc = sha.Node(parts[i], acc);
  return acc;
}

Result<CompactRange> CompactRange::FromNodes(uint64_t size, std::vector<Hash> nodes) {
  if (nodes.size() != static_cast<size_t>(std::popcount(size))) {
    return Status::InvalidArgument("a compact range of size " + std::to_string(size) + " has " +
                                   std::to_string(std::popcount(size)) + " nodes, got " + std::to_string(nodes.size()));
  }
  CompactRange r;
  r.size_ = size;
  r.nodes_ = std::move(nodes);
  return r;
}

void CompactRange::Append(Sha256& sha, const Hash& leaf_hash) {
  Hash h = leaf_hash;
  for (uint64_t s = size_; s & 1; s >>= 1) {  // each trailing 1 bit: a perfect subtree of that size to merge with
    h = sha.Node(nodes_.back(), h);
    nodes_.pop_back();
  }
  nodes_.push_back(h);
  ++size_;
}

Hash CompactRange::Root(Sha256& sha) const {
  if (nodes_.empty()) return Sha256::Empty();
  Hash h = nodes_.back();
  for (size_t i = nodes_.size() - 1; i-- > 0;) h = sha.Node(nodes_[i], h);
  return h;
}

std::vector<std::pair<uint32_t, uint64_t>> CompactRange::NodePositions(uint64_t size) {
  std::vector<std::pair<uint32_t, uint64_t>> out;
  uint64_t offset = 0;
  for (int level = 63; level >= 0; --level) {
    if (!(size >> level & 1)) continue;
    out.emplace_back(static_cast<uint32_t>(level), offset >> level);
    offset += uint64_t{1} << level;
  }
  return out;
}

}  // namespace minhbach
