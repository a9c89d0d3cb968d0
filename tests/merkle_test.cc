// RFC 9162 Merkle tree: shared test vectors, reference roots, and proofs checked against a naive tree.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "minhbach/merkle.h"
#include "minhbach/tile_path.h"

namespace mb = minhbach;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path VectorDir() { return fs::path(MINHBACH_SHARED_DIR) / "testdata" / "rfc6962"; }

#define SKIP_WITHOUT_VECTORS()                                                                      \
  if (!fs::exists(VectorDir())) {                                                                   \
    GTEST_SKIP() << "RFC 6962 vectors not found at " << VectorDir() << " (../shared/testdata/rfc6962)"; \
  }

json Load(const fs::path& p) {
  std::ifstream in(p);
  return json::parse(in);
}

// Raw bytes of a base64 field; nullopt when it is not a base64 string (such a vector must fail).
std::optional<std::string> B(const json& j, const char* key) {
  if (!j.contains(key)) return std::string();
  if (j[key].is_null()) return std::string();
  if (!j[key].is_string()) return std::nullopt;
  auto b = mb::Base64Decode(j[key].get<std::string>());
  if (!b.ok()) return std::nullopt;
  return *b;
}

std::optional<std::vector<std::string>> Proof(const json& j) {
  std::vector<std::string> out;
  if (!j.contains("proof") || j["proof"].is_null()) return out;
  for (const auto& p : j["proof"]) {
    if (!p.is_string()) return std::nullopt;
    auto h = mb::Base64Decode(p.get<std::string>());
    if (!h.ok()) return std::nullopt;
    out.push_back(*h);
  }
  return out;
}

std::vector<fs::path> Files(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().extension() == ".json") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// A naive tree: MTH by recursion over explicit leaves (test oracle only).
struct NaiveTree : mb::NodeSource {
  std::vector<mb::Hash> leaves;
  mb::Sha256 sha;
  int reads = 0;
  mb::Hash Mth(uint64_t lo, uint64_t hi) {
    if (hi - lo == 1) return leaves[lo];
    uint64_t k = std::bit_floor(hi - lo - 1);
    return sha.Node(Mth(lo, lo + k), Mth(lo + k, hi));
  }
  mb::Result<mb::Hash> GetNode(uint32_t level, uint64_t index) override {
    ++reads;
    uint64_t lo = index << level, hi = lo + (uint64_t{1} << level);
    EXPECT_LE(hi, leaves.size()) << "asked for an incomplete node " << level << "/" << index;
    return Mth(lo, hi);
  }
};

}  // namespace

TEST(MerkleVectors, Inclusion) {
  SKIP_WITHOUT_VECTORS();
  mb::Sha256 sha;
  int ok_cases = 0, err_cases = 0;
  for (const auto& path : Files(VectorDir() / "inclusion")) {
    SCOPED_TRACE(path.string());
    json j = Load(path);
    bool want_err = j.value("wantErr", false);
    auto leaf = B(j, "leafHash");
    auto root = B(j, "root");
    auto proof = Proof(j);
    bool accepted = false;
    if (leaf && root && proof && j["leafIdx"].is_number_unsigned() && j["treeSize"].is_number_unsigned()) {
      accepted = mb::VerifyInclusionRaw(sha, j["leafIdx"].get<uint64_t>(), j["treeSize"].get<uint64_t>(), *leaf, *proof,
                                     *root)
                     .ok();
    }
    EXPECT_EQ(accepted, !want_err) << j.value("desc", "");
    (want_err ? err_cases : ok_cases)++;
  }
  EXPECT_GT(ok_cases, 0);
  EXPECT_GT(err_cases, 0);
  std::cout << "inclusion vectors: " << ok_cases << " valid accepted, " << err_cases << " invalid rejected\n";
}

TEST(MerkleVectors, Consistency) {
  SKIP_WITHOUT_VECTORS();
  mb::Sha256 sha;
  int ok_cases = 0, err_cases = 0;
  for (const auto& path : Files(VectorDir() / "consistency")) {
    SCOPED_TRACE(path.string());
    json j = Load(path);
    bool want_err = j.value("wantErr", false);
    auto r1 = B(j, "root1");
    auto r2 = B(j, "root2");
    auto proof = Proof(j);
    bool accepted = false;
    if (r1 && r2 && proof && j["size1"].is_number_unsigned() && j["size2"].is_number_unsigned()) {
      accepted =
          mb::VerifyConsistencyRaw(sha, j["size1"].get<uint64_t>(), j["size2"].get<uint64_t>(), *proof, *r1, *r2).ok();
    }
    EXPECT_EQ(accepted, !want_err) << j.value("desc", "");
    (want_err ? err_cases : ok_cases)++;
  }
  EXPECT_GT(ok_cases, 0);
  EXPECT_GT(err_cases, 0);
  std::cout << "consistency vectors: " << ok_cases << " valid accepted, " << err_cases << " invalid rejected\n";
}

