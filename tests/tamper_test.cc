// Tampering through the RocksDB API: each attack on the stored log is caught by open or verify, at the
// right sequence number.
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <capnp/message.h>
#include <rocksdb/write_batch.h>

#include "minhbach/ledger.h"
#include "test_util.h"

namespace mb = minhbach;
using mb::testing::TempDir;

namespace {

constexpr uint64_t kEntries = 1000;  // four level-0 tiles: 0..255, 256..511, 512..767, 768..999

std::string Key(uint64_t seq) {
  std::string k(8, '\0');
  for (int i = 0; i < 8; ++i) k[i] = static_cast<char>(seq >> (56 - 8 * i));
  return k;
}

// Direct access to the ledger's RocksDB store, as an attacker with disk access would have.
class RawStore {
 public:
  explicit RawStore(const std::string& ledger_dir) {
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const char* n : {"default", "entries", "tree", "index", "meta", "state"}) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    rocksdb::DB* db = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(rocksdb::DBOptions(), ledger_dir + "/db", cfs, &h_, &db);
    EXPECT_TRUE(s.ok()) << s.ToString();
    db_.reset(db);
  }
  ~RawStore() {
    for (auto* h : h_) db_->DestroyColumnFamilyHandle(h);
  }
  rocksdb::ColumnFamilyHandle* entries() { return h_[1]; }
  rocksdb::ColumnFamilyHandle* tree() { return h_[2]; }
  rocksdb::ColumnFamilyHandle* index() { return h_[3]; }
  rocksdb::ColumnFamilyHandle* meta() { return h_[4]; }
  std::string Get(rocksdb::ColumnFamilyHandle* cf, const std::string& k) {
    std::string v;
    EXPECT_TRUE(db_->Get(rocksdb::ReadOptions(), cf, k, &v).ok());
    return v;
  }
  void Put(rocksdb::ColumnFamilyHandle* cf, const std::string& k, const std::string& v) {
    ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(), cf, k, v).ok());
  }
  void Delete(rocksdb::ColumnFamilyHandle* cf, const std::string& k) {
    ASSERT_TRUE(db_->Delete(rocksdb::WriteOptions(), cf, k).ok());
  }

 private:
  std::vector<rocksdb::ColumnFamilyHandle*> h_;
  std::unique_ptr<rocksdb::DB> db_;
};

// The entry's canonical bytes with its note amount set to `amount` (a well-formed forgery).
std::string WithAmount(const std::string& bytes, int64_t amount) {
  auto reader = mb::EntryReader::Open(bytes);
  EXPECT_TRUE(reader.ok());
  capnp::MallocMessageBuilder msg;
  msg.setRoot(reader->root());
  msg.getRoot<mb::schema::Entry>().getPayload().getNote().setAmount(amount);
  kj::Array<capnp::word> words = capnp::canonicalize(msg.getRoot<mb::schema::Entry>().asReader());
  return std::string(reinterpret_cast<const char*>(words.asBytes().begin()), words.asBytes().size());
}

class Tamper : public ::testing::Test {
 protected:
  void SetUp() override {
    auto l = mb::Ledger::Create(dir_.Sub("l"), "test.example/tamper", mb::testing::NullLogger(),
                                mb::testing::FixedClock());
    ASSERT_TRUE(l.ok());
    ASSERT_TRUE((*l)->Append(mb::testing::Events(600, "a"), {}).ok());
    ASSERT_TRUE((*l)->SignCheckpoint().ok());
    ASSERT_TRUE((*l)->Append(mb::testing::Events(kEntries - 600, "b"), {}).ok());
    ASSERT_TRUE((*l)->SignCheckpoint().ok());
    ASSERT_TRUE((*l)->Verify({}, nullptr).ok());
  }
  // Opens the tampered ledger and verifies; returns the first error (from open or verify).
  mb::Status OpenAndVerify() {
    auto l = mb::Ledger::Open(dir_.Sub("l"), mb::testing::NullLogger());
    if (!l.ok()) return l.status();
    return (*l)->Verify({}, nullptr);
  }
  void ExpectCaught(const std::string& want) {
    mb::Status s = OpenAndVerify();
    ASSERT_FALSE(s.ok()) << "tampering was not detected";
    EXPECT_TRUE(s.IsCorruption()) << s.ToString();
    EXPECT_NE(s.message().find(want), std::string::npos) << "got: " << s.message() << "\nwanted: " << want;
  }
  TempDir dir_;
};

}  // namespace

TEST_F(Tamper, ChangedByteInEntry) {
  {
    RawStore raw(dir_.Sub("l"));
    std::string v = raw.Get(raw.entries(), Key(300));
    size_t p = v.find("evidence");
    ASSERT_NE(p, std::string::npos);
    v[p] = 'E';  // still canonical, still valid text: only the hash can tell
    raw.Put(raw.entries(), Key(300), v);
  }
  ExpectCaught("entry 300: stored hash does not match recomputed");
}

TEST_F(Tamper, ChangedAmountBitInEntry) {
  {
    RawStore raw(dir_.Sub("l"));
    raw.Put(raw.entries(), Key(77), WithAmount(raw.Get(raw.entries(), Key(77)), 1'000'000));
  }
  ExpectCaught("entry 77: stored hash does not match recomputed");
}

TEST_F(Tamper, DeletedEntry) {
  {
    RawStore raw(dir_.Sub("l"));
    raw.Delete(raw.entries(), Key(500));
  }
  ExpectCaught("entry 500: missing");
}

