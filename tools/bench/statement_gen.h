// Synthetic bank statements in layouts A and B (docs/import.md), with the messy cases of real ones: a BOM,
// CRLF line ends, the bank's title lines before the header, repeated document / reference numbers, identical
// lines, missing times, quoted newlines, commas and quotes in the details, blank lines, sparse balances
// (layout A), a wrong printed balance on request, and a trailing summary row with the totals.
//
// Personal data as real statements carry it: each credit comes from one of `persons` people (drawn from the
// seed: a Vietnamese name, an account number, a mobile number), written in the bank's usual ways: the name
// upper-case without diacritics ("MBVCB.1234567.NGUYEN VAN AN chuyen tien ...") or as typed, with diacritics
// ("Nguyễn Thị Thu Hằng chuyển tiền ủng hộ ..."); the account number in the details ("CT tu 0011123451234 ...")
// and, in layout B, in the OffsetAccount column; a phone number in the details, some grouped by spaces
// ("090 228 6798"). Some texts name nobody. The result lists every name, account and phone number written, so a
// test can look for them (tests/scan_test.cc).
//
// Row i's content depends only on (seed, i), so statements of rows 1..k and 1..n of the same seed overlap.
// Used by tests/import_test.cc and tools/bench (statement_gen, import_bench.sh). Writes line by line.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

