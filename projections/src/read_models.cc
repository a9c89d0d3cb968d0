#include "minhbach/read_models.h"

#include "model.h"

namespace minhbach {

using namespace rm;

// ---- MemoryKv ----

Result<std::string> MemoryKv::Get(const std::string& key) const {
  auto it = records_.find(key);
  return it == records_.end() ? std::string() : it->second;
}

void MemoryKv::Put(const std::string& key, std::string value) {
  if (value.empty()) records_.erase(key);
  else records_[key] = std::move(value);
}

Status MemoryKv::Scan(const std::string& prefix, const std::string& start,
                      const std::function<bool(std::string_view, std::string_view)>& fn) const {
  for (auto it = records_.lower_bound(start.empty() ? prefix : start);
       it != records_.end() && std::string_view(it->first).starts_with(prefix); ++it) {
    if (!fn(it->first, it->second)) break;
  }
  return Status::Ok();
}

// ---- small shared helpers ----

std::string FormatVnd(Amount a) {
  bool neg = a < 0;
  uint64_t v = neg ? 0 - static_cast<uint64_t>(a) : static_cast<uint64_t>(a);
  std::string digits = std::to_string(v), out;
  int n = static_cast<int>(digits.size());
  for (int i = 0; i < n; ++i) {
    out.push_back(digits[i]);
    if ((n - i - 1) % 3 == 0 && i != n - 1) out.push_back('.');
  }
  return (neg ? "-" : "") + out + " \xE2\x82\xAB";
}

json ToJson(const BalanceRow& r) {
  return {{"fund", r.fund}, {"subaccount", r.subaccount}, {"received", r.received}, {"allocated_in", r.allocated_in},
          {"allocated_out", r.allocated_out}, {"disbursed", r.disbursed}, {"expensed", r.expensed}, {"balance", r.balance}};
}

json ToJson(const HistoryRow& r) {
  return {{"seq", r.seq}, {"recorded_at", r.recorded_at}, {"type", r.type}, {"kind", r.kind}, {"fund", r.fund},
          {"programme", r.programme}, {"sponsorship", r.sponsorship}, {"month", r.month}, {"item", r.item},
          {"quantity", r.quantity}, {"from", r.from}, {"amount", r.amount}, {"leaf_hash", r.leaf_hash},
          {"reversed_by", r.reversed_by}, {"reverses", r.reverses}};
}

json ToJson(const ChildTotals& t) {
  return {{"total", t.total}, {"by_programme", t.by_programme}, {"by_year", t.by_year}};
}

json ToJson(const SponsorshipRow& r) {
  return {{"sponsorship", r.id}, {"child", r.child}, {"sponsor", r.sponsor}, {"fund", r.fund},
          {"first_month", r.first_month}, {"last_month", r.last_month}, {"ended", r.ended},
          {"months_due", r.months_due}, {"months_paid", r.months_paid}, {"missing", r.missing},
          {"owed", r.owed}, {"committed", r.committed}};
}

json ToJson(const Compliance& c) {
  return {{"as_of", c.as_of}, {"sponsorships", c.sponsorships}, {"in_arrears", c.in_arrears},
          {"fully_paid", c.sponsorships - c.in_arrears}, {"months_missing", c.months_missing}, {"owed", c.owed},
          {"committed", c.committed}};
}

json ToJson(const DonorTrace& t) {
  json ds = json::array();
  for (const auto& d : t.donations) {
    json uses = json::array();
    for (const auto& u : d.uses) {
      uses.push_back({{"seq", u.seq}, {"type", u.type}, {"kind", u.kind}, {"fund", u.fund}, {"child", u.child},
                      {"programme", u.programme}, {"date", u.date}, {"amount", u.amount}, {"reversed_by", u.reversed_by}});
    }
    ds.push_back({{"seq", d.seq}, {"date", d.date}, {"fund", d.fund}, {"subaccount", d.subaccount}, {"kind", d.kind},
                  {"channel", d.channel}, {"bank_ref", d.bank_ref}, {"item", d.item}, {"quantity", d.quantity},
                  {"amount", d.amount}, {"reversed_by", d.reversed_by}, {"used", d.used}, {"withdrawn", d.withdrawn}, {"unspent", d.unspent},
                  {"uses", uses}});
  }
  return {{"donor", t.donor}, {"display_name", t.display_name}, {"kind", t.kind}, {"given", t.given},
          {"used", t.used}, {"withdrawn", t.withdrawn}, {"unspent", t.unspent}, {"donations", ds}};
}

json ToJson(const ProgrammeReport& r) {
  json months = json::array(), items = json::array();
  for (const auto& m : r.months) months.push_back({{"month", m.month}, {"kind", m.kind}, {"amount", m.amount}, {"count", m.count}});
  for (const auto& i : r.items) items.push_back({{"item", i.item}, {"quantity", i.quantity}, {"value", i.value}});
  return {{"programme", r.programme}, {"fund", r.fund}, {"name", r.name}, {"closed", r.closed},
          {"received", r.received}, {"allocated_in", r.allocated_in}, {"allocated_out", r.allocated_out},
          {"disbursed", r.disbursed}, {"expensed", r.expensed}, {"disbursements", r.disbursements},
          {"children_reached", r.children_reached}, {"in_kind_value", r.in_kind_value},
          {"share_to_children_permille", r.share_to_children_permille}, {"months", months}, {"items", items}};
}

json ToJson(const Statement& s) {
  json rows = json::array();
  for (const auto& r : s.rows) {
    rows.push_back({{"seq", r.seq}, {"date", r.date}, {"side", r.side}, {"amount", r.amount}, {"type", r.type},
                    {"channel", r.channel}, {"bank_ref", r.bank_ref}, {"counterparty", r.counterparty}, {"fund", r.fund},
                    {"description", r.description}, {"reverses", r.reverses}, {"donor", r.donor}});
  }
  return {{"fund", s.fund}, {"from", s.from}, {"to", s.to}, {"ref", s.ref}, {"opening", s.opening},
          {"credits", s.credits}, {"debits", s.debits}, {"closing", s.closing}, {"rows", rows}};
}

// ---- ReadModels: the read models of this build, run in order over one Kv ----

class ReadModels::State {
 public:
  Sha256 sha;
  std::vector<std::unique_ptr<Model>> models;
};

ReadModels::ReadModels(Kv& kv, EntryLookup lookup, Options options)
    : kv_(kv), lookup_(std::move(lookup)), options_(options) {
  Reset();
}
ReadModels::~ReadModels() = default;

void ReadModels::Reset() {
  state_ = std::make_unique<State>();
  auto& m = state_->models;
  m.push_back(MakeRegistry(kv_));
  m.push_back(MakeBalances(kv_));
  m.push_back(MakeSchedules(kv_));
  m.push_back(MakeProgrammes(kv_));
  if (!options_.reports_only) {
    m.push_back(MakeHistory(kv_));
    m.push_back(MakeTrace(kv_));
    m.push_back(MakeStatements(kv_));
  }
  last_leaf_ = Hash{};
}

Status ReadModels::Sync() {
  for (auto& m : state_->models) MB_RETURN_IF_ERROR(m->Sync());
  return Status::Ok();
}

Status ReadModels::ApplyImpl(uint64_t seq, std::string_view bytes, const Hash* checked_leaf) {
  // Stored records are JSON this code wrote; one that does not parse means the read models are damaged.
  try {
    Result<EntryReader> opened = checked_leaf ? Result<EntryReader>(EntryReader::OpenTrusted(bytes)) : EntryReader::Open(bytes);
    MB_ASSIGN_OR_RETURN(EntryReader reader, std::move(opened));
    auto root = reader.root();
    P::Reader p = root.getPayload();
    HistoryRow base;
    base.seq = seq;
    base.recorded_at = FormatTimestamp(root.getRecordedAtMicros(), root.getTzOffsetMinutes());
    base.type = PayloadTypeName(p);
    const Hash leaf = checked_leaf ? *checked_leaf : state_->sha.Leaf(bytes);
    base.leaf_hash = Base64Encode(leaf);
    Event e{seq, p, base, base.recorded_at.substr(0, 10), base.recorded_at.substr(0, 7)};
    if (p.isReversal()) {
      uint64_t target = p.getReversal().getSeq();
      MB_ASSIGN_OR_RETURN(std::string old_bytes, lookup_(target));
      MB_ASSIGN_OR_RETURN(EntryReader old, EntryReader::Open(old_bytes));
      auto old_root = old.root();
      Reversal r{e, target, old.payload(),
                 FormatTimestamp(old_root.getRecordedAtMicros(), old_root.getTzOffsetMinutes()).substr(0, 7),
                 S(p.getReversal().getReason())};
      for (auto& m : state_->models) MB_RETURN_IF_ERROR(m->Reverse(r));
    } else {
      for (auto& m : state_->models) MB_RETURN_IF_ERROR(m->Apply(e));
    }
    last_leaf_ = leaf;
    return Status::Ok();
  } catch (const std::exception& e) {  // json::exception, or a history row that does not split
    return Status::Corruption(std::string("read model record is damaged: ") + e.what());
  }
}

Result<json> ReadModels::Reports(const std::string& as_of) const {
  json balances = json::array(), programmes = json::array(), rows = json::array();
  MB_ASSIGN_OR_RETURN(auto b, Balances(""));
  for (const auto& r : b) balances.push_back(ToJson(r));
  MB_ASSIGN_OR_RETURN(auto ids, ProgrammeIds());
  for (const auto& id : ids) {
    MB_ASSIGN_OR_RETURN(ProgrammeReport r, Programme(id));
    programmes.push_back(ToJson(r));
  }
  MB_ASSIGN_OR_RETURN(auto sp, Sponsorships("", as_of));
  for (const auto& r : sp) rows.push_back(ToJson(r));
  MB_ASSIGN_OR_RETURN(Compliance compliance, ComplianceOf(sp, as_of));
  return json{{"balances", balances},
              {"programmes", programmes},
              {"sponsorships", {{"compliance", ToJson(compliance)}, {"rows", rows}}}};
}

}  // namespace minhbach
