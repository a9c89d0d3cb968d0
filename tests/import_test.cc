// Importers (tools/import, docs/import.md): CSV reading, amounts and dates, layouts A, B and generic with their
// messy cases, reconciliation (refused whole, or quarantined), re-import, overlapping statements, repeated bank
// references, debits as expenses, senders recognised by pseudonyms without their data entering the log, payments
// lists in CSV and XLSX. Every import runs against a real ledger.
#include <gtest/gtest.h>
#include <unistd.h>
#include <xlsxwriter.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "../tools/bench/statement_gen.h"
#include "minhbach/import.h"
#include "minhbach/ledger.h"
#include "minhbach/privacy.h"
#include "minhbach/vault.h"
#include "scan_util.h"
#include "test_util.h"

namespace mb = minhbach;
namespace imp = minhbach::import;
using nlohmann::json;

namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void Write(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

// ---- Amounts, dates, CSV ----

TEST(ImportParse, Amounts) {
  EXPECT_EQ(*imp::ParseStatementAmount("5.000.000", '.'), 5000000);
  EXPECT_EQ(*imp::ParseStatementAmount("300,000", ','), 300000);
  EXPECT_EQ(*imp::ParseStatementAmount("300,000.00", ','), 300000);
  EXPECT_EQ(*imp::ParseStatementAmount("5.000,00", '.'), 5000);
  EXPECT_EQ(*imp::ParseStatementAmount(" 1100 ", '.'), 1100);
  EXPECT_EQ(*imp::ParseStatementAmount("", '.'), 0);
  EXPECT_EQ(*imp::ParseStatementAmount("-2.500", '.', true), -2500);
  EXPECT_EQ(*imp::ParseStatementAmount("9.223.372.036.854.775.807", '.'), INT64_MAX);
  struct Bad {
    const char* text;
    char sep;
    const char* says;
  } bad[] = {{"5.00.000", '.', "grouped in threes"},  {"5000.000", '.', "grouped in threes"},
             {"5,000,000", '.', "whole VND"},        {"-5.000", '.', "non-negative"},
             {"300,000.50", ',', "no decimals"},     {"1e6", ',', "whole VND"},
             {"9.223.372.036.854.775.808", '.', "above the largest"}, {"12a", '.', "whole VND"},
             {"1.000.000.", '.', "grouped in threes"}};
  for (const auto& b : bad) {
    auto r = imp::ParseStatementAmount(b.text, b.sep);
    ASSERT_FALSE(r.ok()) << b.text;
    EXPECT_NE(r.status().message().find(b.says), std::string::npos) << b.text << ": " << r.status().message();
  }
}

TEST(ImportParse, DatesAndTimes) {
  std::string time;
  EXPECT_EQ(*imp::ParseStatementDate("10/09/2024", "dd/mm/yyyy", &time), "2024-09-10");
  EXPECT_EQ(*imp::ParseStatementDate("2024-09-10", "dd/mm/yyyy", &time), "2024-09-10");  // spreadsheets
  EXPECT_EQ(*imp::ParseStatementDate("10/09/2024 08:15", "dd/mm/yyyy", &time), "2024-09-10");
  EXPECT_EQ(time, "08:15:00");
  EXPECT_EQ(*imp::ParseStatementDate("09/10/2024", "mm/dd/yyyy", nullptr), "2024-09-10");
  EXPECT_FALSE(imp::ParseStatementDate("31/09/2024", "dd/mm/yyyy", nullptr).ok());
  EXPECT_FALSE(imp::ParseStatementDate("10-09-2024", "dd/mm/yyyy", nullptr).ok());
  EXPECT_FALSE(imp::ParseStatementDate("", "dd/mm/yyyy", nullptr).ok());
  EXPECT_EQ(*imp::ParseStatementTime(""), "");
  EXPECT_FALSE(imp::ParseStatementTime("25:00:00").ok());
}

TEST(ImportCsv, BomCrlfQuotedNewlinesBlankLines) {
  mb::testing::TempDir dir;
  Write(dir.Sub("a.csv"), "\xEF\xBB\xBF" "a,b\r\n\r\n1,\"x\r\ny, \"\"z\"\"\"\r\n,,\r\n2,w\r\n");
  auto r = imp::CsvReader::Open(dir.Sub("a.csv"));
  ASSERT_TRUE(r.ok());
  std::vector<std::string> f;
  ASSERT_TRUE(*(*r)->Next(&f));
  EXPECT_EQ(f, (std::vector<std::string>{"a", "b"}));
  ASSERT_TRUE(*(*r)->Next(&f));
  EXPECT_EQ(f, (std::vector<std::string>{"1", "x\r\ny, \"z\""}));
  ASSERT_TRUE(*(*r)->Next(&f));
  EXPECT_EQ(f, (std::vector<std::string>{"2", "w"}));
  EXPECT_FALSE(*(*r)->Next(&f));

  Write(dir.Sub("bad.csv"), "a,b\n1,\"never closed\n");
  auto bad = imp::CsvReader::Open(dir.Sub("bad.csv"));
  ASSERT_TRUE(bad.ok());
  ASSERT_TRUE(*(*bad)->Next(&f));
  auto next = (*bad)->Next(&f);
  ASSERT_FALSE(next.ok());
  EXPECT_NE(next.status().message().find("record 2"), std::string::npos) << next.status().message();
}

TEST(ImportParse, BankFeeRule) {
  EXPECT_TRUE(imp::IsBankFee("Phi dich vu SMS Banking thang 9"));
  EXPECT_TRUE(imp::IsBankFee("PHÍ QUẢN LÝ TÀI KHOẢN"));
  EXPECT_TRUE(imp::IsBankFee("Thu phi chuyen tien, VAT"));
  EXPECT_TRUE(imp::IsBankFee("Monthly service fee"));
  EXPECT_FALSE(imp::IsBankFee("Chuyen tien ho tro NGUYEN VAN PHI"));
  EXPECT_FALSE(imp::IsBankFee("Chuyen tien ho tro dong bao bao Yagi"));
}

// ---- Imports against a ledger ----

class Import : public ::testing::Test {
 protected:
  void SetUp() override {
    auto l = mb::Ledger::Create(dir_.Sub("l"), "test.example/import", mb::testing::NullLogger(), mb::testing::FixedClock());
    ASSERT_TRUE(l.ok()) << l.status().ToString();
    ledger_ = std::move(l).value();
    AppendJson({R"({"type":"fund_opened","idempotency_key":"f","data":{"fund":"F-MTTQ","name":"Quỹ cứu trợ","organisation":"MTTQ","currency":"VND"}})",
                R"({"type":"programme_opened","idempotency_key":"p","data":{"programme":"P-YAGI","fund":"F-MTTQ","name":"Bão Yagi","legal_basis":"Lời kêu gọi 2024"}})",
                R"({"type":"child_registered","idempotency_key":"c1","data":{"child":"C-0001","birth_month":"2012-05","area":"51","categories":["orphaned_one_parent"]}})",
                R"({"type":"child_registered","idempotency_key":"c2","data":{"child":"C-0002","birth_month":"2013-05","area":"51","categories":["disabled"]}})"});
  }

  void AppendJson(const std::vector<std::string>& lines) {
    std::string text;
    for (const auto& l : lines) text += l + "\n";
    auto events = mb::ParseJsonLines(text);
    ASSERT_TRUE(events.ok()) << events.status().ToString();
    auto r = ledger_->Append(*events, ctx_);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  struct Outcome {
    mb::Status status;
    imp::StatementPlan plan;
    mb::AppendResult appended;
  };
  // What `minhbach import statement` does: digest, scan, plan, one append.
  Outcome ImportStatement(const std::string& path, const imp::Layout& layout, imp::StatementOptions o = {}) {
    if (o.fund.empty()) o.fund = "F-MTTQ";
    o.vault = &ledger_->vault();
    Outcome out;
    auto digest = imp::FileSha256(path);
    if (!digest.ok()) return {digest.status(), {}, {}};
    auto prior = imp::ScanPriorLines(*ledger_, o.fund, mb::HexEncode(*digest), o.donor.empty() ? imp::PublicDonorId(o.fund) : o.donor, {});
    if (!prior.ok()) return {prior.status(), {}, {}};
    auto plan = imp::PlanStatement(path, *digest, layout, o, *prior, {});
    if (!plan.ok()) return {plan.status(), {}, {}};
    out.plan = std::move(*plan);
    if (out.plan.events.empty()) return out;
    auto r = ledger_->Append(out.plan.events, ctx_);
    if (!r.ok()) {
      out.status = imp::ToRowStatus(r.status());
      return out;
    }
    out.appended = *r;
    return out;
  }

  // Type and data of every entry from `from` on.
  std::vector<std::pair<std::string, json>> Entries(uint64_t from) {
    std::vector<std::pair<std::string, json>> out;
    EXPECT_TRUE(ledger_->ScanEntries(from, ledger_->size(), [&](uint64_t seq, std::string_view bytes) {
      auto e = mb::DecodeEntry(bytes);
      EXPECT_TRUE(e.ok());
      json j = json::parse(mb::EntryToJson(*e));
      EXPECT_FALSE(j["data"].contains("details") || j["data"].contains("offset_account")) << "entry " << seq;
      // Sealed fields: the value from the vault under the plain name ("details_commitment" -> "details").
      json data = j["data"];
      for (auto it = j["data"].begin(); it != j["data"].end(); ++it) {
        const std::string k = it.key();
        if (k.size() < 11 || k.substr(k.size() - 11) != "_commitment") continue;
        auto raw = mb::HexDecode(it.value().get<std::string>());
        mb::Hash c{};
        if (raw.ok() && raw->size() == c.size()) std::memcpy(c.data(), raw->data(), c.size());
        auto rec = ledger_->vault().Get(seq, c);
        if (rec.ok() && rec->has_value()) {
          data[k.substr(0, k.size() - 11)] = (*rec)->value;
          data["_subject"] = (*rec)->subject;  // whose data it is: erasing that subject removes it
        }
      }
      out.emplace_back(j["type"].get<std::string>(), data);
      return true;
    }).ok());
    return out;
  }

  std::string Gen(const std::string& name, const mb::bench::StatementGenOptions& o, mb::bench::StatementGenResult* r = nullptr) {
    std::string path = dir_.Sub(name);
    EXPECT_TRUE(mb::bench::WriteStatement(path, o, r));
    return path;
  }

  mb::testing::TempDir dir_;
  std::unique_ptr<mb::Ledger> ledger_;
  mb::AppendContext ctx_;
};

// Layout A: the bank's title lines, sparse balances, dot grouping, a repeated document number, a fee, a
// transfer out, a blank line and the "Tổng cộng" row whose totals are checked.
const char* kLayoutA =
    "\xEF\xBB\xBF\"NGÂN HÀNG TMCP NGOẠI THƯƠNG VIỆT NAM\",,,,,,\r\n"
    "\"SAO KÊ TÀI KHOẢN 0011001932418\",,,,,,\r\n"
    "PageId,TNXDate,DocNo,Debit,Credit,Balance,TransactionDetails\r\n"
    "1,10/09/2024,5213.12345,,\"5.000.000\",,\"MBVCB.111.NGUYEN VAN AN chuyen tien ung ho bao Yagi\"\r\n"
    "1,10/09/2024,5213.12345,,\"50.000\",\"5.050.000\",\"MBVCB.112.TRAN THI BINH ung ho\"\r\n"
    "\r\n"
    "1,11/09/2024,0930.55555,\"1.100\",,,\"Phi dich vu SMS Banking\"\r\n"
    "2,11/09/2024,0930.55556,\"3.000.000\",,\"2.048.900\",\"Chuyen tien ho tro dong bao tinh Yen Bai\"\r\n"
    ",,\"Tổng cộng\",\"3.001.100\",\"5.050.000\",,\r\n";

TEST_F(Import, LayoutAMessyCases) {
  Write(dir_.Sub("a.csv"), kLayoutA);
  uint64_t before = ledger_->size();
  Outcome o = ImportStatement(dir_.Sub("a.csv"), imp::LayoutA());
  ASSERT_TRUE(o.status.ok()) << o.status.ToString();
  const auto& s = o.plan.summary;
  EXPECT_EQ(s.rows, 4u);
  EXPECT_EQ(s.credits, 2u);
  EXPECT_EQ(s.debits, 2u);
  EXPECT_EQ(s.credit_sum, 5050000);
  EXPECT_EQ(s.debit_sum, 3001100);
  EXPECT_EQ(s.balances_printed, 2u);
  EXPECT_EQ(s.balances_agreed, 2u);
  EXPECT_EQ(s.opening, 0);
  EXPECT_EQ(s.closing, 2048900);
  EXPECT_TRUE(s.summary_row);
  EXPECT_FALSE(s.donor_registered);  // every sender is named: the public donor is not needed
  EXPECT_EQ(s.donors_new, 2u);
  EXPECT_EQ(s.donors_recognised, 0u);
  EXPECT_EQ(s.public_credits, 0u);
  auto e = Entries(before);
  ASSERT_EQ(e.size(), 6u);  // the two senders' pseudonyms, then one event per row
  EXPECT_EQ(e[0].first, "donor_registered");
  EXPECT_EQ(e[0].second["kind"], "individual");
  EXPECT_EQ(e[0].second["name"], "NGUYEN VAN AN");  // from the vault
  EXPECT_FALSE(e[0].second.contains("account"));
  EXPECT_EQ(e[1].second["name"], "TRAN THI BINH");
  EXPECT_EQ(e[2].first, "donation_received");
  EXPECT_EQ(e[2].second["donor"], e[0].second["donor"]);
  EXPECT_EQ(e[3].second["donor"], e[1].second["donor"]);
  EXPECT_EQ(e[2].second["cash"]["bank_ref"], "5213.12345");
  EXPECT_EQ(e[3].second["cash"]["bank_ref"], "5213.12345");  // the same number on another credit: imported twice
  EXPECT_EQ(e[2].second["value_date"], "2024-09-10");
  EXPECT_EQ(e[2].second["evidence_sha256"], o.plan.summary.file_sha256_hex);
  EXPECT_EQ(e[2].second["details"], "MBVCB.111.NGUYEN VAN AN chuyen tien ung ho bao Yagi");
  EXPECT_EQ(e[4].first, "expense");
  EXPECT_EQ(e[4].second["category"], "bank_fee");
  EXPECT_EQ(e[4].second["amount"], 1100);
  EXPECT_EQ(e[5].second["category"], "transfer_out");
  EXPECT_EQ(e[5].second["value_date"], "2024-09-11");
  EXPECT_EQ(e[5].second["bank_ref"], "0930.55556");
  // line_sha256 is the documented digest of the row's normalized content.
  imp::StatementRow row;
  row.date = "2024-09-11";
  row.doc = "0930.55556";
  row.debit = 3000000;
  row.details = "Chuyen tien ho tro dong bao tinh Yen Bai";
  EXPECT_EQ(e[5].second["line_sha256"], mb::HexEncode(imp::LineDigest(row, ledger_->vault())));
}

TEST_F(Import, LayoutBQuotedNewlinesMissingTimesCommaGrouping) {
  Write(dir_.Sub("b.csv"),
        "PageId,Date,Time,DocumentNumber,ReferenceNumber,TransactionDetails,DebitAmount,CreditAmount,Balance,OffsetAccount\n"
        "1,12/09/2024,08:01:02,100,FT24256001,\"NGUYEN VAN AN\nung ho bao Yagi\",,\"300,000\",\"300,000\",0071000111\n"
        "1,12/09/2024,,101,FT24256001,\"TRAN THI BINH, \"\"Yen Bai\"\"\",,\"200,000\",\"500,000\",\n"
        "1,12/09/2024,09:00:00,102,,\"Phí chuyển tiền\",\"11,000\",,\"489,000\",\n"
        ",,,,,Total,\"11,000\",\"500,000\",,\n");
  uint64_t before = ledger_->size();
  imp::StatementOptions opts;
  opts.campaign = "P-YAGI";
  Outcome o = ImportStatement(dir_.Sub("b.csv"), imp::LayoutB(), opts);
  ASSERT_TRUE(o.status.ok()) << o.status.ToString();
  EXPECT_EQ(o.plan.summary.balances_agreed, 3u);
  auto e = Entries(before);
  ASSERT_EQ(e.size(), 5u);  // two new donors, three rows
  EXPECT_EQ(e[0].second["name"], "NGUYEN VAN AN");
  EXPECT_EQ(e[0].second["account"], "0071000111");  // the OffsetAccount column
  EXPECT_EQ(e[1].second["name"], "TRAN THI BINH");  // "TRAN THI BINH," ends the name
  EXPECT_FALSE(e[1].second.contains("account"));
  EXPECT_EQ(e[2].second["details"], "NGUYEN VAN AN\nung ho bao Yagi");
  EXPECT_EQ(e[2].second["offset_account"], "0071000111");
  EXPECT_EQ(e[2].second["_subject"], e[0].second["donor"]);  // filed under the sender's pseudonym
  EXPECT_EQ(e[2].second["restriction"], "programme");
  EXPECT_EQ(e[2].second["restricted_to"], "P-YAGI");
  EXPECT_EQ(e[2].second["cash"]["bank_ref"], "FT24256001");
  EXPECT_EQ(e[3].second["cash"]["bank_ref"], "FT24256001");
  EXPECT_EQ(e[3].second["details"], "TRAN THI BINH, \"Yen Bai\"");
  EXPECT_FALSE(e[3].second.contains("offset_account"));  // an empty cell seals nothing
  EXPECT_EQ(e[4].first, "expense");
  EXPECT_EQ(e[4].second["category"], "bank_fee");
  EXPECT_EQ(e[4].second["paid_from"], "programme");
  EXPECT_EQ(e[4].second["bank_ref"], "102");  // no reference number: the document number
  EXPECT_NE(e[4].second["_subject"], e[0].second["donor"]);  // a debit's text is no sender's
}

TEST_F(Import, GenericMapping) {
  auto layout = imp::LayoutFromMapping(R"({"header_rows":2,"date_format":"yyyy-mm-dd","thousands_separator":" ","delimiter":";",
    "columns":{"date":"Ngày","details":"Nội dung","debit":"Ghi nợ","credit":"Ghi có","balance":4,"ref":"Số tham chiếu"}})");
  ASSERT_TRUE(layout.ok()) << layout.status().ToString();
  Write(dir_.Sub("g.csv"), "Sao kê;;;;\nNgày;Số tham chiếu;Ghi nợ;Ghi có;Số dư;Nội dung\n"
                           "2024-09-12;R1;;1 000 000;1 000 000;Ung ho\n2024-09-13;R2;;20 000;1 020 000;Ung ho lan 2\n");
  Outcome o = ImportStatement(dir_.Sub("g.csv"), *layout);
  ASSERT_TRUE(o.status.ok()) << o.status.ToString();
  EXPECT_EQ(o.plan.summary.rows, 2u);
  EXPECT_EQ(o.plan.summary.balances_agreed, 2u);
  EXPECT_EQ(o.plan.summary.credit_sum, 1020000);

  for (const char* bad : {R"({"columns":{"date":"D"}})", R"({"columns":{"date":"D","details":"X","debit":"A","credit":"B","colour":1}})",
                          R"({"columns":{"date":"D","details":"X","debit":"A","credit":"B"},"date_format":"yy/mm/dd"})"}) {
    auto l = imp::LayoutFromMapping(bad);
    EXPECT_FALSE(l.ok()) << bad;
  }
}

TEST_F(Import, BadRowsAreAllListedWithRowAndColumn) {
  Write(dir_.Sub("bad.csv"),
        "PageId,TNXDate,DocNo,Debit,Credit,Balance,TransactionDetails\n"
        "1,10/09/2024,1,,\"5.00.000\",,x\n"
        "1,31/09/2024,2,,\"5.000\",,x\n"
        "1,10/09/2024,3,,\"-5.000\",,x\n"
        "1,10/09/2024,4,\"99.999.999.999.999.999.999\",,,x\n"
        "1,10/09/2024,5,\"1.000\",\"2.000\",,x\n"
        "1,10/09/2024,6,,\"5.000\",,x\n");
  uint64_t size = ledger_->size();
  Outcome o = ImportStatement(dir_.Sub("bad.csv"), imp::LayoutA());
  ASSERT_TRUE(o.status.IsInvalidArgument());
  const std::string& m = o.status.message();
  EXPECT_NE(m.find("5 bad row(s)"), std::string::npos) << m;
  EXPECT_NE(m.find("row 1 (page 1): column 'Credit': expected digits grouped in threes"), std::string::npos) << m;
  EXPECT_NE(m.find("row 2 (page 1): column 'TNXDate': expected a real date"), std::string::npos) << m;
  EXPECT_NE(m.find("row 3 (page 1): column 'Credit': expected a non-negative amount"), std::string::npos) << m;
  EXPECT_NE(m.find("row 4 (page 1): column 'Debit': amount '99.999.999.999.999.999.999' is above"), std::string::npos) << m;
  EXPECT_NE(m.find("row 5 (page 1): expected exactly one of debit and credit, got both"), std::string::npos) << m;
  EXPECT_EQ(ledger_->size(), size);
}

TEST_F(Import, SummaryTotalsMustAgree) {
  std::string text = kLayoutA;
  text.replace(text.find("\"5.050.000\",,\r\n"), 11, "\"5.050.001\"");
  Write(dir_.Sub("s.csv"), text);
  Outcome o = ImportStatement(dir_.Sub("s.csv"), imp::LayoutA());
  ASSERT_FALSE(o.status.ok());
  EXPECT_NE(o.status.message().find("summary row: column 'Credit' total 5050001 differs from the sum of the rows, 5050000"),
            std::string::npos)
      << o.status.message();
}

TEST_F(Import, GeneratedStatementsEveryRowAccountedFor) {
  for (char layout : {'A', 'B'}) {
    mb::bench::StatementGenOptions g;
    g.layout = layout;
    g.rows = 3000;
    g.seed = layout;
    mb::bench::StatementGenResult want;
    std::string path = Gen(std::string("gen-") + layout + ".csv", g, &want);
    uint64_t before = ledger_->size();
    imp::StatementOptions o;
    o.fund = "F-MTTQ";
    Outcome out = ImportStatement(path, layout == 'A' ? imp::LayoutA() : imp::LayoutB(), o);
    ASSERT_TRUE(out.status.ok()) << layout << ": " << out.status.ToString();
    const auto& s = out.plan.summary;
    EXPECT_EQ(s.rows, 3000u);
    EXPECT_EQ(s.credits, want.credits);
    EXPECT_EQ(s.debits, want.debits);
    EXPECT_EQ(s.credit_sum, want.credit_sum);
    EXPECT_EQ(s.debit_sum, want.debit_sum);
    EXPECT_EQ(s.closing, want.closing);
    EXPECT_EQ(s.balances_agreed, s.balances_printed);
    EXPECT_EQ(s.balances_printed, layout == 'A' ? 750u : 3000u);
    EXPECT_TRUE(s.summary_row);
    EXPECT_GT(s.donors_new, 100u);
    EXPECT_GT(s.public_credits, 0u);  // texts that name nobody
    // + the new pseudonyms, + the public donor, once
    EXPECT_EQ(ledger_->size() - before, 3000u + s.donors_new + (layout == 'A' ? 1 : 0));
    EXPECT_EQ(s.donor_registered, layout == 'A');
    uint64_t fees = 0;
    for (const auto& [type, data] : Entries(before)) fees += type == "expense" && data["category"] == "bank_fee";
    EXPECT_EQ(fees, want.fees);
  }
}

TEST_F(Import, GapRefusedWholeLedgerUnchanged) {
  mb::bench::StatementGenOptions g;
  g.layout = 'A';
  g.rows = 200;
  g.drop_row = 57;  // a missing line: the next printed balance (row 60) is off
  std::string path = Gen("gap.csv", g);
  const uint64_t size = ledger_->size();
  const mb::Hash root = ledger_->root();
  Outcome o = ImportStatement(path, imp::LayoutA());
  ASSERT_TRUE(o.status.IsInvalidArgument());
  EXPECT_NE(o.status.message().find("1 printed balance(s) disagree"), std::string::npos) << o.status.message();
  // Data row 59 is generated row 60 (row 57 is missing): rows 57..59 since the agreeing balance of row 56.
  EXPECT_NE(o.status.message().find("row 59 (page 2): printed balance"), std::string::npos) << o.status.message();
  EXPECT_NE(o.status.message().find("rows 57..59 since the last agreeing balance"), std::string::npos) << o.status.message();
  EXPECT_EQ(ledger_->size(), size);
  EXPECT_EQ(ledger_->root(), root);
}

TEST_F(Import, QuarantineWritesReportAndImportsTheRest) {
  mb::bench::StatementGenOptions g;
  g.layout = 'A';
  g.rows = 200;
  g.drop_row = 57;
  std::string path = Gen("gap.csv", g);
  uint64_t before = ledger_->size();
  imp::StatementOptions o;
  o.quarantine = true;
  Outcome out = ImportStatement(path, imp::LayoutA(), o);
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  // Every row since the last agreeing balance (row 56) up to the disagreeing one (row 59).
  ASSERT_EQ(out.plan.quarantined.size(), 3u);
  EXPECT_EQ(out.plan.quarantined.front().row.row, 57u);
  EXPECT_EQ(out.plan.quarantined.back().row.row, 59u);
  EXPECT_EQ(out.plan.summary.rows, 199u);
  EXPECT_EQ(ledger_->size() - before, 199u - 3u + out.plan.summary.donors_new + 1u);  // + the donors
  EXPECT_EQ(out.plan.summary.balances_agreed + 1, out.plan.summary.balances_printed);  // re-synced after the gap
  ASSERT_TRUE(imp::WriteQuarantineReport(dir_.Sub("q.csv"), out.plan).ok());
  std::string csv = Slurp(dir_.Sub("q.csv"));
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 4);  // header + 3 rows
  EXPECT_EQ(csv.rfind("row,page,date", 0), 0u);
  ASSERT_TRUE(imp::WriteQuarantineReport(dir_.Sub("q.json"), out.plan).ok());
  json j = json::parse(Slurp(dir_.Sub("q.json")));
  ASSERT_EQ(j["quarantined"].size(), 3u);
  EXPECT_EQ(j["quarantined"][2]["gap_row"], 59);
  EXPECT_EQ(j["quarantined"][2]["gap"].get<int64_t>(), j["quarantined"][2]["gap_printed_balance"].get<int64_t>() -
                                                            j["quarantined"][2]["expected_balance"].get<int64_t>());
}

