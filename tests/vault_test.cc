// The vault's file (docs/format/storage.md section 7): its frames survive a torn write, refuse damage in the
// middle, finish an interrupted erasure, and a refused batch leaves the file byte for byte as it was.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "minhbach/crc32c.h"
#include "minhbach/entry.h"
#include "minhbach/ledger.h"
#include "minhbach/privacy.h"
#include "minhbach/vault.h"
#include "test_util.h"

namespace mb = minhbach;
namespace fs = std::filesystem;
using mb::testing::TempDir;

namespace {




std::string Donor(int i) {
  return R"({"type":"donor_registered","idempotency_key":"d)" + std::to_string(i) + R"(","data":{"donor":"D-)" +
         std::to_string(i) + R"(","kind":"individual","name":"Nguyễn Văn Số )" + std::to_string(i) +
         R"(","account":"010100122)" + std::to_string(1000 + i) + R"("}})" "\n";
}

class VaultFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto l = mb::Ledger::Create(dir_.path(), "test.example/vault", mb::testing::NullLogger());
    ASSERT_TRUE(l.ok()) << l.status().ToString();
    ledger_ = std::move(*l);
    Append(R"({"type":"fund_opened","idempotency_key":"f","data":{"fund":"F","name":"Quỹ","organisation":"Sở","currency":"VND"}})" "\n" +
           Donor(1) + Donor(2));
    Append(Donor(3) + Donor(4));  // a second frame
  }
  void Append(const std::string& jsonl) {
    auto drafts = mb::ParseJsonLines(jsonl);
    ASSERT_TRUE(drafts.ok()) << drafts.status().ToString();
    auto r = ledger_->Append(*drafts, ctx_);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  fs::path File() const { return fs::path(dir_.path()) / mb::kVaultDirName / "records"; }
  mb::Result<std::unique_ptr<mb::Ledger>> Reopen() {
    ledger_.reset();
    return mb::Ledger::Open(dir_.path(), mb::testing::NullLogger());
  }
  TempDir dir_;
  std::unique_ptr<mb::Ledger> ledger_;
  mb::AppendContext ctx_;
};

}  // namespace

TEST(Crc32c, KnownValues) {
  EXPECT_EQ(mb::Crc32c("123456789"), 0xE3069283u);  // RFC 3720 B.4's check value
  EXPECT_EQ(mb::Crc32c(""), 0u);
  const std::string zeros(32, '\0');
  EXPECT_EQ(mb::Crc32c(zeros), 0x8A9136AAu);  // RFC 3720 B.4: 32 bytes of zeros
  // Extending equals computing at once, at every split (the hardware path takes 8 bytes at a time).
  const std::string text = "minhbach-vault-2 frames, payloads and slots";
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    EXPECT_EQ(mb::Crc32c(mb::Crc32c(0, text.data(), cut), text.data() + cut, text.size() - cut), mb::Crc32c(text)) << cut;
  }
}

TEST_F(VaultFileTest, ATornLastWriteIsCutAndTheRestKept) {
  const std::string whole = mb::testing::ReadFileBytes(File());
  ledger_.reset();
  // Every cut inside a batch frame written after the file's end, as a crash in the middle of its write leaves
  // it: the frame is ignored, a writable open cuts it, and every earlier record is still there.
  const std::string frame = whole.substr(whole.size() - 200);  // the tail of the second frame, as fake new bytes
  for (size_t keep : {size_t{1}, size_t{15}, size_t{16}, size_t{17}, size_t{100}, size_t{199}}) {
    mb::testing::WriteFileBytes(File(), whole + frame.substr(0, keep));
    auto l = mb::Ledger::Open(dir_.path(), mb::testing::NullLogger());
    ASSERT_TRUE(l.ok()) << keep << ": " << l.status().ToString();
    EXPECT_EQ(mb::testing::ReadFileBytes(File()), whole) << "cut at " << keep;
    auto d4 = (*l)->vault().ForSubject("D-4");
    ASSERT_TRUE(d4.ok());
    EXPECT_EQ(d4->size(), 2u);
  }
}

