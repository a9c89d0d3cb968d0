// The domain invariants of the write side: the state they need, derived from the log alone.
// See docs/events.md ("Invariants") for every rule and its error message.
//
// DomainState applies one entry's payload at a time and refuses one that breaks an invariant. The ledger applies a whole batch between Begin() and Commit() and rolls back on the first refusal,
// so a rejected batch changes nothing. The state persists in the ledger's "state" column family (one
// record per entity, written in the same WriteBatch as the entries) and is rebuilt by replay in verify.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "entry.capnp.h"
#include "minhbach/money.h"
#include "minhbach/status.h"

namespace minhbach {

// Fetches the canonical bytes of an earlier entry (for reversals).
using EntryLookup = std::function<Result<std::string>(uint64_t seq)>;

struct FundState {
  std::string currency;
  Amount received = 0;   // cash received, net of reversals
  Amount disbursed = 0;
  Amount expensed = 0;
  Amount allocated_in = 0;
  Amount allocated_out = 0;
};

struct ProgrammeState {
  std::string fund;
  bool open = true;
  std::string receive_from, receive_until;  // YYYY-MM-DD or empty
};

struct SponsorshipState {
  std::string sponsor, child, fund;
  std::map<int32_t, Amount> monthly;        // from month -> monthly amount (agreement, then amendments)
  int32_t first_month = 0, last_month = 0;  // inclusive, as ParseMonth values
  int payment_day = 0;
  bool ended = false;
  std::set<int32_t> paid;                   // months paid
  Amount MonthlyAt(int32_t month) const;    // the amount agreed for `month`
};

struct Entitlement {
  std::string table;
  uint32_t coefficient_milli = 0;
  std::string decision;
  int32_t from_month = 0, to_month = 0;     // inclusive; to_month = kOpenEnded when absent
};
inline constexpr int32_t kOpenEnded = 3000 * 12;

struct ErasureState {
  uint64_t first_seq = 0;   // the entry of part 1
  uint32_t part = 0, parts = 0;  // parts recorded so far, of parts
};

class DomainState {
 public:
  // Applies entry `seq`. On a broken rule returns InvalidArgument; the state may then be half-changed, so a
  // caller inside Begin() must Rollback() (verify stops at the first refusal and needs no undo).
  Status Apply(uint64_t seq, schema::Entry::Payload::Reader p, const EntryLookup& lookup);

  // Batch atomicity: Begin() starts recording; Rollback() undoes everything since; Commit() keeps it.
  void Begin();
  void Rollback();
  void Commit();
  // Record keys changed since Begin() (for the WriteBatch), with their new values ("" = deleted).
  std::map<std::string, std::string> ChangedRecords() const;

  // Every record, deterministic: what the "state" column family must hold.
  std::map<std::string, std::string> Records() const;
  // Rebuilds the state from stored records.
  static Result<DomainState> FromRecords(const std::map<std::string, std::string>& records);

  // Conservation, for every fund: received - disbursed - expensed + allocated_in - allocated_out equals the
  // sum of the fund's cash sub-account balances. InvalidArgument naming the fund when it does not hold.
  Status CheckConservation() const;

  // Read access (projections and tests).
  Amount Balance(const std::string& fund, const std::string& subaccount) const;
  Amount Stock(const std::string& fund, const std::string& item) const;
  const std::map<std::string, FundState>& funds() const { return funds_; }
  const std::map<std::string, SponsorshipState>& sponsorships() const { return sponsorships_; }
  bool IsReversed(uint64_t seq) const { return reversed_.count(seq) > 0; }
  // The entry that erased `subject`'s personal data (every part recorded), if any.
  std::optional<uint64_t> ErasedAt(const std::string& subject) const;
  // "donor", "child", "guardian", or "" when `id` is none of them.
  std::string SubjectKind(const std::string& id) const;

 private:
  Status ApplyEffect(uint64_t seq, schema::Entry::Payload::Reader p, int sign, bool reversing);
  Status Move(const std::string& key, Amount delta, const std::string& what);  // balances and stocks
  Status ApplyErasure(uint64_t seq, schema::Erasure::Reader e);
  Status CheckAllowance(const std::string& child, int32_t month, Amount amount, bool override_reason, int sign);
  std::string Record(const std::string& key) const;
  void Touch(const std::string& key);

  std::map<std::string, FundState> funds_;
  std::map<std::string, ProgrammeState> programmes_;
  std::map<std::string, int> donors_;           // donor id -> kind
  std::map<std::string, int32_t> children_;     // child id -> birth month
  std::map<std::string, SponsorshipState> sponsorships_;
  std::map<std::string, Amount> amounts_;       // "b/<fund>/<sub>" balances, "k/<fund>/<item>" stock
  std::set<uint64_t> reversed_;
  std::map<std::string, std::map<int32_t, Amount>> tables_;        // allowance table -> effective month -> base
  std::map<std::string, std::vector<Entitlement>> entitlements_;   // child -> determinations in log order
  std::map<std::string, std::set<int32_t>> allowances_;            // child -> months an allowance was paid
  std::map<std::string, std::string> guardians_;                   // guardian id -> child
  std::map<std::string, ErasureState> erasures_;                   // subject -> erasure progress

  bool recording_ = false;
  std::map<std::string, std::string> undo_;     // key -> record before Begin() ("" = absent)
};

// Sub-account names: "u" (unrestricted), "p:<programme>", "c:<child>".
std::string SubAccount(schema::Restriction r, const std::string& id);

}  // namespace minhbach
