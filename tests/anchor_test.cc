// No silent rollback (issue 14, point 1): a store that lost acknowledged entries is refused at open, whether
// an old copy of db/ was put back or a byte of its write-ahead log or table files was flipped; a crash between
// the anchor's sync and the log's is not mistaken for one. docs/format/storage.md section 9.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "minhbach/entry.h"
#include "minhbach/ledger.h"
#include "test_util.h"

namespace mb = minhbach;
namespace fs = std::filesystem;
using mb::testing::TempDir;

namespace {

std::string Batch(int from, int n) {
  std::string s;
  for (int i = from; i < from + n; ++i) {
    s += R"({"type":"note","idempotency_key":"n)" + std::to_string(i) + R"(","public":["memo"],"data":{"subject":"s","amount":)" +
         std::to_string(i + 1) + R"(,"memo":"ghi chú )" + std::to_string(i) + R"("}})" "\n";
  }
  return s;
}

void AppendOk(mb::Ledger& l, const std::string& jsonl) {
  auto d = mb::ParseJsonLines(jsonl);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  auto r = l.Append(*d, mb::AppendContext{});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
}

void CopyTree(const fs::path& from, const fs::path& to) {
  fs::remove_all(to);
  fs::copy(from, to, fs::copy_options::recursive);
}




// A store of 4 entries whose anchor says "before 4, after 6": the anchor of a batch reached the disk, the
// batch did not (a crash between the two syncs, or a write to the store that failed).
void LeaveAnUnacknowledgedBatch(const TempDir& dir, const std::string& batch) {
  const fs::path db = fs::path(dir.path()) / mb::kDbDirName, old = fs::path(dir.path()) / "db.old";
  const fs::path anchor = fs::path(dir.path()) / mb::kAnchorFileName;
  {
    auto l = mb::Ledger::Create(dir.path(), "test.example/anchor", mb::testing::NullLogger());
    ASSERT_TRUE(l.ok());
    AppendOk(**l, Batch(0, 4));
  }
  CopyTree(db, old);
  std::string mid;
  {
    auto l = mb::Ledger::Open(dir.path(), mb::testing::NullLogger());
    ASSERT_TRUE(l.ok());
    AppendOk(**l, batch);
    mid = mb::testing::ReadFileBytes(anchor);  // the anchor as a crash right after this append leaves it
  }
  CopyTree(old, db);
  mb::testing::WriteFileBytes(anchor, mid);
}

}  // namespace

TEST(Anchor, AnOldCopyOfTheStoreIsRefused) {
  TempDir dir;
  const fs::path db = fs::path(dir.path()) / mb::kDbDirName, old = fs::path(dir.path()) / "db.old";
  {
    auto l = mb::Ledger::Create(dir.path(), "test.example/anchor", mb::testing::NullLogger());
    ASSERT_TRUE(l.ok()) << l.status().ToString();
    AppendOk(**l, Batch(0, 5));
  }
  CopyTree(db, old);  // a backup at 5 entries
  {
    auto l = mb::Ledger::Open(dir.path(), mb::testing::NullLogger());
    ASSERT_TRUE(l.ok()) << l.status().ToString();
    AppendOk(**l, Batch(5, 3));  // acknowledged: 8 entries
  }
  CopyTree(old, db);  // the backup put back: one batch behind, after a clean close
  for (bool read_only : {true, false}) {
    auto l = mb::Ledger::Open(dir.path(), mb::testing::NullLogger(), read_only ? mb::testing::ReadOnly() : mb::LedgerOptions{});
    ASSERT_FALSE(l.ok()) << "read_only " << read_only;
    EXPECT_TRUE(l.status().IsIOError()) << l.status().ToString();  // exit 3
    EXPECT_NE(l.status().message().find("behind its anchor"), std::string::npos) << l.status().ToString();
    EXPECT_NE(l.status().message().find("8 entries"), std::string::npos) << l.status().ToString();
  }
}

