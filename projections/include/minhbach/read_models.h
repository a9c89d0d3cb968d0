// The read models themselves, independent of where they are stored: the rules that turn each log entry into
// read-model records, and the queries over those records. See docs/projections.md.
//
// This library does not link RocksDB. `Projections` (projections.h) runs it over a RocksDB store kept beside the
// ledger; `minhbach-verify` runs it over a MemoryKv to recompute the reports of an audit bundle, and
// `minhbach verify --rebuild-compare` runs both and compares them record by record. Whatever the store, the same
// entries give the same records, byte for byte.
//
// Thread-safety: one thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "minhbach/domain.h"
#include "minhbach/hash.h"
#include "minhbach/money.h"
#include "minhbach/status.h"

namespace minhbach {

// An ordered key-value store holding read-model records.
class Kv {
 public:
  virtual ~Kv() = default;
  // The value, or "" when absent.
  virtual Result<std::string> Get(const std::string& key) const = 0;
  // Sets a record; an empty value deletes it.
  virtual void Put(const std::string& key, std::string value) = 0;
  // Visits the records whose key starts with `prefix`, in key order, from `start` (>= prefix; "" = prefix) on,
  // until `fn` returns false.
  virtual Status Scan(const std::string& prefix, const std::string& start,
                      const std::function<bool(std::string_view key, std::string_view value)>& fn) const = 0;
};

class MemoryKv final : public Kv {
 public:
  Result<std::string> Get(const std::string& key) const override;
  void Put(const std::string& key, std::string value) override;
  Status Scan(const std::string& prefix, const std::string& start,
              const std::function<bool(std::string_view, std::string_view)>& fn) const override;
  const std::map<std::string, std::string>& records() const { return records_; }

 private:
  std::map<std::string, std::string> records_;
};

// ---- query results ----

struct BalanceRow {
  std::string fund, subaccount;  // "u", "p:<programme>", "c:<child>"
  Amount received = 0, allocated_in = 0, allocated_out = 0, disbursed = 0, expensed = 0, balance = 0;
};

struct HistoryRow {
  uint64_t seq = 0;
  std::string recorded_at;  // RFC 3339 in the recording time zone
  std::string type;         // event type
  std::string kind;         // disbursement kind, or donation channel, ...
  std::string fund, programme, sponsorship, month, item;
  std::string from;         // who gave: donor display name (or "anonymous") for donations and sponsorships
  Amount amount = 0;
  int64_t quantity = 0;
  std::string leaf_hash;    // base64, for proofs
  uint64_t reversed_by = 0; // 0: not reversed
  uint64_t reverses = 0;    // for a reversal row: the entry it reverses (else 0)
};

// Money paid to or for a child (disbursements net of their reversals), by programme and by year.
struct ChildTotals {
  Amount total = 0;
  std::map<std::string, Amount> by_programme;  // "" = paid outside any programme
  std::map<std::string, Amount> by_year;       // YYYY of the month covered, else of the recording date
};
// Totals beyond 2^63-1 are refused (InvalidArgument naming what), never wrapped.
Result<ChildTotals> TotalsOf(const std::vector<HistoryRow>& rows);

struct SponsorshipRow {
  std::string id, child, sponsor, fund;   // sponsor: display name
  std::string first_month, last_month;    // YYYY-MM, inclusive
  bool ended = false;
  uint32_t months_due = 0, months_paid = 0;  // months due up to the as-of month, and how many were paid
  std::vector<std::string> missing;       // due months not paid (arrears)
  Amount owed = 0;                        // sum of the agreed amounts of the missing months
  Amount committed = 0;                   // agreed amounts of the months after the as-of month
};

struct Compliance {
  std::string as_of;
  size_t sponsorships = 0, in_arrears = 0;
  uint64_t months_missing = 0;
  Amount owed = 0, committed = 0;
};
// Sums beyond 2^63-1 are refused (InvalidArgument naming what), never wrapped.
Result<Compliance> ComplianceOf(const std::vector<SponsorshipRow>& rows, const std::string& as_of);

// Donor trace: what each donation did (docs/projections.md "Donor trace" gives the rule).
struct TraceUse {
  uint64_t seq = 0;          // the disbursement, expense or reversal that used the money
  std::string type, kind, fund, child, programme, date;
  Amount amount = 0;
  uint64_t reversed_by = 0;
};
struct TraceDonation {
  uint64_t seq = 0;
  std::string date, fund, subaccount, kind;  // kind: cash | in_kind
  std::string channel, bank_ref, item;
  Amount amount = 0;         // cash amount, or declared value of goods
  int64_t quantity = 0;
  uint64_t reversed_by = 0;
  std::vector<TraceUse> uses;
  Amount used = 0;           // sum of the uses not reversed
  Amount withdrawn = 0;      // taken back by the donation's own reversal
  Amount unspent = 0;        // amount - used - withdrawn: still in the fund (0 for goods)
};
struct DonorTrace {
  std::string donor, display_name, kind;
  std::vector<TraceDonation> donations;
  Amount given = 0;          // every cash donation (reversed ones too): given = used + withdrawn + unspent
  Amount used = 0, withdrawn = 0, unspent = 0;
};

// Programme / campaign report.
struct ProgrammeMonth {
  std::string month, kind;
  Amount amount = 0;
  int64_t count = 0;
};
struct ProgrammeItem {
  std::string item;
  int64_t quantity = 0;
  Amount value = 0;  // declared value (quantity x the latest declared unit value in the fund)
};
struct ProgrammeReport {
  std::string programme, fund, name;
  bool closed = false;
  Amount received = 0, allocated_in = 0, allocated_out = 0, disbursed = 0, expensed = 0;
  int64_t disbursements = 0;
  int64_t children_reached = 0;
  Amount in_kind_value = 0;
  std::vector<ProgrammeMonth> months;
  std::vector<ProgrammeItem> items;
  // disbursed / (disbursed + expensed) in per mille, floor; -1 when nothing was spent
  int32_t share_to_children_permille = -1;
};

// Statement ("sao kê"): a fund's cash credits and debits.
struct StatementRow {
  uint64_t seq = 0;
  std::string fund;
  std::string date;          // value date for donations, else the recording date (local)
  std::string side;          // credit | debit
  Amount amount = 0;
  std::string type, channel, bank_ref, counterparty, description;  // counterparty/description masked
  uint64_t reverses = 0;
  std::string donor;         // the donor's pseudonym, for a donation ("" otherwise)
};
struct Statement {
  std::string fund, from, to, ref;
  Amount opening = 0, credits = 0, debits = 0, closing = 0;
  std::vector<StatementRow> rows;  // rows in [from, to]; when `ref` is set, only those whose bank_ref contains it
};

// Replaces all but the last 4 digits of every run of 8 or more digits (account and card numbers) with '*'.
std::string MaskAccountNumbers(std::string_view text);

// "2000000" -> "2.000.000 ₫" (how amounts are written in Vietnam).
std::string FormatVnd(Amount a);

// JSON forms, shared by the CLI, the audit bundle and minhbach-verify.
nlohmann::json ToJson(const BalanceRow& r);
nlohmann::json ToJson(const HistoryRow& r);
nlohmann::json ToJson(const ChildTotals& t);
nlohmann::json ToJson(const SponsorshipRow& r);
nlohmann::json ToJson(const Compliance& c);
nlohmann::json ToJson(const DonorTrace& t);
nlohmann::json ToJson(const ProgrammeReport& r);
nlohmann::json ToJson(const Statement& s);

class ReadModels {
 public:
  struct Options {
    // Keep only what Reports() needs (balances, programme reports, sponsorship schedules): no child history
    // rows, donor trace or statement rows. minhbach-verify uses it so a long log fits in memory.
    bool reports_only = false;
  };
  // `lookup` returns the canonical bytes of an earlier entry (reversals need the entry they reverse).
  ReadModels(Kv& kv, EntryLookup lookup, Options options);
  ReadModels(Kv& kv, EntryLookup lookup) : ReadModels(kv, std::move(lookup), Options{}) {}
  ~ReadModels();