TEST_F(Import, SameFileTwiceAppendsNothing) {
  mb::bench::StatementGenOptions g;
  g.layout = 'B';
  g.rows = 500;
  std::string path = Gen("b.csv", g);
  Outcome first = ImportStatement(path, imp::LayoutB());
  ASSERT_TRUE(first.status.ok()) << first.status.ToString();
  EXPECT_GT(first.plan.summary.donors_new, 0u);
  const uint64_t size = ledger_->size();
  const mb::Hash root = ledger_->root();
  Outcome again = ImportStatement(path, imp::LayoutB());
  ASSERT_TRUE(again.status.ok()) << again.status.ToString();
  EXPECT_EQ(again.appended.appended, 0u);
  EXPECT_EQ(again.appended.duplicates.size(), 500u);  // the ledger names each one
  EXPECT_FALSE(again.plan.summary.donor_registered);
  EXPECT_EQ(again.plan.summary.donors_new, 0u);  // each row goes to the donor it went to the first time
  EXPECT_EQ(again.plan.summary.donors_recognised, first.plan.summary.donors_new);
  EXPECT_EQ(ledger_->size(), size);
  EXPECT_EQ(ledger_->root(), root);
}

TEST_F(Import, OverlappingLaterStatementAppendsOnlyNewLines) {
  mb::bench::StatementGenOptions g;
  g.layout = 'B';
  g.rows = 300;  // 1-15 Sep
  ASSERT_TRUE(ImportStatement(Gen("first.csv", g), imp::LayoutB()).status.ok());
  uint64_t before = ledger_->size();
  g.rows = 700;  // 1-30 Sep, a different file with the first 300 lines again (identical lines counted by occurrence)
  g.crlf = false;
  Outcome o = ImportStatement(Gen("second.csv", g), imp::LayoutB());
  ASSERT_TRUE(o.status.ok()) << o.status.ToString();
  EXPECT_EQ(o.plan.summary.overlap_rows, 300u);
  EXPECT_GT(o.plan.summary.donors_recognised, 0u);  // people who gave in the first 300 rows give again
  EXPECT_EQ(o.appended.appended, 400u + o.plan.summary.donors_new);
  EXPECT_EQ(ledger_->size() - before, 400u + o.plan.summary.donors_new);

  // A statement that repeats an imported line after a new one is refused, naming the row: a new line first,
  // then the lines of the first statement.
  std::string text = Slurp(dir_.Sub("first.csv"));
  size_t data = text.find("OffsetAccount\r\n") + 15;
  text.insert(data, "1,01/09/2024,07:00:00,999,FT999,\"Dong gop moi\",,\"10,000\",\"10,000\",\r\n");
  Write(dir_.Sub("third.csv"), text);
  const uint64_t size = ledger_->size();
  Outcome bad = ImportStatement(dir_.Sub("third.csv"), imp::LayoutB());
  ASSERT_FALSE(bad.status.ok());
  EXPECT_NE(bad.status.message().find("row 2: this line is already entry"), std::string::npos) << bad.status.message();
  EXPECT_NE(bad.status.message().find("follows new row 1"), std::string::npos) << bad.status.message();
  EXPECT_EQ(ledger_->size(), size);
}

