// The read side: read models rebuilt from the log. See docs/projections.md.
//
// Read models live in their own RocksDB instance (ledger_dir/projections), never in the ledger's store:
// they are disposable. Each holds the log position it reflects (the next sequence number and the leaf hash
// of the entry before it); opening catches up from there, and a read model whose position does not match
// the log, or that cannot be read, is rebuilt from genesis, never trusted. Incremental catch-up and a full
// rebuild produce the same bytes (a test compares them).
//
// Read models so far: fund balances per sub-account, each child's history, sponsorship schedules. Thread-safety: one thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "minhbach/ledger.h"
#include "minhbach/money.h"

namespace minhbach {

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

struct SponsorshipRow {
  std::string id, child, sponsor, fund;   // sponsor: display name
  std::string first_month, last_month;    // YYYY-MM, inclusive
  bool ended = false;
  uint32_t months_due = 0, months_paid = 0;  // months due up to the as-of month, and how many were paid
  std::vector<std::string> missing;       // due months not paid (arrears)
  Amount owed = 0;                        // sum of the agreed amounts of the missing months
  Amount committed = 0;                   // agreed amounts of the months after the as-of month
};

class Projections {
 public:
  ~Projections();
  // Opens (creating if needed) the read models of `ledger` and catches them up. `progress` is called
  // during that catch-up (or rebuild) with (entries done, total); it is not kept after Open returns.
  static Result<std::unique_ptr<Projections>> Open(const Ledger& ledger, const std::string& dir,
                                                   std::shared_ptr<spdlog::logger> log,
                                                   std::function<void(uint64_t, uint64_t)> progress = {});
  // Applies every entry appended since the last call.
  Status CatchUp(const Ledger& ledger);
  // Drops every read model and replays the whole log; `progress` as for Open.
  Status Rebuild(const Ledger& ledger, std::function<void(uint64_t, uint64_t)> progress = {});
  uint64_t position() const;

  Result<std::vector<BalanceRow>> Balances(const std::string& fund) const;  // fund "" = all funds
  // NotFound when the child has never been registered.
  Result<std::vector<HistoryRow>> ChildHistory(const std::string& child) const;

  // Sponsorship schedules as of a month (YYYY-MM): months due, paid, missing, owed, still committed.
  // `child` "" = all. NotFound when a named child has no sponsorship.
  Result<std::vector<SponsorshipRow>> Sponsorships(const std::string& child, const std::string& as_of) const;

  // Every stored record, for byte-for-byte comparison in tests.
  std::map<std::string, std::string> Dump() const;

  class Impl;

 private:
  explicit Projections(std::unique_ptr<Impl> impl);
  Result<std::vector<BalanceRow>> BalancesUnchecked(const std::string& fund) const;
  Result<std::vector<HistoryRow>> ChildHistoryUnchecked(const std::string& child) const;
  Result<std::vector<SponsorshipRow>> SponsorshipsUnchecked(const std::string& child, const std::string& as_of) const;
  std::unique_ptr<Impl> impl_;
};

// "2000000" -> "2.000.000 ₫" (how amounts are written in Vietnam).
std::string FormatVnd(Amount a);

}  // namespace minhbach