// The anchor says where the vault's acknowledged frames end (storage.md 9.1): damage in the last of them is
// damage, not a torn write. (Before, a byte flipped in the last frame dropped its records, entries 3 and 4 of
// the log, without a word: the simulation found it.) A frame beyond the anchor's bound, which no entry of the
// log refers to, is still cut as a torn write.
TEST_F(VaultFileTest, DamageInTheLastAcknowledgedFrameIsRefusedNotTakenForATornWrite) {
  ledger_.reset();
  const std::string whole = mb::testing::ReadFileBytes(File());
  std::string bytes = whole;
  bytes[bytes.size() - 3] ^= 0x01;  // inside the last payload of the last frame: its slots are whole
  mb::testing::WriteFileBytes(File(), bytes);
  for (bool read_only : {false, true}) {
    auto l = mb::Ledger::Open(dir_.path(), mb::testing::NullLogger(), read_only ? mb::testing::ReadOnly() : mb::LedgerOptions{});
    mb::Status s = l.ok() ? (*l)->vault().ForSubject("D-4").status() : l.status();
    ASSERT_TRUE(s.IsCorruption()) << read_only << ": " << s.ToString();
    EXPECT_NE(s.message().find("records of entry"), std::string::npos) << s.ToString();
    EXPECT_EQ(mb::testing::ReadFileBytes(File()), bytes) << "a refused open must not change the file";
  }
  // The last frame cut off whole (a file put back from an older copy): its records were lost, and the open says so.
  const size_t last_frame = whole.rfind(std::string("B\0\0\0", 4));
  ASSERT_NE(last_frame, std::string::npos);
  mb::testing::WriteFileBytes(File(), whole.substr(0, last_frame));
  auto cut = mb::Ledger::Open(dir_.path(), mb::testing::NullLogger());
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(cut.status().message().find("records were lost"), std::string::npos) << cut.status().ToString();
  // Put back whole, the ledger opens and serves every record.
  mb::testing::WriteFileBytes(File(), whole);
  auto l = mb::Ledger::Open(dir_.path(), mb::testing::NullLogger());
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  auto d4 = (*l)->vault().ForSubject("D-4");
  ASSERT_TRUE(d4.ok());
  EXPECT_EQ(d4->size(), 2u);
}

TEST_F(VaultFileTest, DamageBeforeTheLastFrameIsRefusedWithItsPlace) {
  ledger_.reset();
  const std::string whole = mb::testing::ReadFileBytes(File());
  // The first batch frame follows the 64-byte format frame: flip a byte of its slots, then of its payloads.
  for (size_t at : {size_t{64 + 16 + 3}, size_t{64 + 16 + 3 * 24 + 10}}) {
    std::string bytes = whole;
    bytes[at] ^= 0x40;
    mb::testing::WriteFileBytes(File(), bytes);
    auto l = mb::Ledger::Open(dir_.path(), mb::testing::NullLogger());
    ASSERT_FALSE(l.ok()) << at;
    EXPECT_TRUE(l.status().IsCorruption()) << l.status().ToString();
    EXPECT_NE(l.status().message().find("damaged"), std::string::npos) << l.status().ToString();
    EXPECT_EQ(mb::testing::ReadFileBytes(File()), bytes) << "a refused open must not change the file";
  }
  mb::testing::WriteFileBytes(File(), whole);
  std::string secret = whole;
  secret[16 + 16 + 5] ^= 0x01;  // the pseudonym secret
  mb::testing::WriteFileBytes(File(), secret);
  auto l = mb::Ledger::Open(dir_.path(), mb::testing::NullLogger());
  ASSERT_FALSE(l.ok());
  EXPECT_NE(l.status().message().find("pseudonym secret"), std::string::npos) << l.status().ToString();
}