TEST_F(Import, OverdrawingDebitNamesTheRow) {
  Write(dir_.Sub("o.csv"), "PageId,TNXDate,DocNo,Debit,Credit,Balance,TransactionDetails\n"
                           "1,10/09/2024,1,,\"5.000\",,x\n1,10/09/2024,2,\"9.000\",,\"1.000\",Chuyen di\n");
  const uint64_t size = ledger_->size();
  imp::StatementOptions o;
  o.opening_balance = 5000;  // the bank account had money before: the fund in the ledger did not
  Outcome out = ImportStatement(dir_.Sub("o.csv"), imp::LayoutA(), o);
  ASSERT_FALSE(out.status.ok());
  EXPECT_NE(out.status.message().find("row 2: fund 'F-MTTQ' sub-account u would go below zero: holds 5000, needs 9000"),
            std::string::npos)
      << out.status.message();
  EXPECT_EQ(ledger_->size(), size);
}

// ---- Senders: pseudonyms from the vault, no personal data in the log ----

TEST(ImportSenders, FindSenderPatterns) {
  struct Case {
    const char* offset;
    const char* details;
    const char* account;
    const char* name;
  } cases[] = {
      {"", "MBVCB.6988010010.NGUYEN VAN AN chuyen tien ung ho", "", "NGUYEN VAN AN"},
      {"", "MBVCB.6988010010.5350BFTVG2SNYN9B.TRAN THI HUONG chuyen tien.CT tu 0011004221491 TRAN THI HUONG toi "
           "0011001932418 MAT TRAN TO QUOC VN", "0011004221491", "TRAN THI HUONG"},
      {"", "CT tu 0101001222009 CAO VIET TUAN ung ho dong bao", "0101001222009", "CAO VIET TUAN"},
      {"", "Nguyễn Thị Thu Hằng chuyển tiền ủng hộ, SĐT 090 228 6798", "", "Nguyễn Thị Thu Hằng"},
      {"", "LE VAN CUONG ung ho mien Bac lien he 0902286798", "", "LE VAN CUONG"},  // a phone is not an account
      {"0071-000-111", "Ung ho dong bao", "0071000111", ""},                        // OffsetAccount wins
      {"TK NOI BO", "ung ho 1000000000 dong", "", ""},  // not an account; a round amount neither
      {"", "UNG HO DONG BAO MIEN BAC", "", ""},          // all capitals, but no family name first
      {"", "HO TRO DONG BAO BAO LU", "", ""},
      {"", "IBFT 20240910 Ung ho", "", ""},
      {"", "MBVCB.1.X chuyen tien", "", ""},             // one word is not a name
      {"", "Ung ho bao Yagi - Vũ Xuân Thảo - 070 423 0977", "", ""},
  };
  for (const auto& c : cases) {
    imp::Sender s = imp::FindSender(c.offset, c.details);
    EXPECT_EQ(s.account, c.account) << c.details;
    EXPECT_EQ(s.name, c.name) << c.details;
  }
  auto id = imp::NewDonorId();
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->size(), 14u);
  EXPECT_EQ(id->rfind("D-", 0), 0u);
  EXPECT_NE(*id, *imp::NewDonorId());
}

