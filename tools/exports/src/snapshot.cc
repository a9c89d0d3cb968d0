// Snapshot: the read models and the facts of the log prefix covered by the latest signed checkpoint.
#include <nlohmann/json.hpp>

#include "minhbach/entry.h"
#include "minhbach/exports.h"
#include "minhbach/hash.h"
#include "minhbach/note.h"
#include "minhbach/projections.h"

namespace minhbach::exports {
namespace {

using nlohmann::json;

std::string Str(const json& d, const char* key) {
  auto it = d.find(key);
  return it != d.end() && it->is_string() ? it->get<std::string>() : std::string();
}
int64_t Int(const json& d, const char* key) {
  auto it = d.find(key);
  return it != d.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}


void AddDonation(LogFacts& f, uint64_t seq, const std::string& date, const json& d) {
  DonationFact x;
  x.seq = seq;
  x.date = date;
  x.value_date = Str(d, "value_date");
  x.fund = Str(d, "fund");
  x.donor = Str(d, "donor");
  x.restriction = Str(d, "restriction");
  x.restricted_to = Str(d, "restricted_to");
  if (d.contains("cash")) {
    const json& c = d["cash"];
    x.channel = Str(c, "channel");
    x.bank_ref = Str(c, "bank_ref");
    x.amount = Int(c, "amount");
  } else {
    const json& k = d["in_kind"];
    x.cash = false;
    x.item = Str(k, "item");
    x.unit = Str(k, "unit");
    x.quantity = Int(k, "quantity");
    // Declared value: quantity x unit value, both checked at append; overflow leaves it at 0 (shown as such).
    auto v = CheckedMul(Int(k, "unit_value"), x.quantity);
    x.amount = v.ok() ? *v : 0;
  }
  f.donations.push_back(std::move(x));
}

void AddDisbursement(LogFacts& f, uint64_t seq, const std::string& date, const json& d) {
  DisbursementFact x;
  x.seq = seq;
  x.date = date;
  x.fund = Str(d, "fund");
  x.child = Str(d, "child");
  x.kind = Str(d, "kind");
  x.paid_from = Str(d, "paid_from");
  x.programme = Str(d, "programme");
  x.sponsorship = Str(d, "sponsorship");
  x.month = Str(d, "month");
  x.item = Str(d, "item");
  x.method = Str(d, "method");
  x.amount = Int(d, "amount");
  x.quantity = Int(d, "quantity");
  f.disbursements.push_back(std::move(x));
}

void AddExpense(LogFacts& f, uint64_t seq, const std::string& date, const json& d) {
  ExpenseFact x;
  x.seq = seq;
  x.date = date;
  x.value_date = Str(d, "value_date");
  x.fund = Str(d, "fund");
  x.category = Str(d, "category");
  x.paid_from = Str(d, "paid_from");
  x.programme = Str(d, "programme");
  x.description = MaskAccountNumbers(Str(d, "description"));
  x.bank_ref = Str(d, "bank_ref");
  x.amount = Int(d, "amount");
  f.expenses.push_back(std::move(x));
}

// Applies one entry's event to the facts. Pointers into the vectors are taken only after the scan (the
// vectors grow during it), so reversals are resolved at the end from `reversals`.
void Apply(LogFacts& f, uint64_t seq, const std::string& date, const std::string& type, const json& d,
           std::vector<std::pair<uint64_t, uint64_t>>& reversals) {
  if (type == "fund_opened") {
    f.funds[Str(d, "fund")] = {Str(d, "name"), Str(d, "organisation"), date};
  } else if (type == "programme_opened") {
    f.programmes[Str(d, "programme")] = {Str(d, "fund"), Str(d, "name"), Str(d, "legal_basis"), date, false, ""};
  } else if (type == "programme_closed") {
    auto& p = f.programmes[Str(d, "programme")];
    p.closed = true;
    p.closed_date = date;
  } else if (type == "donor_registered") {
    f.donors[Str(d, "donor")] = {Str(d, "display_name"), Str(d, "kind")};
  } else if (type == "child_registered") {
    f.children.push_back(Str(d, "child"));
  } else if (type == "donation_received") {
    AddDonation(f, seq, date, d);
  } else if (type == "disbursement") {
    AddDisbursement(f, seq, date, d);
  } else if (type == "expense") {
    AddExpense(f, seq, date, d);
  } else if (type == "allocation") {
    f.allocations.push_back({seq, 0, date, Str(d, "from_fund"), Str(d, "to_fund"), Int(d, "amount")});
  } else if (type == "sponsorship_agreed") {
    f.sponsorships.push_back({seq, date, Str(d, "sponsorship"), Str(d, "sponsor"), Str(d, "child"), Str(d, "fund")});
  } else if (type == "reversal") {
    reversals.emplace_back(static_cast<uint64_t>(Int(d, "seq")), seq);
  }
}

template <typename T>
void MarkReversed(std::vector<T>& v, const std::map<uint64_t, uint64_t>& by) {
  for (auto& x : v) {
    auto it = by.find(x.seq);
    if (it != by.end()) x.reversed_by = it->second;
  }
}

Status ScanFacts(const Ledger& ledger, uint64_t size, LogFacts& f, std::string* last_time) {
  std::vector<std::pair<uint64_t, uint64_t>> reversals;
  Status inner;
  MB_RETURN_IF_ERROR(ledger.ScanEntries(0, size, [&](uint64_t seq, std::string_view bytes) {
    auto e = DecodeEntry(bytes);
    if (!e.ok()) {
      inner = e.status().WithContext("entry " + std::to_string(seq));
      return false;
    }
    json j = json::parse(EntryToJson(*e), nullptr, false);
    if (j.is_discarded() || !j.contains("data")) {
      inner = Status::Corruption("entry " + std::to_string(seq) + " does not render as JSON");
      return false;
    }
    std::string at = FormatTimestamp(e->recorded_at_micros, e->tz_offset_minutes);
    Apply(f, seq, at.substr(0, 10), e->type, j["data"], reversals);
    if (seq + 1 == size) *last_time = at.substr(0, 19) + at.substr(at.size() - 6);  // no fraction of a second
    return true;
  }));
  MB_RETURN_IF_ERROR(inner);
  std::map<uint64_t, uint64_t> by(reversals.begin(), reversals.end());
  MarkReversed(f.donations, by);
  MarkReversed(f.disbursements, by);
  MarkReversed(f.expenses, by);
  MarkReversed(f.allocations, by);
  return Status::Ok();
}

}  // namespace

Snapshot::~Snapshot() = default;

Result<std::unique_ptr<Snapshot>> Snapshot::Open(const Ledger& ledger, const ReadModels* stored, uint64_t stored_position,
                                                 const std::function<void(uint64_t, uint64_t)>& progress) {
  MB_ASSIGN_OR_RETURN(auto cps, ledger.Checkpoints());
  if (cps.empty()) {
    return Status::InvalidArgument("the ledger has no signed checkpoint: run `minhbach checkpoint` first (exports "
                                   "state the checkpoint their numbers come from)");
  }
  MB_ASSIGN_OR_RETURN(SignedNote note, ParseNote(cps.back().note));
  MB_ASSIGN_OR_RETURN(Checkpoint cp, Checkpoint::Parse(note.text));
  std::unique_ptr<Snapshot> s(new Snapshot(ledger));
  s->size_ = cp.size;
  s->root_b64_ = Base64Encode(cp.root);
  s->note_ = cps.back().WithCosignatures();
  if (stored && stored_position == cp.size) {
    s->models_ = stored;
  } else {
    s->kv_ = std::make_unique<MemoryKv>();
    MB_RETURN_IF_ERROR(ReplayInto(ledger, cp.size, *s->kv_, progress));
    s->owned_ = std::make_unique<ReadModels>(*s->kv_, [&ledger](uint64_t seq) { return ledger.GetEntry(seq); });
    s->models_ = s->owned_.get();
  }
  MB_RETURN_IF_ERROR(ScanFacts(ledger, cp.size, s->facts_, &s->as_of_time_));
  if (s->as_of_time_.empty()) s->as_of_time_ = "1970-01-01T00:00:00+00:00";
  return s;
}

Status Snapshot::CheckFund(const std::string& fund) const {
  if (fund.empty()) return Status::InvalidArgument("--fund is required");
  if (!facts_.funds.count(fund)) {
    return Status::InvalidArgument("fund '" + fund + "' does not exist (in the log up to the signed checkpoint of size " +
                                   std::to_string(size_) + ")");
  }
  return Status::Ok();
}

Status CheckFilter(const Snapshot& s, const Filter& f) {
  if (!f.from.empty()) MB_RETURN_IF_ERROR(CheckDate(f.from).WithContext("--from"));
  if (!f.to.empty()) MB_RETURN_IF_ERROR(CheckDate(f.to).WithContext("--to"));
  if (!f.from.empty() && !f.to.empty() && f.from > f.to) {
    return Status::InvalidArgument("--from " + f.from + " is after --to " + f.to);
  }
  return s.CheckFund(f.fund);
}

Status AddTo(Amount& a, Amount b) {
  MB_ASSIGN_OR_RETURN(a, CheckedAdd(a, b));
  return Status::Ok();
}

std::string LastDayOf(const std::string& month) {
  int y = std::stoi(month.substr(0, 4)), m = std::stoi(month.substr(5, 2));
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int d = kDays[m - 1];
  if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) d = 29;
  return month + "-" + std::to_string(d);
}

}  // namespace minhbach::exports