TEST(Anchor, ASignedCheckpointCannotBeLost) {
  TempDir dir;
  const fs::path db = fs::path(dir.path()) / mb::kDbDirName, old = fs::path(dir.path()) / "db.old";
  {
    auto l = mb::Ledger::Create(dir.path(), "test.example/anchor", mb::testing::NullLogger());
    ASSERT_TRUE(l.ok());
    AppendOk(**l, Batch(0, 4));
  }
  CopyTree(db, old);
  {
    auto l = mb::Ledger::Open(dir.path(), mb::testing::NullLogger());
    ASSERT_TRUE(l.ok());
    ASSERT_TRUE((*l)->SignCheckpoint().ok());  // published at size 4
  }
  CopyTree(old, db);  // the same entries, without the checkpoint
  auto l = mb::Ledger::Open(dir.path(), mb::testing::NullLogger());
  ASSERT_FALSE(l.ok());
  EXPECT_NE(l.status().message().find("checkpoint 0 was signed"), std::string::npos) << l.status().ToString();
}

TEST(Anchor, ACrashBetweenTheAnchorsSyncAndTheLogsIsNotARollback) {
  TempDir dir;
  LeaveAnUnacknowledgedBatch(dir, Batch(4, 2));
  auto l = mb::Ledger::Open(dir.path(), mb::testing::NullLogger());
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ((*l)->size(), 4u);
  AppendOk(**l, Batch(4, 2));  // the unacknowledged batch, sent again
  EXPECT_EQ((*l)->size(), 6u);
}

// Found by the simulation (seed 526): after an append that failed with its anchor written (the anchor says
// before 4, after 6; the store holds 4), the next append's anchor write was torn while its batch was committed.
// The torn slot fell back to the other one, which named the failed batch: a store of 7 entries against an
// anchor of 6 whose entry 5 is another, refused as a rollback. Now an append first settles the anchor at the
// store's size when the anchor names a batch the store lacks, so a torn write falls back to a state it holds.
TEST(Anchor, ATornAnchorWriteAfterAFailedBatchFallsBackToAStateTheStoreHolds) {
  TempDir dir;
  const fs::path anchor = fs::path(dir.path()) / mb::kAnchorFileName;
  LeaveAnUnacknowledgedBatch(dir, Batch(100, 2));
  std::string mid;
  {
    auto l = mb::Ledger::Open(dir.path(), mb::testing::NullLogger());
    ASSERT_TRUE(l.ok()) << l.status().ToString();
    AppendOk(**l, Batch(4, 3));  // other events: 7 entries
    ASSERT_EQ((*l)->size(), 7u);
    mid = mb::testing::ReadFileBytes(anchor);  // as a crash right after this append leaves it (no close)
  }
  // The last slot written (the larger counter) torn: a byte of it flipped.
  std::string bytes = mid;
  auto counter = [&](size_t slot) {
    uint64_t v = 0;
    for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(bytes[slot * 512 + 16 + i]);
    return v;
  };
  const size_t newest = counter(0) > counter(1) ? 0 : 1;
  bytes[newest * 512 + 70] ^= 0x10;
  mb::testing::WriteFileBytes(anchor, bytes);
  auto l = mb::Ledger::Open(dir.path(), mb::testing::NullLogger());
  ASSERT_TRUE(l.ok()) << "the slot left must describe a state the store holds: " << l.status().ToString();
  EXPECT_EQ((*l)->size(), 7u);
}

TEST(Anchor, AMissingOrDamagedAnchorIsRefused) {
  TempDir dir;
  {
    auto l = mb::Ledger::Create(dir.path(), "test.example/anchor", mb::testing::NullLogger());
    ASSERT_TRUE(l.ok());
    AppendOk(**l, Batch(0, 2));
  }
  const fs::path anchor = fs::path(dir.path()) / mb::kAnchorFileName;
  const std::string bytes = mb::testing::ReadFileBytes(anchor);
  ASSERT_EQ(bytes.size(), 1024u);
  std::string both = bytes;
  both[20] ^= 1;
  both[512 + 20] ^= 1;
  mb::testing::WriteFileBytes(anchor, both);
  auto l = mb::Ledger::Open(dir.path(), mb::testing::NullLogger());
  ASSERT_FALSE(l.ok());
  EXPECT_NE(l.status().message().find("neither slot"), std::string::npos) << l.status().ToString();
  // One damaged slot (a torn write of it): the other one, older, still holds; the store is ahead of it.
  for (size_t slot : {size_t{0}, size_t{512}}) {
    std::string one = bytes;
    one[slot + 40] ^= 1;
    mb::testing::WriteFileBytes(anchor, one);
    auto ok = mb::Ledger::Open(dir.path(), mb::testing::NullLogger(), mb::testing::ReadOnly());
    EXPECT_TRUE(ok.ok()) << slot << ": " << ok.status().ToString();
  }
  fs::remove(anchor);
  auto gone = mb::Ledger::Open(dir.path(), mb::testing::NullLogger());
  ASSERT_FALSE(gone.ok());
  EXPECT_TRUE(gone.status().IsIOError()) << gone.status().ToString();
}