TEST_F(Import, DonorGivingTwiceAcrossStatementsMapsToOnePseudonym) {
  const std::string header = "PageId,Date,Time,DocumentNumber,ReferenceNumber,TransactionDetails,DebitAmount,CreditAmount,Balance,OffsetAccount\n";
  // September: the bank gives the account in OffsetAccount; the same person twice in the file.
  Write(dir_.Sub("sep.csv"), header +
                                 "1,12/09/2024,08:00:00,1,FT1,\"CAO VIET TUAN ung ho\",,\"100,000\",\"100,000\",0101001222009\n"
                                 "1,13/09/2024,08:00:00,2,FT2,\"CAO VIET TUAN ung ho lan 2\",,\"50,000\",\"150,000\",0101001222009\n");
  Outcome a = ImportStatement(dir_.Sub("sep.csv"), imp::LayoutB());
  ASSERT_TRUE(a.status.ok()) << a.status.ToString();
  EXPECT_EQ(a.plan.summary.donors_new, 1u);
  ASSERT_EQ(a.plan.events.size(), 3u);  // one registration, two donations
  auto donor = ledger_->vault().FindPseudonym("account", "0101001222009");
  ASSERT_TRUE(donor.ok() && donor->has_value());
  EXPECT_EQ(a.plan.events[0].idempotency_key, "donor:" + **donor);  // no personal data, no HMAC in the key
  // October, another file: the account only in the text, written differently.
  Write(dir_.Sub("oct.csv"), header + "1,01/10/2024,08:00:00,7,FT7,\"MBVCB.99.x.CT tu 0101001222009 Cao Viet Tuan\",,"
                                      "\"20,000\",\"170,000\",\n");
  imp::StatementOptions o;
  o.opening_balance = 150000;
  Outcome b = ImportStatement(dir_.Sub("oct.csv"), imp::LayoutB(), o);
  ASSERT_TRUE(b.status.ok()) << b.status.ToString();
  EXPECT_EQ(b.plan.summary.donors_new, 0u);
  EXPECT_EQ(b.plan.summary.donors_recognised, 1u);
  auto e = Entries(ledger_->size() - 1);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].second["donor"], **donor);
  auto mine = ledger_->vault().ForSubject(**donor);  // everything the vault keeps about this person
  ASSERT_TRUE(mine.ok());
  EXPECT_EQ(mine->size(), 2u + 2u * 2u + 1u);  // name, account; details and offset account twice; October's text
}