TEST_F(Tamper, DeletedLastEntryIsCaughtAtOpen) {
  {
    RawStore raw(dir_.Sub("l"));
    raw.Delete(raw.entries(), Key(kEntries - 1));
  }
  ExpectCaught("entry 999");
}

TEST_F(Tamper, SwappedEntries) {
  {
    RawStore raw(dir_.Sub("l"));
    std::string a = raw.Get(raw.entries(), Key(100)), b = raw.Get(raw.entries(), Key(101));
    raw.Put(raw.entries(), Key(100), b);
    raw.Put(raw.entries(), Key(101), a);
  }
  ExpectCaught("entry 100: holds seq 101");
}

TEST_F(Tamper, DeletedTreeTile) {
  {
    RawStore raw(dir_.Sub("l"));
    raw.Delete(raw.tree(), mb::TileId{0, 2}.Key());
  }
  ExpectCaught("entry 512: tile 0/2 is missing");
}

TEST_F(Tamper, TruncatedTreeTile) {
  {
    RawStore raw(dir_.Sub("l"));
    std::string v = raw.Get(raw.tree(), mb::TileId{0, 1}.Key());
    auto t = mb::Tile::Decode(mb::TileId{0, 1}, v);
    ASSERT_TRUE(t.ok());
    // Rebuild the tile with only its first 100 leaves.
    mb::Sha256 sha;
    mb::Tile small(mb::TileId{0, 1});
    for (uint32_t i = 0; i < 100; ++i) (void)small.Append(sha, t->At(0, i));
    raw.Put(raw.tree(), mb::TileId{0, 1}.Key(), small.Encode());
  }
  ExpectCaught("entry 356: no leaf hash in tile 0/1");
}

TEST_F(Tamper, ChangedUpperTreeNode) {
  {
    RawStore raw(dir_.Sub("l"));
    std::string v = raw.Get(raw.tree(), mb::TileId{0, 0}.Key());
    v[v.size() - 5] ^= 0x40;  // the tile's top node (row 8)
    raw.Put(raw.tree(), mb::TileId{0, 0}.Key(), v);
  }
  ExpectCaught("tile 0/0 (from entry 0): stored node hashes do not match the recomputed ones");
}

TEST_F(Tamper, RewrittenHistoryIsCaughtOnlyByTheSignedCheckpoints) {
  // The attacker changes entry 10's amount and recomputes everything after it: every chain link, every
  // tile and the head. Only the signed checkpoints still hold the old roots.
  {
    RawStore raw(dir_.Sub("l"));
    mb::Sha256 sha;
    mb::TreeBuilder tree;
    mb::Hash prev{};
    for (uint64_t s = 0; s < kEntries; ++s) {
      std::string stored = raw.Get(raw.entries(), Key(s));
      mb::Entry e = *mb::DecodeEntry(s == 10 ? WithAmount(stored, 1) : stored);
      e.prev_hash = prev;
      std::string bytes = *mb::EncodeEntry(e);
      raw.Put(raw.entries(), Key(s), bytes);
      prev = sha.Leaf(bytes);
      tree.AppendLeaf(sha, prev);
    }
    for (auto& [id, v] : tree.TakeDirtyTiles()) raw.Put(raw.tree(), id.Key(), v);
    std::string head = Key(kEntries) + std::string(mb::AsView(prev));
    raw.Put(raw.meta(), "head", head);
  }
  // The anchor beside the store (docs/format/storage.md section 9) refuses it at open. An attacker who rewrote
  // the anchor too would still meet the signed checkpoints in `verify` and in every bundle
  // (Forensics.ChangedAmountWithTheChainRecomputedIsCaughtByTheSignedRoot).
  ExpectCaught("the store does not match its anchor");
}

TEST_F(Tamper, ForgedCheckpointText) {
  {
    RawStore raw(dir_.Sub("l"));
    std::string cp = raw.Get(raw.meta(), "cp/" + Key(1));
    size_t p = cp.find("\n1000\n");
    ASSERT_NE(p, std::string::npos);
    cp.replace(p, 6, "\n999\n");
    raw.Put(raw.meta(), "cp/" + Key(1), cp);
  }
  ExpectCaught("checkpoint #1: signature by test.example/tamper does not verify");
}

TEST_F(Tamper, DeletedCheckpoint) {
  {
    RawStore raw(dir_.Sub("l"));
    raw.Delete(raw.meta(), "cp/" + Key(0));
  }
  ExpectCaught("checkpoint #0 is missing");
}

TEST_F(Tamper, IdempotencyIndexChanged) {
  {
    RawStore raw(dir_.Sub("l"));
    raw.Put(raw.index(), "a-5", Key(6));
  }
  ExpectCaught("idempotency index disagrees with the log");
}

TEST_F(Tamper, EntryAppendedBehindTheLedgersBack) {
  {
    RawStore raw(dir_.Sub("l"));
    raw.Put(raw.entries(), Key(kEntries), raw.Get(raw.entries(), Key(kEntries - 1)));
  }
  ExpectCaught("entry 1000 exists beyond the head");
}

TEST_F(Tamper, HeadRolledBack) {
  {
    RawStore raw(dir_.Sub("l"));
    std::string head = raw.Get(raw.meta(), "head");
    raw.Put(raw.meta(), "head", Key(kEntries - 1) + head.substr(8));
  }
  ExpectCaught("exists beyond the head");
}