  // Applies entry `seq` (which must be the next one). Corruption when a stored record cannot be read back.
  Status Apply(uint64_t seq, std::string_view bytes) { return ApplyImpl(seq, bytes, nullptr); }
  // The same for bytes the caller has already decoded with every check and hashed (minhbach-verify): they are
  // neither checked nor hashed a second time.
  Status ApplyChecked(uint64_t seq, std::string_view bytes, const Hash& leaf) { return ApplyImpl(seq, bytes, &leaf); }
  // Leaf hash of the last entry applied.
  const Hash& last_leaf() const { return last_leaf_; }
  // Writes the records cached in memory to the Kv. Queries see only what was synced.
  Status Sync();
  // Forgets the cached records (after the Kv was emptied).
  void Reset();

  Result<std::vector<BalanceRow>> Balances(const std::string& fund) const;  // fund "" = all funds
  // NotFound when the child has never been registered.
  Result<std::vector<HistoryRow>> ChildHistory(const std::string& child) const;
  // Schedules as of a month (YYYY-MM). `child` "" = all. NotFound when a named child has no sponsorship.
  Result<std::vector<SponsorshipRow>> Sponsorships(const std::string& child, const std::string& as_of) const;
  Result<DonorTrace> Donor(const std::string& donor) const;
  Result<ProgrammeReport> Programme(const std::string& programme) const;
  Result<std::vector<std::string>> ProgrammeIds() const;
  // Every opened fund: id -> name (also funds that have not moved money yet).
  Result<std::map<std::string, std::string>> Funds() const;
  // A fund's publication policy (publication_policy_set): how organisations and individuals are shown, each
  // "name", "initials" or "anonymous". Without one: organisations by name, individuals as initials.
  struct PublicationPolicy {
    std::string organisations = "name", individuals = "initials";
  };
  Result<PublicationPolicy> Policy(const std::string& fund) const;
  // Dates are YYYY-MM-DD, inclusive; "" = open-ended.
  Result<Statement> FundStatement(const std::string& fund, const std::string& from, const std::string& to,
                                  const std::string& ref) const;
  // Every credit whose bank reference equals `ref` (case and spaces ignored), across all funds and channels.
  Result<std::vector<StatementRow>> FindReference(const std::string& ref) const;
  // Every credit of exactly `amount`, across all funds and channels, in amount-index order (by sequence number).
  Result<std::vector<StatementRow>> FindAmount(Amount amount) const;

  // The published reports of an audit bundle: balances, every programme report, sponsorship compliance as of
  // `as_of`. minhbach-verify recomputes this and compares it with the bundle's copy.
  Result<nlohmann::json> Reports(const std::string& as_of) const;

  class State;

 private:
  Status ApplyImpl(uint64_t seq, std::string_view bytes, const Hash* checked_leaf);
  Kv& kv_;
  EntryLookup lookup_;
  Options options_;
  Hash last_leaf_{};
  std::unique_ptr<State> state_;
};

}  // namespace minhbach