TEST_F(VaultFileTest, AnErasureInterruptedBeforeTheZerosIsCompletedAtOpen) {
  const std::string before = mb::testing::ReadFileBytes(File());
  auto er = ledger_->Erase("D-2", "Yêu cầu xóa dữ liệu", ctx_);
  ASSERT_TRUE(er.ok()) << er.status().ToString();
  ledger_.reset();
  // As if the process had stopped after the erasure frame was synced but before any zero was written: the
  // file's old bytes, then the erasure frame.
  const std::string after = mb::testing::ReadFileBytes(File());
  ASSERT_GT(after.size(), before.size());
  mb::testing::WriteFileBytes(File(), before + after.substr(before.size()));
  ASSERT_NE(mb::testing::ReadFileBytes(File()).find("Nguyễn Văn Số 2"), std::string::npos);
  {
    auto ro = mb::Ledger::Open(dir_.path(), mb::testing::NullLogger(), mb::testing::ReadOnly());
    ASSERT_TRUE(ro.ok()) << ro.status().ToString();
    auto d2 = (*ro)->vault().ForSubject("D-2");  // a read-only open already treats them as erased
    ASSERT_TRUE(d2.ok());
    EXPECT_TRUE(d2->empty());
  }
  auto l = mb::Ledger::Open(dir_.path(), mb::testing::NullLogger());
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  const std::string healed = mb::testing::ReadFileBytes(File());
  EXPECT_EQ(healed.find("Nguyễn Văn Số 2"), std::string::npos);
  EXPECT_EQ(healed.find("0101001221002"), std::string::npos);
  EXPECT_EQ(healed, after);  // the same bytes as the erasure that was not interrupted
  auto d1 = (*l)->vault().ForSubject("D-1");
  ASSERT_TRUE(d1.ok());
  EXPECT_EQ(d1->size(), 2u);
  auto again = (*l)->Erase("D-2", "again", ctx_);
  EXPECT_FALSE(again.ok());
}

TEST_F(VaultFileTest, AfterAnErasureALaterNamesakeIsRecognised) {
  // D-5 registers with D-2's account: the first registered (D-2) keeps the pseudonym key until erased.
  Append(R"({"type":"donor_registered","idempotency_key":"d5","data":{"donor":"D-5","kind":"individual","name":"Lê Văn Năm","account":"0101001221002"}})");
  auto who = ledger_->vault().FindPseudonym("account", mb::NormalizeDigits("0101001221002"));
  ASSERT_TRUE(who.ok());
  EXPECT_EQ(who->value_or(""), "D-2");
  ASSERT_TRUE(ledger_->Erase("D-2", "Yêu cầu xóa dữ liệu", ctx_).ok());
  who = ledger_->vault().FindPseudonym("account", mb::NormalizeDigits("0101001221002"));
  ASSERT_TRUE(who.ok());
  EXPECT_EQ(who->value_or(""), "D-5");
  // The same after a reopen: the indexes are rebuilt from the file.
  auto l = Reopen();
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  who = (*l)->vault().FindPseudonym("account", mb::NormalizeDigits("0101001221002"));
  ASSERT_TRUE(who.ok());
  EXPECT_EQ(who->value_or(""), "D-5");
}

TEST_F(VaultFileTest, ARefusedBatchLeavesTheFileByteForByte) {
  const std::string before = mb::testing::ReadFileBytes(File());
  // 300 events (sealed on the helper thread, the vault's frame written beside the checks), the last breaking a
  // rule: the frame is written, then cut.
  std::string jsonl;
  for (int i = 10; i < 309; ++i) jsonl += Donor(i);
  jsonl += R"({"type":"donation_received","idempotency_key":"bad","data":{"fund":"F-NONE","donor":"D-10","value_date":"2024-09-12","cash":{"channel":"bank","amount":1},"details":"Nguyen Van So 10"}})" "\n";
  auto drafts = mb::ParseJsonLines(jsonl);
  ASSERT_TRUE(drafts.ok()) << drafts.status().ToString();
  const uint64_t size = ledger_->size();
  auto r = ledger_->Append(*drafts, ctx_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("line 300"), std::string::npos) << r.status().ToString();
  EXPECT_EQ(ledger_->size(), size);
  EXPECT_EQ(mb::testing::ReadFileBytes(File()), before);
  // And the same batch without the bad line goes in whole.
  drafts->pop_back();
  auto ok = ledger_->Append(*drafts, ctx_);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  auto d308 = ledger_->vault().ForSubject("D-308");
  ASSERT_TRUE(d308.ok());
  EXPECT_EQ(d308->size(), 2u);
  auto named = ledger_->vault().FindByName(mb::NormalizeName("Nguyễn Văn Số 150"), 5);
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(*named, std::vector<std::string>{"D-150"});
}