namespace minhbach::bench {

struct StatementGenOptions {
  char layout = 'A';          // 'A' or 'B'
  uint64_t rows = 100;        // data rows 1..rows
  uint64_t seed = 1;
  bool bom = true;
  bool crlf = true;
  bool summary = true;        // trailing "Tổng cộng" row with the debit and credit totals
  uint64_t balance_every = 4; // layout A: the balance is printed on every Nth row and on the last
  uint64_t wrong_balance_row = 0;  // print a balance off by 1,000 VND on this row (0: none): two gaps, there and at
                                   // the next printed balance (the running expectation re-syncs to the wrong one)
  uint64_t drop_row = 0;           // leave this row out (its amount stays in the balances): one gap
  uint64_t blank_every = 97;  // a blank line after every Nth row (0: none)
  uint64_t persons = 4096;    // the senders of credits are drawn from this many people (at most 10,000)
};

struct StatementGenResult {
  int64_t credit_sum = 0, debit_sum = 0, closing = 0;
  uint64_t credits = 0, debits = 0, fees = 0;
  // The personal data written into the file, each value once, sorted: names as written (with or without
  // diacritics), account numbers (details and OffsetAccount), phone numbers as written ("090 228 6798" or
  // "0902286798").
  std::vector<std::string> names, accounts, phones;
};

namespace gen_detail {

inline uint64_t Mix(uint64_t x) {  // splitmix64
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

inline std::string Grouped(int64_t v, char sep) {
  std::string d = std::to_string(v), out;
  for (size_t i = 0; i < d.size(); ++i) {
    out += d[i];
    if ((d.size() - i - 1) % 3 == 0 && i + 1 != d.size()) out += sep;
  }
  return out;
}

inline std::string Quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

struct Row {
  std::string date, time, doc, ref, details;
  std::string offset_account;  // layout B's OffsetAccount (a credit's sender, when the bank gives it)
  int64_t debit = 0, credit = 0;
  bool fee = false;
  std::vector<std::string> names, accounts, phones;  // personal data in this row
};

struct NamePart {
  const char* vi;
  const char* ascii;  // upper case, without diacritics, as banks print names
};
inline constexpr NamePart kFamily[] = {{"Nguyễn", "NGUYEN"}, {"Trần", "TRAN"},  {"Lê", "LE"},      {"Phạm", "PHAM"},
                                       {"Hoàng", "HOANG"},   {"Huỳnh", "HUYNH"}, {"Phan", "PHAN"},  {"Vũ", "VU"},
                                       {"Võ", "VO"},         {"Đặng", "DANG"},   {"Bùi", "BUI"},    {"Đỗ", "DO"},
                                       {"Hồ", "HO"},         {"Ngô", "NGO"},     {"Dương", "DUONG"}, {"Lý", "LY"}};
inline constexpr NamePart kMiddle[] = {{"Văn", "VAN"},   {"Thị", "THI"},   {"Minh", "MINH"}, {"Đức", "DUC"},
                                       {"Ngọc", "NGOC"}, {"Thanh", "THANH"}, {"Quốc", "QUOC"}, {"Hữu", "HUU"},
                                       {"Xuân", "XUAN"}, {"Thu", "THU"},   {"Hồng", "HONG"}, {"Gia", "GIA"}};
inline constexpr NamePart kGiven[] = {{"An", "AN"},       {"Bình", "BINH"},   {"Cường", "CUONG"}, {"Dũng", "DUNG"},
                                      {"Hằng", "HANG"},   {"Hương", "HUONG"}, {"Lan", "LAN"},     {"Long", "LONG"},
                                      {"Mai", "MAI"},     {"Nam", "NAM"},     {"Phúc", "PHUC"},   {"Quang", "QUANG"},
                                      {"Sơn", "SON"},     {"Thảo", "THAO"},   {"Trang", "TRANG"}, {"Tuấn", "TUAN"},
                                      {"Vy", "VY"},       {"Yến", "YEN"},     {"Khánh", "KHANH"}, {"Linh", "LINH"},
                                      {"Hiếu", "HIEU"},   {"Phương", "PHUONG"}, {"Tâm", "TAM"},   {"Việt", "VIET"}};
inline constexpr const char* kMobilePrefixes[] = {"090", "091", "093", "094", "096", "097", "098", "032",
                                                  "035", "038", "070", "077", "081", "085", "086", "089"};

// Person p of the seed's pool. Accounts and phones end in p (zero-padded), so no two people share one.
struct Person {
  std::string vi, ascii, account, phone;
};
inline Person MakePerson(uint64_t seed, uint64_t p) {
  const uint64_t r = Mix(seed * 7919 + p + 0x5eed);
  Person o;
  const NamePart* parts[] = {&kFamily[r % 16], &kMiddle[(r >> 8) % 12], &kMiddle[(r >> 12) % 12], &kGiven[(r >> 16) % 24]};
  const bool four = (r >> 24) % 5 == 0 && parts[1] != parts[2];  // "Nguyễn Thị Thu Hằng"
  for (int k = 0; k < 4; ++k) {
    if (k == 2 && !four) continue;
    o.vi += (o.vi.empty() ? "" : " ") + std::string(parts[k]->vi);
    o.ascii += (o.ascii.empty() ? "" : " ") + std::string(parts[k]->ascii);
  }
  char tail[16];
  std::snprintf(tail, sizeof tail, "%04llu%llu", static_cast<unsigned long long>(p % 10000),
                static_cast<unsigned long long>(p % 9 + 1));
  static const char* kBanks[] = {"0011", "1903", "2151"};  // 14, 15 and 13 digits in all
  static const uint64_t kMiddleDigits[] = {100000, 1000000, 10000};
  const uint64_t bank = (r >> 28) % 3;
  o.account = kBanks[bank] + std::to_string(kMiddleDigits[bank] + (r >> 32) % (9 * kMiddleDigits[bank])).substr(1) + tail;
  o.phone = std::string(kMobilePrefixes[(r >> 40) % 16]) + std::to_string(1000 + (r >> 44) % 9000).substr(1) +
            std::string(tail).substr(0, 4);
  return o;
}

// A credit's text from person `who`, in one of eight forms; fills the row's personal data lists.
inline void CreditText(uint64_t r, const Person& who, char layout, Row* row) {
  const std::string mb = "MBVCB." + std::to_string(1000000 + r % 8999999) + ".";
  const std::string spaced = who.phone.substr(0, 3) + " " + who.phone.substr(3, 3) + " " + who.phone.substr(6);
  switch ((r >> 48) % 8) {
    case 0: row->details = mb + who.ascii + " chuyen tien ung ho bao Yagi"; break;
    case 1:
      row->details = mb + "5350BFTVG2SNYN9B." + who.ascii + " chuyen tien.CT tu " + who.account + " " + who.ascii +
                     " toi 0011001932418 MAT TRAN TO QUOC VN - BAN CUU TRO TW";
      break;
    case 2: row->details = "CT tu " + who.account + " " + who.ascii + " ung ho dong bao bi anh huong bao so 3"; break;
    case 3: row->details = who.vi + " chuyển tiền ủng hộ đồng bào bão lũ, SĐT " + spaced; break;
    case 4: row->details = who.ascii + " ung ho mien Bac lien he " + who.phone; break;
    case 5: row->details = who.vi + " ủng hộ"; break;
    case 6: row->details = "IBFT Ung ho dong bao mien Bac"; break;  // names nobody
    default: row->details = "Ung ho bao Yagi - " + who.vi + " - " + spaced; break;
  }
  const uint64_t form = (r >> 48) % 8;
  if (form != 6) row->names.push_back(form == 3 || form == 5 || form == 7 ? who.vi : who.ascii);
  if (form == 1 || form == 2) row->accounts.push_back(who.account);
  if (form == 3 || form == 7) row->phones = {spaced};
  if (form == 4) row->phones = {who.phone};
  if (layout == 'B' && (r >> 52) % 4 != 0) {  // the bank names the sender's account for most credits
    row->offset_account = who.account;
    row->accounts.push_back(who.account);
  }
}

// Row i (1-based) given the balance before it (debits never overdraw).
inline Row MakeRow(const StatementGenOptions& o, uint64_t i, int64_t balance, Row* prev) {
  const uint64_t seed = o.seed;
  uint64_t r = Mix(seed * 1000003 + i);
  if (i % 50 == 0 && prev && prev->credit > 0) return *prev;  // an identical line (two equal transfers)
  Row row;
  using namespace std::chrono;
  sys_days day = sys_days(year{2024} / September / 10) + days(static_cast<int>(i / 2000));
  year_month_day ymd(day);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%02u/%02u/%04d", static_cast<unsigned>(ymd.day()), static_cast<unsigned>(ymd.month()),
                static_cast<int>(ymd.year()));
  row.date = buf;
  if (i % 10 != 3) {
    std::snprintf(buf, sizeof buf, "%02d:%02d:%02d", static_cast<int>(r % 24), static_cast<int>((r >> 8) % 60),
                  static_cast<int>((r >> 16) % 60));
    row.time = buf;
  }
  // Repeated numbers: every 7th row reuses its predecessor's document and reference numbers.
  uint64_t num = i % 7 == 0 && i > 1 ? i - 1 : i;
  row.doc = std::to_string(5000 + num % 900) + "." + std::to_string(10000 + num);
  row.ref = "FT24" + std::to_string(254000000 + num);
  static const int64_t kCredits[] = {10000, 20000, 50000, 100000, 200000, 300000, 500000, 1000000, 5000000, 50000000};
  const uint64_t kind = (r >> 24) % 100;
  if (kind < 6 && balance >= 11000) {
    row.debit = kind < 3 ? 1100 : 11000;
    row.fee = true;
    row.details = kind < 3 ? "Phi dich vu SMS Banking thang 9" : "Thu phi chuyen tien, VAT";
  } else if (kind < 9 && balance >= 100000000) {
    row.debit = 100000000;
    row.details = "Chuyen tien ho tro dong bao bi anh huong bao Yagi, dot " + std::to_string(i);
  } else {
    row.credit = kCredits[(r >> 32) % 10];
    const uint64_t persons = o.persons == 0 ? 1 : o.persons > 10000 ? 10000 : o.persons;
    CreditText(r, MakePerson(seed, Mix(r ^ 0x9e3779b9ULL) % persons), o.layout, &row);
    if (i % 11 == 0) row.details += "\nUng ho dong bao mien Bac";       // a quoted newline
    if (i % 13 == 0) row.details += ", \"Quang Ninh\", Yen Bai";         // commas and quotes
  }
  return row;
}

}  // namespace gen_detail

// Writes the statement to `path`. Returns false when the file cannot be written.
inline bool WriteStatement(const std::string& path, const StatementGenOptions& o, StatementGenResult* result) {
  using namespace gen_detail;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  const char* nl = o.crlf ? "\r\n" : "\n";
  const char sep = o.layout == 'A' ? '.' : ',';
  if (o.bom) std::fputs("\xEF\xBB\xBF", f);
  std::fprintf(f, "%s%s", o.layout == 'A' ? "\"SAO KÊ TÀI KHOẢN / ACCOUNT STATEMENT\",,,,,," : "\"SAO KE TAI KHOAN\"", nl);
  std::fprintf(f, "%s%s", "\"Từ ngày 10/09/2024 đến ngày 30/09/2024\"", nl);
  std::fprintf(f, "%s%s",
               o.layout == 'A' ? "PageId,TNXDate,DocNo,Debit,Credit,Balance,TransactionDetails"
                               : "PageId,Date,Time,DocumentNumber,ReferenceNumber,TransactionDetails,DebitAmount,"
                                 "CreditAmount,Balance,OffsetAccount",
               nl);
  StatementGenResult res;
  std::set<std::string> names, accounts, phones;
  int64_t balance = 0;
  Row prev;
  std::string line;
  for (uint64_t i = 1; i <= o.rows; ++i) {
    Row row = MakeRow(o, i, balance, i > 1 ? &prev : nullptr);
    balance += row.credit - row.debit;
    prev = row;
    if (i == o.drop_row) continue;
    names.insert(row.names.begin(), row.names.end());
    accounts.insert(row.accounts.begin(), row.accounts.end());
    phones.insert(row.phones.begin(), row.phones.end());
    res.credit_sum += row.credit;
    res.debit_sum += row.debit;
    row.credit ? ++res.credits : ++res.debits;
    res.fees += row.fee;
    int64_t printed = balance + (i == o.wrong_balance_row ? 1000 : 0);
    std::string page = std::to_string(i / 40 + 1);
    std::string amount_d = row.debit ? Grouped(row.debit, sep) : "", amount_c = row.credit ? Grouped(row.credit, sep) : "";
    if (o.layout == 'A') {
      bool show = i % o.balance_every == 0 || i == o.rows || i == o.wrong_balance_row;
      std::string details = row.details;
      for (char& c : details) c = c == '\n' ? ' ' : c;  // layout A prints one line of details
      line = page + "," + row.date + "," + row.doc + "," +
             Quoted(amount_d) + "," + Quoted(amount_c) + "," + (show ? Quoted(Grouped(printed, sep)) : "") + "," +
             Quoted(details);
    } else {
      line = page + "," + row.date + "," + row.time + "," + row.doc + "," + row.ref + "," + Quoted(row.details) + "," +
             Quoted(amount_d) + "," + Quoted(amount_c) + "," + Quoted(Grouped(printed, sep)) + "," + row.offset_account;
    }
    std::fputs(line.c_str(), f);
    std::fputs(nl, f);
    if (o.blank_every && i % o.blank_every == 0) std::fputs(nl, f);
  }
  if (o.summary) {
    std::string d = Quoted(Grouped(res.debit_sum, sep)), c = Quoted(Grouped(res.credit_sum, sep));
    line = o.layout == 'A' ? ",,\"Tổng cộng\"," + d + "," + c + ",," : ",,,,,\"Cộng phát sinh / Total\"," + d + "," + c + ",,";
    std::fputs(line.c_str(), f);
    std::fputs(nl, f);
  }
  res.closing = balance;
  res.names.assign(names.begin(), names.end());
  res.accounts.assign(accounts.begin(), accounts.end());
  res.phones.assign(phones.begin(), phones.end());
  if (result) *result = std::move(res);
  return std::fclose(f) == 0;
}

}  // namespace minhbach::bench