TEST_F(Import, NameOnlySenderRecognisedWithOrWithoutDiacritics) {
  Write(dir_.Sub("a.csv"), "PageId,TNXDate,DocNo,Debit,Credit,Balance,TransactionDetails\n"
                           "1,10/09/2024,1,,\"100.000\",\"100.000\",\"MBVCB.5.NGUYEN THI HANG chuyen tien ung ho\"\n");
  Outcome a = ImportStatement(dir_.Sub("a.csv"), imp::LayoutA());
  ASSERT_TRUE(a.status.ok()) << a.status.ToString();
  ASSERT_EQ(a.plan.summary.donors_new, 1u);
  auto donor = ledger_->vault().FindPseudonym("name", mb::NormalizeName("Nguyễn Thị Hằng"));
  ASSERT_TRUE(donor.ok() && donor->has_value());
  Write(dir_.Sub("b.csv"), "PageId,TNXDate,DocNo,Debit,Credit,Balance,TransactionDetails\n"
                           "1,11/09/2024,2,,\"30.000\",\"130.000\",\"Nguyễn Thị Hằng ủng hộ đồng bào\"\n"
                           "1,11/09/2024,3,,\"40.000\",\"170.000\",\"Ung ho dong bao\"\n");  // names nobody
  imp::StatementOptions o;
  o.opening_balance = 100000;
  Outcome b = ImportStatement(dir_.Sub("b.csv"), imp::LayoutA(), o);
  ASSERT_TRUE(b.status.ok()) << b.status.ToString();
  EXPECT_EQ(b.plan.summary.donors_new, 0u);
  EXPECT_EQ(b.plan.summary.donors_recognised, 1u);
  EXPECT_EQ(b.plan.summary.public_credits, 1u);
  EXPECT_TRUE(b.plan.summary.donor_registered);
  auto e = Entries(ledger_->size() - 2);
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].second["donor"], **donor);
  EXPECT_EQ(e[1].second["donor"], "D-PUBLIC-F-MTTQ");
  EXPECT_EQ(e[1].second["_subject"], "D-PUBLIC-F-MTTQ");
}

