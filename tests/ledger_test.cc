// The RocksDB-backed ledger: append, idempotency, atomic rejection, proofs, checkpoints, reopen, locking.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "minhbach/ledger.h"
#include "test_util.h"

namespace mb = minhbach;
using mb::testing::Events;
using mb::testing::TempDir;

namespace {

std::unique_ptr<mb::Ledger> MakeLedger(const TempDir& dir, mb::LedgerOptions o = mb::testing::FixedClock()) {
  auto l = mb::Ledger::Create(dir.Sub("l"), "test.example/ledger", mb::testing::NullLogger(), o);
  EXPECT_TRUE(l.ok()) << l.status().ToString();
  return std::move(l).value();
}

std::unique_ptr<mb::Ledger> Reopen(const TempDir& dir, bool read_only = false) {
  mb::LedgerOptions o = mb::testing::FixedClock();
  o.read_only = read_only;
  auto l = mb::Ledger::Open(dir.Sub("l"), mb::testing::NullLogger(), o);
  EXPECT_TRUE(l.ok()) << l.status().ToString();
  return l.ok() ? std::move(l).value() : nullptr;
}

}  // namespace

TEST(Ledger, AppendChainsAndSurvivesReopen) {
  TempDir dir;
  mb::Hash root;
  {
    auto l = MakeLedger(dir);
    auto r = l->Append(Events(10, "a"), mb::AppendContext{});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->first_seq, 0u);
    EXPECT_EQ(r->appended, 10u);
    r = l->Append(Events(300, "b"), mb::AppendContext{});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->first_seq, 10u);
    EXPECT_EQ(l->size(), 310u);
    root = l->root();
  }
  auto l = Reopen(dir);
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->size(), 310u);
  EXPECT_EQ(l->root(), root);
  mb::Hash prev{};
  for (uint64_t s = 0; s < 310; ++s) {
    auto bytes = l->GetEntry(s);
    ASSERT_TRUE(bytes.ok());
    auto e = mb::DecodeEntry(*bytes);
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(e->seq, s);
    EXPECT_EQ(e->prev_hash, prev);
    prev = *l->LeafHash(s);
  }
  EXPECT_TRUE(l->GetEntry(310).status().IsNotFound());
  mb::VerifyReport rep;
  ASSERT_TRUE(l->Verify({}, &rep).ok());
  EXPECT_EQ(rep.entries, 310u);
  EXPECT_EQ(rep.root, root);
}

TEST(Ledger, IdempotentRetryAppendsNothing) {
  TempDir dir;
  auto l = MakeLedger(dir);
  auto batch = Events(5, "k");
  ASSERT_TRUE(l->Append(batch, {}).ok());
  auto again = l->Append(batch, {});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->appended, 0u);
  ASSERT_EQ(again->duplicates.size(), 5u);
  EXPECT_EQ(again->duplicates[3].existing_seq, 3u);
  EXPECT_EQ(l->size(), 5u);
  // A retry that overlaps new events appends only the new ones.
  auto more = Events(7, "k");
  auto r = l->Append(more, {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->appended, 2u);
  EXPECT_EQ(r->duplicates.size(), 5u);
  EXPECT_EQ(l->size(), 7u);
}

TEST(Ledger, RejectedBatchLeavesStoreByteForByteUnchanged) {
  TempDir dir;
  auto l = MakeLedger(dir);
  ASSERT_TRUE(l->Append(Events(20, "a"), {}).ok());
  ASSERT_TRUE(l->SignCheckpoint().ok());
  const std::string before = mb::testing::DumpStore(dir.Sub("l"));
  const mb::Hash root = l->root();

  // 1. Same key, different content.
  auto conflict = Events(3, "new");
  conflict[2].idempotency_key = "a-4";
  auto r = l->Append(conflict, {});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsInvalidArgument());
  EXPECT_NE(r.status().message().find("already used by entry 4 with different content"), std::string::npos)
      << r.status().message();
  // 2. A key twice in one batch.
  auto twice = Events(3, "t");
  twice[2].idempotency_key = twice[0].idempotency_key;
  r = l->Append(twice, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("also used by line 1"), std::string::npos) << r.status().message();
  // 3. A reversal of a later entry, last in the batch (earlier events were already encoded).
  auto bad = Events(50, "late");
  bad.push_back(mb::ReversalDraft("rev", 1000, "no such entry"));
  bad.back().line = 51;
  r = l->Append(bad, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("line 51"), std::string::npos) << r.status().message();
  // 4. A bad context.
  mb::AppendContext ctx;
  ctx.actor = "";
  EXPECT_FALSE(l->Append(Events(1, "c"), ctx).ok());

  EXPECT_EQ(l->size(), 20u);
  EXPECT_EQ(l->root(), root);
  EXPECT_EQ(mb::testing::DumpStore(dir.Sub("l")), before);
  // The ledger still works after the rejections.
  ASSERT_TRUE(l->Append(Events(2, "after"), {}).ok());
  EXPECT_EQ(l->size(), 22u);
  EXPECT_TRUE(l->Verify({}, nullptr).ok());
}

