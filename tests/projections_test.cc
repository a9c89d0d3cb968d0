// Read models: incremental catch-up and a full rebuild give the same bytes (seeded random streams), a
// read model that does not match the log is rebuilt, reversals show everywhere, unknown ids are NotFound.
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <nlohmann/json.hpp>
#include <random>

#include "minhbach/projections.h"
#include "test_util.h"

namespace mb = minhbach;
using nlohmann::json;

namespace {

std::string Line(int* key, const std::string& type, json data) {
  return json{{"type", type}, {"idempotency_key", "k" + std::to_string(++*key)}, {"data", data}}.dump() + "\n";
}

// A fund with two programmes, donors and children, then random donations, payments, allocations and reversals.
std::vector<std::string> RandomBatches(uint64_t seed, int batches) {
  std::mt19937_64 rng(seed);
  int key = 0;
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  std::string setup;
  for (int f = 0; f < 2; ++f) setup += Line(&key, "fund_opened", {{"fund", "F" + std::to_string(f)}, {"name", "n"}, {"organisation", "o"}, {"currency", "VND"}});
  setup += Line(&key, "programme_opened", {{"programme", "P0"}, {"fund", "F0"}, {"name", "p"}, {"legal_basis", "b"}});
  for (int d = 0; d < 3; ++d) setup += Line(&key, "donor_registered", {{"donor", "D" + std::to_string(d)}, {"display_name", "Donor " + std::to_string(d)}, {"kind", "individual"}});
  for (int c = 0; c < 4; ++c) setup += Line(&key, "child_registered", {{"child", "C" + std::to_string(c)}, {"birth_month", "2012-01"}, {"area", "51"}, {"categories", {"abandoned"}}});
  std::vector<std::string> out{setup};
  int size = 10;
  for (int b = 0; b < batches; ++b) {
    std::string lines;
    for (int i = 0, n = 1 + pick(3); i < n; ++i) {
      int k = pick(10);
      std::string fund = "F" + std::to_string(pick(2)), child = "C" + std::to_string(pick(4));
      if (k < 4) {
        json d = {{"fund", fund}, {"donor", "D" + std::to_string(pick(3))}, {"value_date", "2022-05-01"},
                  {"cash", {{"channel", "bank"}, {"amount", 1 + pick(3'000'000)}}}};
        if (pick(3) == 0) d.update({{"restriction", "child"}, {"restricted_to", child}});
        lines += Line(&key, "donation_received", d);
      } else if (k < 8) {
        json d = {{"fund", fund}, {"child", child}, {"kind", "gift"}, {"amount", 1 + pick(1'000'000)}, {"method", "cash"}};
        if (pick(3) == 0) d["paid_from"] = "child";
        lines += Line(&key, "disbursement", d);
      } else if (k < 9) {
        lines += Line(&key, "allocation", {{"from_fund", "F0"}, {"to_fund", "F1"}, {"amount", 1 + pick(500'000)}});
      } else {
        lines += Line(&key, "reversal", {{"seq", pick(size + 2)}, {"reason", "r"}});
      }
    }
    out.push_back(lines);
    size += 3;  // an upper bound is enough for picking reversal targets
  }
  return out;
}

std::unique_ptr<mb::Ledger> NewLedger(const mb::testing::TempDir& dir) {
  auto l = mb::Ledger::Create(dir.Sub("l"), "test.example/proj", mb::testing::NullLogger(), mb::testing::FixedClock());
  EXPECT_TRUE(l.ok());
  return std::move(l).value();
}

}  // namespace

TEST(Projections, IncrementalEqualsRebuildByteForByte) {
  uint64_t seed = std::random_device{}();
  if (const char* s = std::getenv("MINHBACH_SEED")) seed = std::strtoull(s, nullptr, 10);
  std::cout << "seed " << seed << " (replay with MINHBACH_SEED=" << seed << ")\n";
  mb::testing::TempDir dir;
  auto ledger = NewLedger(dir);
  auto inc = mb::Projections::Open(*ledger, dir.Sub("inc"), mb::testing::NullLogger());
  ASSERT_TRUE(inc.ok()) << inc.status().ToString();
  int accepted = 0;
  for (const std::string& batch : RandomBatches(seed, 200)) {
    auto drafts = mb::ParseJsonLines(batch);
    ASSERT_TRUE(drafts.ok()) << drafts.status().ToString();
    if (ledger->Append(*drafts, {}).ok()) ++accepted;
    ASSERT_TRUE((*inc)->CatchUp(*ledger).ok());  // after every batch, accepted or not
  }
  EXPECT_GT(accepted, 30);
  EXPECT_EQ((*inc)->position(), ledger->size());
  auto fresh = mb::Projections::Open(*ledger, dir.Sub("fresh"), mb::testing::NullLogger());
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ((*inc)->Dump(), (*fresh)->Dump()) << "seed " << seed;
  ASSERT_TRUE((*inc)->Rebuild(*ledger).ok());
  EXPECT_EQ((*inc)->Dump(), (*fresh)->Dump()) << "seed " << seed;
  // Balances are consistent: every row's balance = received + in - out - disbursed - expensed.
  auto rows = (*fresh)->Balances("");
  ASSERT_TRUE(rows.ok());
  for (const auto& r : *rows) {
    EXPECT_EQ(r.balance, r.received + r.allocated_in - r.allocated_out - r.disbursed - r.expensed) << r.fund << r.subaccount;
    EXPECT_GE(r.balance, 0);
  }
}

TEST(Projections, ReadModelThatDoesNotMatchTheLogIsRebuilt) {
  mb::testing::TempDir dir;
  auto ledger = NewLedger(dir);
  for (const std::string& batch : RandomBatches(7, 40)) {
    auto drafts = mb::ParseJsonLines(batch);
    ASSERT_TRUE(drafts.ok());
    (void)ledger->Append(*drafts, {});
  }
  std::map<std::string, std::string> good;
  {
    auto p = mb::Projections::Open(*ledger, dir.Sub("p"), mb::testing::NullLogger());
    ASSERT_TRUE(p.ok());
    good = (*p)->Dump();
  }
  {  // Damage: a balance record changed and the position pointing at a different log.
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), dir.Sub("p"), &db).ok());
    std::string pos;
    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), "pos", &pos).ok());
    pos[pos.size() - 1] ^= 1;
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "pos", pos).ok());
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "b/F0/u", R"({"balance":999})").ok());
    delete db;
  }
  auto p = mb::Projections::Open(*ledger, dir.Sub("p"), mb::testing::NullLogger());
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)->Dump(), good);
}