TEST_F(Import, ForcedDonorTakesEveryCredit) {
  AppendJson({R"({"type":"donor_registered","idempotency_key":"d","data":{"donor":"D1","kind":"individual"}})"});
  mb::bench::StatementGenOptions g;
  g.layout = 'B';
  g.rows = 200;
  imp::StatementOptions o;
  o.donor = "D1";
  const uint64_t before = ledger_->size();
  Outcome out = ImportStatement(Gen("b.csv", g), imp::LayoutB(), o);
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.plan.summary.donors_new, 0u);
  EXPECT_EQ(ledger_->size() - before, 200u);
  for (const auto& [type, data] : Entries(before)) {
    if (type == "donation_received") {
      EXPECT_EQ(data["donor"], "D1");
    }
  }
}

TEST_F(Import, SealedTextsFollowTheFieldRules) {
  Write(dir_.Sub("u.csv"), "PageId,TNXDate,DocNo,Debit,Credit,Balance,TransactionDetails\n"
                           "1,10/09/2024,1,,\"5.000\",,\"bad \xC3\x28 utf-8\"\n"
                           "1,10/09/2024,2,,\"5.000\",,\"" + std::string(2049, 'x') + "\"\n");
  const uint64_t size = ledger_->size();
  Outcome o = ImportStatement(dir_.Sub("u.csv"), imp::LayoutA());
  ASSERT_FALSE(o.status.ok());
  const std::string& m = o.status.message();
  EXPECT_NE(m.find("row 1 (page 1): column 'TransactionDetails': text is not valid UTF-8"), std::string::npos) << m;
  EXPECT_NE(m.find("row 2 (page 1): column 'TransactionDetails': text of 2049 bytes is longer than the 2048"),
            std::string::npos) << m;
  EXPECT_EQ(ledger_->size(), size);
}