// A copy of a live ledger (as a crash leaves it) whose anchor says its last batch is durable: every flipped byte
// of its write-ahead log or table files is detected (the open or `verify` fails) or harmless (every entry
// there and `verify` passing); a shorter log is never accepted.
TEST(Anchor, FlippedBytesInTheStoreNeverGiveAShorterLog) {
  const unsigned seed = std::random_device{}();
  std::printf("seed %u\n", seed);
  std::mt19937_64 rng(seed);
  TempDir dir;
  const fs::path live = fs::path(dir.path()) / "live", copy = fs::path(dir.path()) / "copy";
  uint64_t size = 0;
  {
    auto l = mb::Ledger::Create(live.string(), "test.example/anchor", mb::testing::NullLogger());
    ASSERT_TRUE(l.ok());
    for (int b = 0; b < 8; ++b) AppendOk(**l, Batch(b * 40, 40));
    ASSERT_TRUE((*l)->SignCheckpoint().ok());  // the anchor now says every batch is durable
    size = (*l)->size();
    CopyTree(live, copy.string() + ".wal");  // open: the batches are in the write-ahead log
  }
  CopyTree(live, copy.string() + ".sst");  // closed: the memtables went to table files
  struct Kind {
    std::string suffix, ext;
  };
  size_t detected = 0, harmless = 0;
  for (const Kind& k : {Kind{".wal", ".log"}, Kind{".sst", ".sst"}}) {
    const fs::path base = copy.string() + k.suffix;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(base / mb::kDbDirName)) {
      if (e.path().extension() == k.ext && fs::file_size(e.path()) > 0) files.push_back(e.path());
    }
    ASSERT_FALSE(files.empty()) << "no " << k.ext << " file in " << base;
    {  // the copy itself, unflipped, opens whole: a flip's refusal is the flip's doing
      CopyTree(base, copy);
      auto l = mb::Ledger::Open(copy.string(), mb::testing::NullLogger());
      ASSERT_TRUE(l.ok()) << k.suffix << ": " << l.status().ToString();
      EXPECT_EQ((*l)->size(), size);
    }
    for (int round = 0; round < 40; ++round) {
      CopyTree(base, copy);
      const fs::path f = copy / mb::kDbDirName / files[rng() % files.size()].filename();
      std::string bytes = mb::testing::ReadFileBytes(f);
      const size_t at = rng() % bytes.size();
      bytes[at] = static_cast<char>(bytes[at] ^ (1 << (rng() % 8)));
      mb::testing::WriteFileBytes(f, bytes);
      const std::string where = "seed " + std::to_string(seed) + ": " + f.filename().string() + " byte " + std::to_string(at);
      auto l = mb::Ledger::Open(copy.string(), mb::testing::NullLogger());
      if (!l.ok()) {
        ++detected;
        if (round < 3) std::printf("  %s: %s\n", where.c_str(), l.status().ToString().substr(0, 160).c_str());
        continue;
      }
      mb::VerifyReport report;
      if (!(*l)->Verify({}, &report).ok()) {
        ++detected;
        continue;
      }
      EXPECT_EQ((*l)->size(), size) << where << ": a shorter log was accepted";
      ++harmless;
    }
  }
  std::printf("flips: %zu detected, %zu harmless\n", detected, harmless);
}