TEST(MerkleVectors, ReferenceRootsFromTreeBuilderAndProofs) {
  SKIP_WITHOUT_VECTORS();
  json ref = Load(VectorDir() / "reference.json");
  mb::Sha256 sha;
  NaiveTree naive;
  mb::TreeBuilder builder;
  const auto& inputs = ref["leaf_inputs_hex"];
  const auto& roots = ref["root_hex_by_size"];
  EXPECT_EQ(mb::HexEncode(builder.Root(sha)), roots[0].get<std::string>());
  for (size_t i = 0; i < inputs.size(); ++i) {
    auto data = mb::HexDecode(inputs[i].get<std::string>());
    ASSERT_TRUE(data.ok());
    mb::Hash leaf = sha.Leaf(*data);
    naive.leaves.push_back(leaf);
    builder.AppendLeaf(sha, leaf);
    EXPECT_EQ(mb::HexEncode(builder.Root(sha)), roots[i + 1].get<std::string>()) << "size " << i + 1;
    auto root = mb::RootAt(naive, sha, i + 1);
    ASSERT_TRUE(root.ok());
    EXPECT_EQ(mb::HexEncode(*root), roots[i + 1].get<std::string>());
  }
}

// Proofs generated from nodes verify, for every (index, size) and (size1, size2) up to 70 leaves, and a
// proof for the wrong leaf or size is rejected.
TEST(Merkle, GeneratedProofsVerifyAndMutationsFail) {
  mb::Sha256 sha;
  NaiveTree tree;
  for (int i = 0; i < 70; ++i) tree.leaves.push_back(sha.Leaf(std::string(1, static_cast<char>(i))));
  for (uint64_t size = 1; size <= 70; ++size) {
    auto root = mb::RootAt(tree, sha, size);
    ASSERT_TRUE(root.ok());
    ASSERT_EQ(*root, tree.Mth(0, size));
    for (uint64_t idx = 0; idx < size; ++idx) {
      auto proof = mb::InclusionProof(tree, sha, idx, size);
      ASSERT_TRUE(proof.ok());
      EXPECT_TRUE(mb::VerifyInclusion(sha, idx, size, tree.leaves[idx], *proof, *root).ok()) << idx << "/" << size;
      EXPECT_FALSE(mb::VerifyInclusion(sha, idx, size, tree.leaves[(idx + 1) % 70], *proof, *root).ok());
      if (!proof->empty()) {
        auto bad = *proof;
        bad.back()[0] ^= 1;
        EXPECT_FALSE(mb::VerifyInclusion(sha, idx, size, tree.leaves[idx], bad, *root).ok());
      }
    }
    EXPECT_FALSE(mb::ConsistencyProof(tree, sha, 0, size).ok());
    for (uint64_t s1 = 1; s1 <= size; ++s1) {
      auto r1 = mb::RootAt(tree, sha, s1);
      auto proof = mb::ConsistencyProof(tree, sha, s1, size);
      ASSERT_TRUE(r1.ok() && proof.ok());
      EXPECT_TRUE(mb::VerifyConsistency(sha, s1, size, *proof, *r1, *root).ok()) << s1 << "->" << size;
      if (s1 > 0 && s1 < size) {
        EXPECT_FALSE(mb::VerifyConsistency(sha, s1, size, *proof, *root, *r1).ok());
      }
    }
  }
}

TEST(Merkle, ProofReadsAreLogarithmic) {
  mb::Sha256 sha;
  NaiveTree tree;
  const uint64_t n = 1000;
  for (uint64_t i = 0; i < n; ++i) tree.leaves.push_back(sha.Leaf(std::to_string(i)));
  for (uint64_t idx : {0ull, 1ull, 511ull, 998ull, 999ull}) {
    tree.reads = 0;
    ASSERT_TRUE(mb::InclusionProof(tree, sha, idx, n).ok());
    EXPECT_LE(tree.reads, 2 * 10) << "index " << idx;
  }
  tree.reads = 0;
  ASSERT_TRUE(mb::ConsistencyProof(tree, sha, 377, n).ok());
  EXPECT_LE(tree.reads, 2 * 10);
}