// The log's store (every file of LEDGER/db, and what its blocks decode to) holds none of the names, account and
// phone numbers of an imported statement; the vault holds each of them.
TEST_F(Import, NoPersonalDataInTheLogStoreAfterAnImport) {
  mb::bench::StatementGenOptions g;
  g.layout = 'B';
  g.rows = 2000;
  g.seed = 11;
  mb::bench::StatementGenResult gen;
  Outcome out = ImportStatement(Gen("b.csv", g, &gen), imp::LayoutB());
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  ASSERT_FALSE(gen.names.empty() || gen.accounts.empty() || gen.phones.empty());
  mb::testing::NeedleScanner scan;
  for (const auto* list : {&gen.names, &gen.accounts, &gen.phones}) {
    for (const auto& v : *list) scan.Add(v);
  }
  const size_t as_written = scan.size();
  for (const auto& p : gen.phones) {
    if (p.find(' ') != std::string::npos) scan.Add(mb::NormalizeDigits(p));  // "090 228 6798" as digits too
  }
  scan.Build();
  std::vector<uint64_t> in_vault;
  ASSERT_TRUE(ledger_->vault().Scan([&](const mb::VaultRecord& r) {
    scan.Scan(r.value, &in_vault);
    return true;
  }).ok());
  for (size_t i = 0; i < as_written; ++i) EXPECT_GT(in_vault[i], 0u) << scan.needle(i) << " is not in the vault";
  ledger_.reset();  // closed: its files are complete
  std::vector<uint64_t> hits;
  uint64_t found = 0, files = 0;
  mb::testing::ForEachFile(dir_.Sub("l/db"), [&](const std::string& path, const std::string& bytes) {
    const uint64_t n = scan.Scan(bytes, &hits);
    EXPECT_EQ(n, 0u) << path;
    found += n;
    ++files;
  });
  const std::string contents = mb::testing::StoreContents(dir_.Sub("l/db"));
  ASSERT_FALSE(contents.empty());
  found += scan.Scan(contents, &hits);
  for (size_t i = 0; i < scan.size(); ++i) EXPECT_EQ(hits[i], 0u) << scan.needle(i) << " is in the log's store";
  EXPECT_EQ(found, 0u);
  EXPECT_GT(files, 0u);
}

// ---- Payments ----

const char* kPaymentsHeader = "child,amount,kind,programme,month,evidence_sha256\n";
const std::string kEvidence(64, 'a');

TEST_F(Import, PaymentsCsvAtomicWithEveryBadRowListed) {
  AppendJson({R"({"type":"donor_registered","idempotency_key":"d","data":{"donor":"D1","kind":"individual"}})",
              R"({"type":"donation_received","idempotency_key":"don","data":{"fund":"F-MTTQ","donor":"D1","restriction":"programme","restricted_to":"P-YAGI","value_date":"2024-09-12","cash":{"channel":"bank","amount":10000000}}})"});
  Write(dir_.Sub("good.csv"), std::string(kPaymentsHeader) + "C-0001,\"2.000.000\",one_off_support,P-YAGI,2024-09," + kEvidence +
                                  "\nC-0002,1500000,gift,P-YAGI,," + kEvidence + "\n");
  auto digest = imp::FileSha256(dir_.Sub("good.csv"));
  auto plan = imp::PlanPayments(dir_.Sub("good.csv"), *digest, "F-MTTQ");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_TRUE(plan->errors.empty());
  EXPECT_EQ(plan->total, 3500000);
  uint64_t before = ledger_->size();
  auto r = ledger_->Append(plan->events, ctx_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto e = Entries(before);
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].second["paid_from"], "programme");
  EXPECT_EQ(e[0].second["method"], "bank");

  Write(dir_.Sub("bad.csv"), std::string(kPaymentsHeader) +
                                 "C-0001,\"7,50,000\",one_off_support,P-YAGI,2024-09," + kEvidence + "\n" +  // amount
                                 "C-0002,100000,pocket_money,P-YAGI,2024-09," + kEvidence + "\n" +           // kind
                                 "C-9999,100000,gift,P-YAGI,2024-09," + kEvidence + "\n" +                   // no such child
                                 "C-0001,100000,gift,P-YAGI,2024-9," + kEvidence + "\n" +                                // month
                                 "C-0002,99000000,gift,P-YAGI,2024-09," + kEvidence + "\n" +                 // overdraws
                                 "C-0001,100000,gift,P-YAGI,2024-09," + kEvidence + "\n");                   // fine
  digest = imp::FileSha256(dir_.Sub("bad.csv"));
  plan = imp::PlanPayments(dir_.Sub("bad.csv"), *digest, "F-MTTQ");
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->errors.size(), 3u);
  auto failures = imp::CheckInvariants(*ledger_, plan->events, 50);
  ASSERT_TRUE(failures.ok());
  std::vector<imp::RowError> all = plan->errors;
  for (const auto& [i, s] : *failures) all.push_back({plan->events[i].line, imp::ToRowStatus(s).message()});
  mb::Status s = imp::RowErrors(all);
  const std::string& m = s.message();
  EXPECT_NE(m.find("5 bad row(s), nothing imported"), std::string::npos) << m;
  EXPECT_NE(m.find("row 1: column 'amount':"), std::string::npos) << m;
  EXPECT_NE(m.find("row 2: column 'kind':"), std::string::npos) << m;
  EXPECT_NE(m.find("row 3: child 'C-9999' is not registered"), std::string::npos) << m;
  EXPECT_NE(m.find("row 4: column 'month':"), std::string::npos) << m;
  EXPECT_NE(m.find("row 5: fund 'F-MTTQ' sub-account p:P-YAGI would go below zero"), std::string::npos) << m;
  EXPECT_EQ(m.find("row 6"), std::string::npos) << m;
  EXPECT_LT(m.find("row 1:"), m.find("row 5:"));  // in row order
}

