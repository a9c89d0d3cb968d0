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
  for (int d = 0; d < 3; ++d) setup += Line(&key, "donor_registered", {{"donor", "D" + std::to_string(d)}, {"display_name", "Donor " + std::to_string(d)}, {"kind", "organisation"}});
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
        else if (pick(4) == 0) d.update({{"fund", "F0"}, {"restriction", "programme"}, {"restricted_to", "P0"}});
        lines += Line(&key, "donation_received", d);
      } else if (k < 8) {
        json d = {{"fund", fund}, {"child", child}, {"kind", "gift"}, {"amount", 1 + pick(1'000'000)}, {"method", "cash"}};
        int from = pick(4);
        if (from == 0) d["paid_from"] = "child";
        if (from == 1) d.update({{"fund", "F0"}, {"paid_from", "programme"}, {"programme", "P0"}});
        lines += Line(&key, "disbursement", d);
      } else if (k < 9) {
        if (pick(2) == 0) {
          lines += Line(&key, "allocation", {{"from_fund", "F0"}, {"to_fund", "F1"}, {"amount", 1 + pick(500'000)}});
        } else {
          json e = {{"fund", fund}, {"category", "bank_fee"}, {"amount", 1 + pick(20'000)}, {"description", "phí 0123456789012"}};
          if (pick(2) == 0) e.update({{"fund", "F0"}, {"paid_from", "programme"}, {"programme", "P0"}});
          lines += Line(&key, "expense", e);
        }
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

// What must hold of any read models: balances add up; the donor trace holds exactly the money in each
// sub-account (traced lots = balance) and every donor's donations split into used + unspent; every fund's
// statement closes at the fund's balance, and opening + period = closing for a split period.
void CheckReadModelInvariants(const mb::Ledger& ledger, const mb::ReadModels& m, const mb::MemoryKv& mem, uint64_t seed) {
  auto rows = m.Balances("");
  ASSERT_TRUE(rows.ok());
  std::map<std::string, mb::Amount> fund_total;
  mb::Amount all = 0;
  for (const auto& r : *rows) {
    EXPECT_EQ(r.balance, r.received + r.allocated_in - r.allocated_out - r.disbursed - r.expensed) << r.fund << r.subaccount;
    EXPECT_GE(r.balance, 0);
    fund_total[r.fund] += r.balance;
    all += r.balance;
    // Traced lots of this sub-account add up to its balance.
    auto q = mem.Get("q/" + r.fund + "/" + r.subaccount);
    ASSERT_TRUE(q.ok());
    mb::Amount traced = 0;
    if (!q->empty()) {
      for (const auto& lot : json::parse(*q)) traced += lot.at(2).get<mb::Amount>();
    }
    EXPECT_EQ(traced, r.balance) << "seed " << seed << " sub-account " << r.fund << "/" << r.subaccount;
  }
  mb::Amount unspent = 0;
  for (int d = 0; d < 3; ++d) {
    auto t = m.Donor("D" + std::to_string(d));
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    for (const auto& don : t->donations) {
      if (don.kind != "cash") continue;
      EXPECT_EQ(don.used + don.withdrawn + don.unspent, don.amount);
      EXPECT_GE(don.unspent, 0) << "seed " << seed << " donation " << don.seq;
    }
    unspent += t->unspent;
    EXPECT_EQ(t->given, t->used + t->withdrawn + t->unspent) << "seed " << seed;
  }
  // Donation reversals can take other donors' money (recorded as their use), so the totals still agree.
  EXPECT_EQ(unspent, all) << "seed " << seed;
  for (const auto& [fund, total] : fund_total) {
    auto whole = m.FundStatement(fund, "", "", "");
    ASSERT_TRUE(whole.ok()) << whole.status().ToString();
    EXPECT_EQ(whole->closing, total) << "seed " << seed << " fund " << fund;
    EXPECT_EQ(whole->opening, 0);
    for (const auto& row : whole->rows) EXPECT_EQ(row.description.find("0123456789012"), std::string::npos);
  }
  (void)ledger;
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
  // An in-memory replay (what minhbach-verify and `verify --rebuild-compare` run) gives the same records.
  mb::MemoryKv mem;
  ASSERT_TRUE(mb::ReplayInto(*ledger, ledger->size(), mem).ok());
  EXPECT_EQ(mem.records(), (*fresh)->Dump()) << "seed " << seed;
  // The lean replay minhbach-verify uses gives the same published reports.
  mb::MemoryKv lean;
  const mb::ReadModels::Options reports_only{.reports_only = true};
  ASSERT_TRUE(mb::ReplayInto(*ledger, ledger->size(), lean, {}, reports_only).ok());
  mb::ReadModels lean_models(lean, [&](uint64_t s) { return ledger->GetEntry(s); }, reports_only);
  auto lean_reports = lean_models.Reports("2022-08");
  auto full_reports = (*fresh)->models().Reports("2022-08");
  ASSERT_TRUE(lean_reports.ok() && full_reports.ok());
  EXPECT_EQ(*lean_reports, *full_reports) << "seed " << seed;
  EXPECT_LT(lean.records().size(), mem.records().size());
  CheckReadModelInvariants(*ledger, (*fresh)->models(), mem, seed);
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
                      json{{"type", "reversal"}, {"idempotency_key", "k" + std::to_string(++key)}, {"public", {"reason"}},
                           {"data", {{"seq", 4}, {"reason", "sai \"số\" tiền\\\ndòng 2"}}}}.dump() + "\n";
  auto drafts = mb::ParseJsonLines(lines);
  ASSERT_TRUE(drafts.ok()) << drafts.status().ToString();
  ASSERT_TRUE(ledger->Append(*drafts, {}).ok());
  auto p = mb::Projections::Open(*ledger, dir.Sub("p"), mb::testing::NullLogger());
  ASSERT_TRUE(p.ok());
  auto h = (*p)->models().ChildHistory("C");
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 4u);  // registration, donation for the child, payment, reversal
  EXPECT_EQ((*h)[1].from, "Công ty A");
  EXPECT_EQ((*h)[2].reversed_by, 5u);
  EXPECT_EQ((*h)[3].reverses, 4u);
  EXPECT_EQ((*h)[3].amount, -2'000'000);
  EXPECT_EQ((*h)[3].from, "sai \"số\" tiền\\\ndòng 2");  // quotes, backslash and newline survive the record
  auto b = (*p)->models().Balances("F");
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(b->size(), 1u);
  EXPECT_EQ((*b)[0].subaccount, "c:C");
  EXPECT_EQ((*b)[0].balance, 5'000'000);
  EXPECT_EQ((*b)[0].disbursed, 0);
  EXPECT_TRUE((*p)->models().ChildHistory("nobody").status().IsNotFound());
  EXPECT_TRUE((*p)->models().Balances("F9").status().IsNotFound());
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
  auto rows = (*p)->models().Sponsorships("C", "2022-05");
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
  EXPECT_TRUE((*p)->models().Sponsorships("nobody", "2022-05").status().IsNotFound());
  EXPECT_FALSE((*p)->models().Sponsorships("", "2022-13").ok());
}

// A worked example an inspector could redo by hand (docs/projections.md "Donor trace"): first in, first out
// within a fund, restricted money following its restriction, a reversal putting money back at the front.
TEST(Projections, DonorTraceProgrammeReportAndStatementByHand) {
  mb::testing::TempDir dir;
  auto ledger = NewLedger(dir);
  int key = 0;
  auto cash = [](const std::string& ref, int amount) { return json{{"channel", "bank"}, {"bank_ref", ref}, {"amount", amount}}; };
  std::string lines =
      Line(&key, "fund_opened", {{"fund", "F"}, {"name", "n"}, {"organisation", "o"}, {"currency", "VND"}}) +          // 0
      Line(&key, "programme_opened", {{"programme", "P"}, {"fund", "F"}, {"name", "Quà Tết"}, {"legal_basis", "b"}}) +  // 1
      Line(&key, "donor_registered", {{"donor", "A"}, {"display_name", "Công ty A"}, {"kind", "organisation"}}) +       // 2
      Line(&key, "donor_registered", {{"donor", "B"}, {"name", "Nguyễn Văn B 0123456789"}, {"kind", "individual"}}) +  // 3
      Line(&key, "child_registered", {{"child", "C"}, {"birth_month", "2012-01"}, {"area", "51"}, {"categories", {"abandoned"}}}) +  // 4
      Line(&key, "donation_received", {{"fund", "F"}, {"donor", "A"}, {"value_date", "2023-11-01"}, {"cash", cash("FT001", 100)}}) +  // 5
      Line(&key, "donation_received", {{"fund", "F"}, {"donor", "B"}, {"value_date", "2023-11-02"}, {"cash", cash("ft 001", 50)}}) +  // 6
      Line(&key, "disbursement", {{"fund", "F"}, {"child", "C"}, {"kind", "gift"}, {"amount", 120}, {"method", "cash"}}) +  // 7
      Line(&key, "reversal", {{"seq", 7}, {"reason", "paid twice"}}) +                                                   // 8
      Line(&key, "disbursement", {{"fund", "F"}, {"child", "C"}, {"kind", "gift"}, {"amount", 30}, {"method", "cash"}}) +   // 9
      Line(&key, "donation_received", {{"fund", "F"}, {"donor", "A"}, {"value_date", "2023-11-03"}, {"restriction", "programme"},
                                       {"restricted_to", "P"}, {"cash", cash("FT002", 40)}}) +                          // 10
      Line(&key, "disbursement", {{"fund", "F"}, {"child", "C"}, {"kind", "gift"}, {"paid_from", "programme"}, {"programme", "P"},
                                  {"amount", 25}, {"method", "cash"}}) +                                                 // 11
      Line(&key, "expense", {{"fund", "F"}, {"category", "bank_fee"}, {"paid_from", "programme"}, {"programme", "P"},
                             {"amount", 5}, {"description", "phí"}});                                                    // 12
  auto drafts = mb::ParseJsonLines(lines);
  ASSERT_TRUE(drafts.ok()) << drafts.status().ToString();
  auto appended = ledger->Append(*drafts, {});
  ASSERT_TRUE(appended.ok()) << appended.status().ToString();
  auto p = mb::Projections::Open(*ledger, dir.Sub("p"), mb::testing::NullLogger());
  ASSERT_TRUE(p.ok());
  const mb::ReadModels& m = (*p)->models();

  auto a = m.Donor("A");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_EQ(a->donations.size(), 2u);
  const auto& d5 = a->donations[0];
  ASSERT_EQ(d5.uses.size(), 2u);
  EXPECT_EQ(d5.uses[0].seq, 7u);  // 100 of the 120, later reversed
  EXPECT_EQ(d5.uses[0].amount, 100);
  EXPECT_EQ(d5.uses[0].reversed_by, 8u);
  EXPECT_EQ(d5.uses[1].seq, 9u);  // the money came back to the front of the queue: A's again
  EXPECT_EQ(d5.uses[1].amount, 30);
  EXPECT_EQ(d5.unspent, 70);
  const auto& d10 = a->donations[1];  // programme money pays the programme's payment and expense
  ASSERT_EQ(d10.uses.size(), 2u);
  EXPECT_EQ(d10.uses[0].seq, 11u);
  EXPECT_EQ(d10.uses[0].amount, 25);
  EXPECT_EQ(d10.uses[1].type, "expense");
  EXPECT_EQ(d10.unspent, 10);
  EXPECT_EQ(a->given, 140);
  auto b = m.Donor("B");
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(b->donations[0].uses.size(), 1u);
  EXPECT_EQ(b->donations[0].uses[0].amount, 20);
  EXPECT_EQ(b->donations[0].uses[0].reversed_by, 8u);
  EXPECT_EQ(b->unspent, 50);
  EXPECT_TRUE(m.Donor("Z").status().IsNotFound());

  auto prog = m.Programme("P");
  ASSERT_TRUE(prog.ok()) << prog.status().ToString();
  EXPECT_EQ(prog->received, 40);
  EXPECT_EQ(prog->disbursed, 25);
  EXPECT_EQ(prog->expensed, 5);
  EXPECT_EQ(prog->children_reached, 1);
  EXPECT_EQ(prog->share_to_children_permille, 833);
  EXPECT_TRUE(m.Programme("Q").status().IsNotFound());

  // A bank reference is not unique: both credits are found, spaces and case ignored.
  auto refs = m.FindReference("ft001");
  ASSERT_TRUE(refs.ok());
  ASSERT_EQ(refs->size(), 2u);
  EXPECT_EQ((*refs)[0].seq, 5u);
  EXPECT_EQ((*refs)[1].seq, 6u);
  EXPECT_EQ((*refs)[1].counterparty, "anonymous");  // an individual's name is in the vault, never in a read model

  auto day = m.FundStatement("F", "2023-11-02", "2023-11-02", "");
  ASSERT_TRUE(day.ok()) << day.status().ToString();
  EXPECT_EQ(day->opening, 100);
  EXPECT_EQ(day->credits, 50);
  EXPECT_EQ(day->debits, 0);
  EXPECT_EQ(day->closing, 150);
  auto whole = m.FundStatement("F", "", "", "");
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(whole->closing, 130);  // 100 + 50 + 40 - 30 - 25 - 5 (the reversed 120 and its contra row cancel)
  EXPECT_EQ(whole->rows.size(), 8u);
  EXPECT_TRUE(m.FundStatement("G", "", "", "").status().IsNotFound());
  EXPECT_FALSE(m.FundStatement("F", "2023-11-05", "2023-11-01", "").ok());
  EXPECT_FALSE(m.FundStatement("F", "2023-13-01", "", "").ok());

  auto history = m.ChildHistory("C");
  ASSERT_TRUE(history.ok());
  auto totals_or = mb::TotalsOf(*history);
  ASSERT_TRUE(totals_or.ok()) << totals_or.status().ToString();
  mb::ChildTotals& totals = *totals_or;
  EXPECT_EQ(totals.total, 55);
  EXPECT_EQ(totals.by_programme[""], 30);
  EXPECT_EQ(totals.by_programme["P"], 25);
}

TEST(Projections, MaskAccountNumbers) {
  EXPECT_EQ(mb::MaskAccountNumbers("CT tu 0071000123456 toi"), "CT tu *********3456 toi");
  EXPECT_EQ(mb::MaskAccountNumbers("ung ho 500000 dong"), "ung ho 500000 dong");  // amounts (< 8 digits) stay
  EXPECT_EQ(mb::MaskAccountNumbers("12345678"), "****5678");
  EXPECT_EQ(mb::MaskAccountNumbers(""), "");
}

// Money never wraps (issue 14, point 5): a donor who gave 2^62 + 1 to each of two funds, a child paid twice that,
// and sponsorships owing it, give an error naming the sum, never a negative total.
TEST(Projections, SumsBeyondTwoToTheSixtyThreeAreRefusedNotWrapped) {
  mb::testing::TempDir dir;
  auto ledger = NewLedger(dir);
  int key = 0;
  const int64_t big = (int64_t{1} << 62) + 1;
  auto cash = [&](const std::string& ref) { return json{{"channel", "bank"}, {"bank_ref", ref}, {"amount", big}}; };
  std::string lines =
      Line(&key, "fund_opened", {{"fund", "F"}, {"name", "n"}, {"organisation", "o"}, {"currency", "VND"}}) +
      Line(&key, "fund_opened", {{"fund", "G"}, {"name", "n"}, {"organisation", "o"}, {"currency", "VND"}}) +
      Line(&key, "donor_registered", {{"donor", "A"}, {"display_name", "Công ty A"}, {"kind", "organisation"}}) +
      Line(&key, "donation_received", {{"fund", "F"}, {"donor", "A"}, {"value_date", "2023-11-01"}, {"cash", cash("FT1")}}) +
      Line(&key, "donation_received", {{"fund", "G"}, {"donor", "A"}, {"value_date", "2023-11-01"}, {"cash", cash("FT2")}}) +
      Line(&key, "child_registered", {{"child", "C"}, {"birth_month", "2012-01"}, {"area", "51"}, {"categories", {"abandoned"}}}) +
      Line(&key, "disbursement", {{"fund", "F"}, {"child", "C"}, {"kind", "gift"}, {"amount", big}, {"method", "cash"}}) +
      Line(&key, "disbursement", {{"fund", "G"}, {"child", "C"}, {"kind", "gift"}, {"amount", big}, {"method", "cash"}});
  auto drafts = mb::ParseJsonLines(lines);
  ASSERT_TRUE(drafts.ok()) << drafts.status().ToString();
  auto appended = ledger->Append(*drafts, {});
  ASSERT_TRUE(appended.ok()) << appended.status().ToString();
  auto p = mb::Projections::Open(*ledger, dir.Sub("p"), mb::testing::NullLogger());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  const mb::ReadModels& m = (*p)->models();
  auto trace = m.Donor("A");
  ASSERT_FALSE(trace.ok()) << "given " << trace->given;
  EXPECT_NE(trace.status().message().find("donor 'A'"), std::string::npos) << trace.status().ToString();
  auto history = m.ChildHistory("C");
  ASSERT_TRUE(history.ok()) << history.status().ToString();
  auto totals = mb::TotalsOf(*history);
  ASSERT_FALSE(totals.ok()) << "total " << totals->total;
  EXPECT_NE(totals.status().message().find("the child's total paid"), std::string::npos) << totals.status().ToString();
  // Compliance over rows that owe more than 2^63-1 together.
  std::vector<mb::SponsorshipRow> rows(2);
  for (auto& r : rows) r.owed = r.committed = big;
  auto c = mb::ComplianceOf(rows, "2024-01");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("owed"), std::string::npos) << c.status().ToString();
  rows.pop_back();
  auto one = mb::ComplianceOf(rows, "2024-01");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->owed, big);
}