// The tile-backed right edge agrees with the naive tree at every size, and tiles round-trip.
TEST(Tiles, BuilderMatchesNaiveTreeAndRestores) {
  uint64_t seed = std::random_device{}();
  std::cout << "seed " << seed << "\n";
  std::mt19937_64 rng(seed);
  mb::Sha256 sha;
  NaiveTree naive;
  mb::TreeBuilder b;
  std::map<mb::TileId, std::string> store;
  const uint64_t n = 256 * 256 + 300 + rng() % 200;
  for (uint64_t i = 0; i < n; ++i) {
    mb::Hash leaf = sha.Leaf(std::to_string(i));
    naive.leaves.push_back(leaf);
    b.AppendLeaf(sha, leaf);
    if (rng() % 97 == 0 || i + 1 == n) {
      for (auto& [id, v] : b.TakeDirtyTiles()) store[id] = v;
    }
  }
  EXPECT_EQ(b.Root(sha), naive.Mth(0, n));
  // Every node in the stored tiles equals the naive node.
  for (auto& [id, v] : store) {
    auto t = mb::Tile::Decode(id, v);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    for (uint32_t r = 0; r < mb::kTileRows; ++r) {
      for (uint32_t p = 0; p < (t->width() >> r); ++p) {
        uint32_t level = id.level * mb::kTileHeight + r;
        uint64_t index = (id.index << (mb::kTileHeight - r)) + p;
        if (level >= 20) continue;
        ASSERT_EQ(t->At(r, p), naive.Mth(index << level, (index + 1) << level)) << int(id.level) << "/" << id.index;
      }
    }
  }
  std::vector<mb::Tile> edge;
  for (auto id : mb::TreeBuilder::RightEdgeTiles(n)) edge.push_back(*mb::Tile::Decode(id, store.at(id)));
  auto restored = mb::TreeBuilder::Restore(n, edge);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(restored->Root(sha), b.Root(sha));
  // A wrong size is refused.
  EXPECT_FALSE(mb::TreeBuilder::Restore(n + 1, edge).ok());
  // Tile decoding rejects truncation and bad widths.
  auto any = store.begin()->second;
  EXPECT_FALSE(mb::Tile::Decode(store.begin()->first, any.substr(0, any.size() - 1)).ok());
  EXPECT_FALSE(mb::Tile::Decode(store.begin()->first, std::string("\x00\x00", 2)).ok());
}

TEST(Hashing, EmptyAndBase64Strictness) {
  mb::Sha256 sha;
  EXPECT_EQ(sha.Digest(""), mb::Sha256::Empty());
  EXPECT_EQ(sha.DigestEvp(""), mb::Sha256::Empty());
  // FIPS 180-2 "abc"
  EXPECT_EQ(mb::HexEncode(sha.Digest("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  std::string big(1000, 'q');
  EXPECT_EQ(sha.Digest(big), sha.DigestEvp(big));
  EXPECT_EQ(sha.Leaf(big), sha.DigestEvp(std::string(1, '\0') + big));
  EXPECT_TRUE(mb::Base64Decode("aGk=").ok());
  EXPECT_FALSE(mb::Base64Decode("aGk").ok());
  EXPECT_FALSE(mb::Base64Decode("aG=k").ok());
  EXPECT_FALSE(mb::Base64Decode(" aGk=").ok());
  EXPECT_FALSE(mb::Base64Decode("aGl=").ok());  // non-canonical trailing bits
  EXPECT_FALSE(mb::HashFromBase64("aGk=").ok());
}

// Tile paths (issue 14, point 6): one module, round trips, and every index checked against overflow.
TEST(TilePaths, RoundTripAndRefuseWhatIsNotCanonicalOrWouldWrap) {
  EXPECT_EQ(mb::TileIndexPath(0), "000");
  EXPECT_EQ(mb::TileIndexPath(1234067), "x001/x234/067");
  EXPECT_EQ(mb::TilePath(5, 44), "005.p/44");
  EXPECT_EQ(mb::TileIndexPath(UINT64_MAX), "x018/x446/x744/x073/x709/x551/615");
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; ++i) {
    const uint64_t n = i < 64 ? (uint64_t{1} << i) - 1 : rng() >> (rng() % 64);
    const uint32_t w = 1 + static_cast<uint32_t>(rng() % 256);
    auto back = mb::ParseTilePath(mb::TilePath(n, w));
    ASSERT_TRUE(back.has_value()) << mb::TilePath(n, w);
    EXPECT_EQ(back->index, n);
    EXPECT_EQ(back->width, w);
  }
  for (const char* bad : {"", "1", "01", "0000", "x000/001", "x1/001", "x001/1", "001/x002", "x018/x446/x744/x073/x709/x551/616",
                          "x001/x001/x001/x001/x001/x001/x001/001", "001.p/0", "001.p/256", "001.p/012", "001.p/", "001.p/x",
                          "x001/", "/001", "x001//001", "-01"}) {
    EXPECT_FALSE(mb::ParseTilePath(bad).has_value()) << bad;
  }
  // The first node of a tile: never a wrapped product, never beyond the tree.
  EXPECT_EQ(mb::TileFirstNode(0, 0, 256, 256), std::optional<uint64_t>(0));
  EXPECT_EQ(mb::TileFirstNode(0, 1, 44, 300), std::optional<uint64_t>(256));
  EXPECT_FALSE(mb::TileFirstNode(0, 1, 45, 300).has_value());
  EXPECT_FALSE(mb::TileFirstNode(0, (uint64_t{1} << 56) - 1, 256, 1000).has_value());  // 256 * index wraps to a small number
  EXPECT_FALSE(mb::TileFirstNode(0, uint64_t{1} << 56, 256, UINT64_MAX).has_value());
  EXPECT_EQ(mb::TileFirstNode(0, (uint64_t{1} << 56) - 1, 255, UINT64_MAX), std::optional<uint64_t>(UINT64_MAX - 255));
  EXPECT_FALSE(mb::TileFirstNode(8, 0, 1, UINT64_MAX).has_value());
  EXPECT_FALSE(mb::TileFirstNode(1, 0, 1, 255).has_value());
  EXPECT_EQ(mb::TileFirstNode(1, 0, 1, 256), std::optional<uint64_t>(0));
}