// A payments list names people by pseudonymous id only: personal columns are refused with the way to go, a
// guardian cell holding a name or a phone number is refused, and an override reason is sealed into the vault.
TEST_F(Import, PaymentsKeepPersonalDataOutOfTheLog) {
  for (const char* column : {"guardian_name", "Họ tên", "phone", "Số điện thoại", "ghi chú", "note"}) {
    Write(dir_.Sub("p.csv"), std::string("child,amount,kind,evidence_sha256,") + column + "\nC-0001,1000,gift," + kEvidence +
                                 ",x\n");
    auto plan = imp::PlanPayments(dir_.Sub("p.csv"), *imp::FileSha256(dir_.Sub("p.csv")), "F-MTTQ");
    ASSERT_FALSE(plan.ok()) << column;
    EXPECT_NE(plan.status().message().find(std::string("header: column '") + column + "' would carry personal data"),
              std::string::npos)
        << plan.status().message();
    EXPECT_NE(plan.status().message().find("guardian_registered"), std::string::npos);
  }
  AppendJson({R"({"type":"donor_registered","idempotency_key":"d","data":{"donor":"D1","kind":"individual"}})",
              R"({"type":"donation_received","idempotency_key":"don","data":{"fund":"F-MTTQ","donor":"D1","value_date":"2024-09-12","cash":{"channel":"bank","amount":10000000}}})"});
  Write(dir_.Sub("g.csv"), "child,amount,kind,evidence_sha256,guardian,idempotency_key,override_reason\n"
                           "C-0001,1000,gift," + kEvidence + ",Nguyễn Thị Hằng,,\n"
                           "C-0001,1000,gift," + kEvidence + ",0902286798,,\n"
                           "C-0001,1000,gift," + kEvidence + ",G-0001,pay-0902286798,\n"
                           "C-0002,2000,gift," + kEvidence + ",G-0002,,\"Bà Hằng (090 228 6798) nhận thay\"\n");
  auto plan = imp::PlanPayments(dir_.Sub("g.csv"), *imp::FileSha256(dir_.Sub("g.csv")), "F-MTTQ");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->errors.size(), 3u);
  EXPECT_NE(plan->errors[0].message.find("row 1: column 'guardian': expected the guardian's pseudonymous id"), std::string::npos)
      << plan->errors[0].message;
  EXPECT_EQ(plan->errors[0].message.find("Hằng"), std::string::npos);  // the error does not repeat the name
  EXPECT_NE(plan->errors[1].message.find("row 2: column 'guardian'"), std::string::npos) << plan->errors[1].message;
  EXPECT_NE(plan->errors[2].message.find("row 3: column 'idempotency_key': holds a run of 10 digits"), std::string::npos)
      << plan->errors[2].message;
  ASSERT_EQ(plan->events.size(), 1u);
  const uint64_t before = ledger_->size();
  ASSERT_TRUE(ledger_->Append(plan->events, ctx_).ok());
  auto e = Entries(before);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].second["override_reason"], "Bà Hằng (090 228 6798) nhận thay");  // from the vault
  EXPECT_TRUE(e[0].second.contains("override_reason_commitment"));
  EXPECT_EQ(e[0].second["_subject"], "C-0002");
}

TEST_F(Import, PaymentsXlsx) {
  if (::access("/usr/bin/xlsx2csv", X_OK) != 0) GTEST_SKIP() << "xlsx2csv is not installed (apt-get install xlsx2csv)";
  AppendJson({R"({"type":"donor_registered","idempotency_key":"d","data":{"donor":"D1","kind":"individual"}})",
              R"({"type":"donation_received","idempotency_key":"don","data":{"fund":"F-MTTQ","donor":"D1","value_date":"2024-09-12","cash":{"channel":"bank","amount":10000000}}})"});
  std::string path = dir_.Sub("pay.xlsx");
  lxw_workbook* wb = workbook_new(path.c_str());
  lxw_worksheet* ws = workbook_add_worksheet(wb, "Chi trả");
  const char* header[] = {"child", "amount", "kind", "month", "evidence_sha256", "idempotency_key"};
  for (int c = 0; c < 6; ++c) worksheet_write_string(ws, 0, c, header[c], nullptr);
  for (int r = 1; r <= 2; ++r) {
    worksheet_write_string(ws, r, 0, r == 1 ? "C-0001" : "C-0002", nullptr);
    worksheet_write_number(ws, r, 1, 750000, nullptr);  // a number cell
    worksheet_write_string(ws, r, 2, "monthly_allowance", nullptr);
    worksheet_write_string(ws, r, 3, "2024-09", nullptr);
    worksheet_write_string(ws, r, 4, kEvidence.c_str(), nullptr);
    worksheet_write_string(ws, r, 5, r == 1 ? "tcxh-C-0001-2024-09" : "", nullptr);
  }
  ASSERT_EQ(workbook_close(wb), LXW_NO_ERROR);
  ASSERT_TRUE(imp::IsXlsx(path));
  auto csv = imp::XlsxToCsv(path, "%Y-%m-%d");
  ASSERT_TRUE(csv.ok()) << csv.status().ToString();
  auto digest = imp::FileSha256(path);
  auto plan = imp::PlanPayments(csv->path(), *digest, "F-MTTQ");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_TRUE(plan->errors.empty()) << plan->errors[0].message;
  ASSERT_EQ(plan->events.size(), 2u);
  EXPECT_EQ(plan->total, 1500000);
  EXPECT_EQ(plan->events[0].idempotency_key, "tcxh-C-0001-2024-09");
  EXPECT_EQ(plan->events[1].idempotency_key, "pay:" + mb::HexEncode(*digest) + ":2");
  // No entitlement for a monthly allowance: the ledger's rule, mapped to the rows.
  auto failures = imp::CheckInvariants(*ledger_, plan->events, 50);
  ASSERT_TRUE(failures.ok());
  ASSERT_EQ(failures->size(), 2u);
  EXPECT_NE((*failures)[0].second.message().find("has no allowance entitlement"), std::string::npos);
  const uint64_t size = ledger_->size();
  EXPECT_FALSE(ledger_->Append(plan->events, ctx_).ok());
  EXPECT_EQ(ledger_->size(), size);
}

}  // namespace