TEST(Ledger, ProofsFromStoredTilesVerify) {
  uint64_t seed = std::random_device{}();
  std::cout << "seed " << seed << "\n";
  std::mt19937_64 rng(seed);
  TempDir dir;
  auto l = MakeLedger(dir);
  std::vector<mb::Hash> roots{mb::Sha256::Empty()};
  size_t n = 0;
  while (n < 70'000) {
    size_t batch = 1 + rng() % 3000;
    ASSERT_TRUE(l->Append(Events(batch, "p" + std::to_string(n)), {}).ok());
    n += batch;
  }
  auto l2 = Reopen(dir, /*read_only=*/true);  // proofs from a fresh open read stored tiles
  ASSERT_NE(l2, nullptr);
  mb::Sha256 sha;
  for (int i = 0; i < 300; ++i) {
    uint64_t size = 1 + rng() % n;
    uint64_t idx = rng() % size;
    auto root = l2->RootAt(size);
    auto proof = l2->ProveInclusion(idx, size);
    auto leaf = l2->LeafHash(idx);
    ASSERT_TRUE(root.ok() && proof.ok() && leaf.ok()) << proof.status().ToString();
    ASSERT_TRUE(mb::VerifyInclusion(sha, idx, size, *leaf, *proof, *root).ok()) << idx << "/" << size;
    uint64_t size1 = 1 + rng() % size;
    auto root1 = l2->RootAt(size1);
    auto cproof = l2->ProveConsistency(size1, size);
    ASSERT_TRUE(root1.ok() && cproof.ok());
    ASSERT_TRUE(mb::VerifyConsistency(sha, size1, size, *cproof, *root1, *root).ok()) << size1 << "->" << size;
  }
  EXPECT_EQ(*l2->RootAt(n), l->root());
  EXPECT_TRUE(l2->RootAt(n + 1).status().IsNotFound());
}

TEST(Ledger, CheckpointsAreKeptAndVerified) {
  TempDir dir;
  auto l = MakeLedger(dir);
  auto empty_cp = l->SignCheckpoint();
  ASSERT_TRUE(empty_cp.ok());
  ASSERT_TRUE(l->Append(Events(100, "a"), {}).ok());
  auto cp1 = l->SignCheckpoint();
  ASSERT_TRUE(cp1.ok());
  ASSERT_TRUE(l->Append(Events(1000, "b"), {}).ok());
  auto cp2 = l->SignCheckpoint();
  ASSERT_TRUE(cp2.ok());
  auto all = l->Checkpoints();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[1].note, *cp1);
  auto note = mb::ParseNote(*cp2);
  ASSERT_TRUE(note.ok());
  EXPECT_TRUE(mb::VerifyNote(*note, l->verifier()).ok());
  auto body = mb::Checkpoint::Parse(note->text);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(body->origin, "test.example/ledger");
  EXPECT_EQ(body->size, 1100u);
  EXPECT_EQ(body->root, l->root());
  mb::VerifyReport rep;
  ASSERT_TRUE(l->Verify({}, &rep).ok());
  EXPECT_EQ(rep.checkpoints, 3u);
  // With another key, verification of the checkpoints fails.
  auto other = mb::SigningKey::Generate("test.example/ledger");
  mb::VerifyOptions vo;
  vo.key = other->verifier();
  EXPECT_TRUE(l->Verify(vo, nullptr).IsCorruption());
}

TEST(Ledger, SecondWriterIsRefusedReadersAreNot) {
  TempDir dir;
  auto l = MakeLedger(dir);
  ASSERT_TRUE(l->Append(Events(3, "a"), {}).ok());
  auto second = mb::Ledger::Open(dir.Sub("l"), mb::testing::NullLogger());
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(second.status().IsIOError());
  EXPECT_NE(second.status().message().find("in use by another process"), std::string::npos)
      << second.status().message();
  auto reader = Reopen(dir, /*read_only=*/true);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->size(), 3u);
  EXPECT_FALSE(reader->Append(Events(1, "r"), {}).ok());
}

TEST(Ledger, CreateRefusesExistingAndOpenRefusesMissing) {
  TempDir dir;
  { auto l = MakeLedger(dir); }
  auto again = mb::Ledger::Create(dir.Sub("l"), "x.example/y", mb::testing::NullLogger());
  EXPECT_TRUE(again.status().IsInvalidArgument());
  auto none = mb::Ledger::Open(dir.Sub("nothing"), mb::testing::NullLogger());
  EXPECT_TRUE(none.status().IsInvalidArgument());
  auto bad_origin = mb::Ledger::Create(dir.Sub("m"), "has space", mb::testing::NullLogger());
  EXPECT_TRUE(bad_origin.status().IsInvalidArgument());
  struct stat st;
  ASSERT_EQ(::stat((dir.Sub("l") + "/signing.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(Ledger, ReversalsMustPointBackwards) {
  TempDir dir;
  auto l = MakeLedger(dir);
  ASSERT_TRUE(l->Append(Events(3, "a"), {}).ok());
  std::vector<mb::EventDraft> ok{mb::ReversalDraft("r1", 1, "wrong child")};
  ASSERT_TRUE(l->Append(ok, {}).ok());
  std::vector<mb::EventDraft> self{mb::ReversalDraft("r2", 4, "itself")};
  EXPECT_TRUE(l->Append(self, {}).status().IsInvalidArgument());
  std::vector<mb::EventDraft> twice{mb::ReversalDraft("r3", 1, "again")};
  auto r = l->Append(twice, {});
  EXPECT_NE(r.status().message().find("entry 1 is already reversed"), std::string::npos) << r.status().message();
  std::vector<mb::EventDraft> of_reversal{mb::ReversalDraft("r4", 3, "undo the undo")};
  r = l->Append(of_reversal, {});
  EXPECT_NE(r.status().message().find("is a reversal"), std::string::npos) << r.status().message();
  EXPECT_TRUE(l->Verify({}, nullptr).ok());
}