TEST_F(VaultFileTest, AReaderBesideAWriterSeesTheFileAtItsFirstQuestion) {
  auto ro = mb::Ledger::Open(dir_.path(), mb::testing::NullLogger(), mb::testing::ReadOnly());
  ASSERT_TRUE(ro.ok()) << ro.status().ToString();
  auto first = (*ro)->vault().ForSubject("D-3");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->size(), 2u);
  Append(Donor(7));
  auto later = (*ro)->vault().ForSubject("D-7");
  ASSERT_TRUE(later.ok());
  EXPECT_TRUE(later->empty());  // not yet known to this reader
  // The writer's erasure zeroes records the reader already indexed: the reader finds them gone, not damaged.
  ASSERT_TRUE(ledger_->Erase("D-3", "Yêu cầu xóa dữ liệu", ctx_).ok());
  auto erased = (*ro)->vault().ForSubject("D-3");
  ASSERT_TRUE(erased.ok()) << erased.status().ToString();
  EXPECT_TRUE(erased->empty());
}

TEST_F(VaultFileTest, AnOldRocksDbVaultIsRefusedWithItsFormat) {
  ledger_.reset();
  fs::remove(File());
  mb::testing::WriteFileBytes(fs::path(dir_.path()) / mb::kVaultDirName / "CURRENT", "MANIFEST-000005\n");
  auto l = mb::Ledger::Open(dir_.path(), mb::testing::NullLogger());
  ASSERT_FALSE(l.ok());
  EXPECT_NE(l.status().message().find("minhbach-vault-1"), std::string::npos) << l.status().ToString();
}

TEST_F(VaultFileTest, RandomTornTailsNeverLoseAnAcknowledgedRecord) {
  const unsigned seed = std::random_device{}();
  std::printf("seed %u\n", seed);
  std::mt19937 rng(seed);
  ledger_.reset();
  const std::string whole = mb::testing::ReadFileBytes(File());
  for (int round = 0; round < 50; ++round) {
    // Garbage of random length and content after the last whole frame (a torn write of any shape).
    std::string tail(1 + rng() % 300, '\0');
    for (char& c : tail) c = static_cast<char>(rng());
    mb::testing::WriteFileBytes(File(), whole + tail);
    auto l = mb::Ledger::Open(dir_.path(), mb::testing::NullLogger());
    ASSERT_TRUE(l.ok()) << "seed " << seed << " round " << round << ": " << l.status().ToString();
    for (const char* d : {"D-1", "D-2", "D-3", "D-4"}) {
      auto recs = (*l)->vault().ForSubject(d);
      ASSERT_TRUE(recs.ok());
      EXPECT_EQ(recs->size(), 2u) << "seed " << seed << " " << d;
    }
    EXPECT_EQ(mb::testing::ReadFileBytes(File()), whole) << "seed " << seed;
  }
}

TEST_F(VaultFileTest, AnEntryWithoutASubjectNeverReachesTheFile) {
  const std::string before = mb::testing::ReadFileBytes(File());
  mb::SealedEntry e;
  e.seq = ledger_->size();
  mb::Vault::BeginEntry(&e.payload, "");
  mb::Vault::AddRecord(&e.payload, "donation_received.details", mb::RandomSalt(), "Nguyen Van A");
  auto put = ledger_->vault().Put(std::vector<mb::SealedEntry>{e});
  ASSERT_FALSE(put.ok());
  EXPECT_NE(put.message().find("names no subject"), std::string::npos) << put.ToString();
  EXPECT_EQ(mb::testing::ReadFileBytes(File()), before);
}