TEST(Projections, ReversalsShowInHistoryAndBalances) {
  mb::testing::TempDir dir;
  auto ledger = NewLedger(dir);
  int key = 0;
  std::string lines = Line(&key, "fund_opened", {{"fund", "F"}, {"name", "n"}, {"organisation", "o"}, {"currency", "VND"}}) +
                      Line(&key, "donor_registered", {{"donor", "D"}, {"display_name", "Công ty A"}, {"kind", "organisation"}}) +
                      Line(&key, "child_registered", {{"child", "C"}, {"birth_month", "2012-01"}, {"area", "51"}, {"categories", {"abandoned"}}}) +
                      Line(&key, "donation_received", {{"fund", "F"}, {"donor", "D"}, {"value_date", "2022-01-01"}, {"restriction", "child"},
                                                       {"restricted_to", "C"}, {"cash", {{"channel", "bank"}, {"amount", 5'000'000}}}}) +
                      Line(&key, "disbursement", {{"fund", "F"}, {"child", "C"}, {"kind", "gift"}, {"paid_from", "child"}, {"amount", 2'000'000}, {"method", "cash"}}) +
                      Line(&key, "reversal", {{"seq", 4}, {"reason", "sai \"số\" tiền\\\ndòng 2"}});
  auto drafts = mb::ParseJsonLines(lines);
  ASSERT_TRUE(drafts.ok()) << drafts.status().ToString();
  ASSERT_TRUE(ledger->Append(*drafts, {}).ok());
  auto p = mb::Projections::Open(*ledger, dir.Sub("p"), mb::testing::NullLogger());
  ASSERT_TRUE(p.ok());
  auto h = (*p)->ChildHistory("C");
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 4u);  // registration, donation for the child, payment, reversal
  EXPECT_EQ((*h)[1].from, "Công ty A");
  EXPECT_EQ((*h)[2].reversed_by, 5u);
  EXPECT_EQ((*h)[3].reverses, 4u);
  EXPECT_EQ((*h)[3].amount, -2'000'000);
  EXPECT_EQ((*h)[3].from, "sai \"số\" tiền\\\ndòng 2");  // quotes, backslash and newline survive the record
  auto b = (*p)->Balances("F");
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(b->size(), 1u);
  EXPECT_EQ((*b)[0].subaccount, "c:C");
  EXPECT_EQ((*b)[0].balance, 5'000'000);
  EXPECT_EQ((*b)[0].disbursed, 0);
  EXPECT_TRUE((*p)->ChildHistory("nobody").status().IsNotFound());
  EXPECT_TRUE((*p)->Balances("F9").status().IsNotFound());
  EXPECT_EQ(mb::FormatVnd(2'000'000), "2.000.000 ₫");
  EXPECT_EQ(mb::FormatVnd(-500), "-500 ₫");
}

TEST(Projections, SponsorshipScheduleShowsArrearsAndReopensThemOnReversal) {
  mb::testing::TempDir dir;
  auto ledger = NewLedger(dir);
  int key = 0;
  auto inst = [&](const std::string& month, int64_t amount) {
    return Line(&key, "disbursement", {{"fund", "F"}, {"child", "C"}, {"kind", "sponsorship_instalment"}, {"sponsorship", "S"},
                                      {"month", month}, {"amount", amount}, {"method", "bank"}});
  };
  std::string lines = Line(&key, "fund_opened", {{"fund", "F"}, {"name", "n"}, {"organisation", "o"}, {"currency", "VND"}}) +
                      Line(&key, "donor_registered", {{"donor", "D"}, {"display_name", "Công ty A"}, {"kind", "organisation"}}) +
                      Line(&key, "child_registered", {{"child", "C"}, {"birth_month", "2010-03"}, {"area", "51"}, {"categories", {"abandoned"}}}) +
                      Line(&key, "donation_received", {{"fund", "F"}, {"donor", "D"}, {"value_date", "2022-01-01"},
                                                       {"cash", {{"channel", "bank"}, {"amount", 100'000'000}}}}) +
                      Line(&key, "sponsorship_agreed", {{"sponsorship", "S"}, {"sponsor", "D"}, {"child", "C"}, {"fund", "F"},
                                                        {"monthly_amount", 2'000'000}, {"first_month", "2022-01"}, {"payment_day", 5}}) +
                      inst("2022-01", 2'000'000) + inst("2022-02", 2'000'000) +                        // seq 5, 6
                      Line(&key, "sponsorship_amended", {{"sponsorship", "S"}, {"effective_month", "2022-04"},
                                                         {"monthly_amount", 3'000'000}, {"reason", "tăng"}}) +
                      inst("2022-04", 3'000'000) +                                                    // seq 8; 2022-03 missing
                      Line(&key, "reversal", {{"seq", 6}, {"reason", "bounced"}});                    // 2022-02 missing again
  auto drafts = mb::ParseJsonLines(lines);
  ASSERT_TRUE(drafts.ok()) << drafts.status().ToString();
  auto appended = ledger->Append(*drafts, {});
  ASSERT_TRUE(appended.ok()) << appended.status().ToString();
  auto p = mb::Projections::Open(*ledger, dir.Sub("p"), mb::testing::NullLogger());
  ASSERT_TRUE(p.ok());
  auto rows = (*p)->Sponsorships("C", "2022-05");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 1u);
  const auto& r = (*rows)[0];
  EXPECT_EQ(r.sponsor, "Công ty A");
  EXPECT_EQ(r.last_month, "2028-03");  // the month the child turns 18
  EXPECT_EQ(r.months_due, 5u);
  EXPECT_EQ(r.months_paid, 2u);
  EXPECT_EQ(r.missing, (std::vector<std::string>{"2022-02", "2022-03", "2022-05"}));
  EXPECT_EQ(r.owed, 2'000'000 + 2'000'000 + 3'000'000);  // amounts in force for each missing month
  EXPECT_EQ(r.committed, int64_t{3'000'000} * (*mb::ParseMonth("2028-03") - *mb::ParseMonth("2022-05")));
  EXPECT_TRUE((*p)->Sponsorships("nobody", "2022-05").status().IsNotFound());
  EXPECT_FALSE((*p)->Sponsorships("", "2022-13").ok());
}
