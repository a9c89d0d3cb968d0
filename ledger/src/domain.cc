#include "minhbach/domain.h"
#include "minhbach/privacy.h"

#include <nlohmann/json.hpp>

#include "minhbach/entry.h"

namespace minhbach {
namespace {

using nlohmann::json;
using P = schema::Entry::Payload;
using R = schema::Restriction;

std::string S(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }

Status Refuse(const std::string& msg) { return Status::InvalidArgument(msg); }

// An override reason, public or in the vault.
bool HasOverrideReason(schema::Disbursement::Reader e) { return e.hasOverrideReason() || e.hasOverrideReasonCommitment(); }

// Ids become parts of state keys: a small, unambiguous alphabet.
Status CheckId(const std::string& kind, const std::string& id) {
  if (id.empty() || id.size() > 64) return Refuse(kind + " id must be 1..64 characters");
  for (char c : id) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.';
    if (!ok) return Refuse(kind + " id '" + id + "' may only hold letters, digits, '-', '_' and '.'");
  }
  return Status::Ok();
}

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// 2500 -> "2.5", 1000 -> "1" (no floating point).
std::string Coefficient(uint32_t milli) {
  std::string out = std::to_string(milli / 1000);
  uint32_t frac = milli % 1000;
  if (frac) {
    char buf[8];
    std::snprintf(buf, sizeof buf, ".%03u", frac);
    std::string f = buf;
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  return out;
}

std::string SeqKey20(uint64_t seq) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "r/%020llu", static_cast<unsigned long long>(seq));
  return buf;
}

}  // namespace

std::string SubAccount(schema::Restriction r, const std::string& id) {
  switch (r) {
    case R::PROGRAMME: return "p:" + id;
    case R::CHILD: return "c:" + id;
    default: return "u";
  }
}

Amount SponsorshipState::MonthlyAt(int32_t month) const {
  auto it = monthly.upper_bound(month);
  return it == monthly.begin() ? 0 : std::prev(it)->second;
}

// ---- records ----

std::string DomainState::Record(const std::string& key) const {
  std::string kind = key.substr(0, 2), id = key.substr(2);
  if (kind == "f/") {
    auto it = funds_.find(id);
    if (it == funds_.end()) return "";
    const FundState& f = it->second;
    return Dump({{"currency", f.currency}, {"received", f.received}, {"disbursed", f.disbursed},
                 {"expensed", f.expensed}, {"allocated_in", f.allocated_in}, {"allocated_out", f.allocated_out}});
  }
  if (kind == "p/") {
    auto it = programmes_.find(id);
    if (it == programmes_.end()) return "";
    const ProgrammeState& p = it->second;
    return Dump({{"fund", p.fund}, {"open", p.open}, {"receive_from", p.receive_from}, {"receive_until", p.receive_until}});
  }
  if (kind == "d/") {
    auto it = donors_.find(id);
    return it == donors_.end() ? "" : Dump({{"kind", it->second}});
  }
  if (kind == "c/") {
    auto it = children_.find(id);
    return it == children_.end() ? "" : Dump({{"birth_month", FormatMonth(it->second)}});
  }
  if (kind == "s/") {
    auto it = sponsorships_.find(id);
    if (it == sponsorships_.end()) return "";
    const SponsorshipState& s = it->second;
    json paid = json::array();
    for (int32_t m : s.paid) paid.push_back(FormatMonth(m));
    json monthly = json::object();
    for (auto [m, a] : s.monthly) monthly[FormatMonth(m)] = a;
    return Dump({{"sponsor", s.sponsor}, {"child", s.child}, {"fund", s.fund}, {"monthly", monthly},
                 {"first_month", FormatMonth(s.first_month)}, {"last_month", FormatMonth(s.last_month)},
                 {"payment_day", s.payment_day}, {"ended", s.ended}, {"paid", paid}});
  }
  if (kind == "t/") {
    auto it = tables_.find(id);
    if (it == tables_.end()) return "";
    json rates = json::object();
    for (auto [m, a] : it->second) rates[FormatMonth(m)] = a;
    return Dump({{"rates", rates}});
  }
  if (kind == "e/") {
    auto it = entitlements_.find(id);
    if (it == entitlements_.end()) return "";
    json list = json::array();
    for (const Entitlement& e : it->second) {
      list.push_back({{"table", e.table}, {"coefficient_milli", e.coefficient_milli}, {"decision", e.decision},
                      {"from_month", FormatMonth(e.from_month)},
                      {"to_month", e.to_month == kOpenEnded ? "" : FormatMonth(e.to_month)}});
    }
    return Dump(list);
  }
  if (kind == "a/") {
    auto it = allowances_.find(id);
    if (it == allowances_.end()) return "";
    json paid = json::array();
    for (int32_t m : it->second) paid.push_back(FormatMonth(m));
    return Dump({{"paid", paid}});
  }
  if (kind == "g/") {
    auto it = guardians_.find(id);
    return it == guardians_.end() ? "" : Dump({{"child", it->second}});
  }
  if (kind == "x/") {
    auto it = erasures_.find(id);
    if (it == erasures_.end()) return "";
    return Dump({{"first_seq", it->second.first_seq}, {"part", it->second.part}, {"parts", it->second.parts}});
  }
  if (kind == "b/" || kind == "k/") {
    auto it = amounts_.find(key);
    return it == amounts_.end() ? "" : std::to_string(it->second);
  }
  if (kind == "r/") {
    uint64_t seq = std::stoull(key.substr(2));
    return reversed_.count(seq) ? "1" : "";
  }
  return "";
}

namespace {

// A month in a stored record; a malformed one throws (caught by FromRecords as a malformed record).
int32_t Month(const json& v) {
  auto m = ParseMonth(v.get<std::string>());
  if (!m.ok()) throw std::runtime_error(m.status().message());
  return *m;
}

Result<json> ParseRecord(const std::string& key, const std::string& value) {
  try {
    return json::parse(value);
  } catch (const json::exception& e) {
    return Status::Corruption("state record " + key + " is not JSON: " + e.what());
  }
}

}  // namespace

Result<DomainState> DomainState::FromRecords(const std::map<std::string, std::string>& records) {
  DomainState st;
  for (const auto& [key, value] : records) {
    if (key.size() < 3 || value.empty()) return Status::Corruption("malformed state record '" + key + "'");
    std::string kind = key.substr(0, 2), id = key.substr(2);
    try {
      if (kind == "b/" || kind == "k/") {
        st.amounts_[key] = std::stoll(value);
      } else if (kind == "r/") {
        st.reversed_.insert(std::stoull(id));
      } else {
        MB_ASSIGN_OR_RETURN(json j, ParseRecord(key, value));
        if (kind == "f/") {
          st.funds_[id] = FundState{j.at("currency"), j.at("received"), j.at("disbursed"), j.at("expensed"),
                                    j.at("allocated_in"), j.at("allocated_out")};
        } else if (kind == "p/") {
          st.programmes_[id] = ProgrammeState{j.at("fund"), j.at("open"), j.at("receive_from"), j.at("receive_until")};
        } else if (kind == "d/") {
          st.donors_[id] = j.at("kind");
        } else if (kind == "c/") {
          st.children_[id] = Month(j.at("birth_month"));
        } else if (kind == "s/") {
          SponsorshipState s{j.at("sponsor"), j.at("child"), j.at("fund"), {},
                             Month(j.at("first_month")), Month(j.at("last_month")), j.at("payment_day"),
                             j.at("ended"), {}};
          for (auto it = j.at("monthly").begin(); it != j.at("monthly").end(); ++it) {
            s.monthly[Month(it.key())] = it.value().get<Amount>();
          }
          for (const auto& m : j.at("paid")) s.paid.insert(Month(m));
          st.sponsorships_[id] = std::move(s);
        } else if (kind == "t/") {
          auto& rates = st.tables_[id];
          for (auto it = j.at("rates").begin(); it != j.at("rates").end(); ++it) rates[Month(it.key())] = it.value().get<Amount>();
        } else if (kind == "e/") {
          auto& list = st.entitlements_[id];
          for (const auto& e : j) {
            std::string to = e.at("to_month");
            list.push_back(Entitlement{e.at("table"), e.at("coefficient_milli"), e.at("decision"), Month(e.at("from_month")),
                                       to.empty() ? kOpenEnded : Month(to)});
          }
        } else if (kind == "a/") {
          for (const auto& m : j.at("paid")) st.allowances_[id].insert(Month(m));
        } else if (kind == "g/") {
          st.guardians_[id] = j.at("child");
        } else if (kind == "x/") {
          st.erasures_[id] = ErasureState{j.at("first_seq"), j.at("part"), j.at("parts")};
        } else {
          return Status::Corruption("unknown state record '" + key + "'");
        }
      }
    } catch (const std::exception& e) {
      return Status::Corruption("state record " + key + " is malformed: " + e.what());
    }
    if (st.Record(key) != value) return Status::Corruption("state record " + key + " is not in canonical form");
  }
  return st;
}

std::map<std::string, std::string> DomainState::Records() const {
  std::map<std::string, std::string> out;
  for (const auto& [id, f] : funds_) out["f/" + id] = Record("f/" + id);
  for (const auto& [id, p] : programmes_) out["p/" + id] = Record("p/" + id);
  for (const auto& [id, d] : donors_) out["d/" + id] = Record("d/" + id);
  for (const auto& [id, c] : children_) out["c/" + id] = Record("c/" + id);
  for (const auto& [id, s] : sponsorships_) out["s/" + id] = Record("s/" + id);
  for (const auto& [id, t] : tables_) out["t/" + id] = Record("t/" + id);
  for (const auto& [id, e] : entitlements_) out["e/" + id] = Record("e/" + id);
  for (const auto& [id, a] : allowances_) out["a/" + id] = Record("a/" + id);
  for (const auto& [id, g] : guardians_) out["g/" + id] = Record("g/" + id);
  for (const auto& [id, x] : erasures_) out["x/" + id] = Record("x/" + id);
  for (const auto& [key, v] : amounts_) out[key] = std::to_string(v);
  for (uint64_t seq : reversed_) out[SeqKey20(seq)] = "1";
  return out;
}

void DomainState::Touch(const std::string& key) {
  if (recording_ && !undo_.count(key)) undo_[key] = Record(key);
}

void DomainState::Begin() {
  recording_ = true;
  undo_.clear();
}

void DomainState::Commit() {
  recording_ = false;
  undo_.clear();
}

void DomainState::Rollback() {
  for (const auto& [key, old] : undo_) {
    std::string kind = key.substr(0, 2), id = key.substr(2);
    if (kind == "f/") funds_.erase(id);
    else if (kind == "p/") programmes_.erase(id);
    else if (kind == "d/") donors_.erase(id);
    else if (kind == "c/") children_.erase(id);
    else if (kind == "s/") sponsorships_.erase(id);
    else if (kind == "t/") tables_.erase(id);
    else if (kind == "e/") entitlements_.erase(id);
    else if (kind == "a/") allowances_.erase(id);
    else if (kind == "g/") guardians_.erase(id);
    else if (kind == "x/") erasures_.erase(id);
    else if (kind == "b/" || kind == "k/") amounts_.erase(key);
    else if (kind == "r/") reversed_.erase(std::stoull(id));
    if (!old.empty()) {
      auto restored = FromRecords({{key, old}});
      // Records were produced by Record(): restoring them cannot fail.
      assert(restored.ok());
      DomainState& r = *restored;
      funds_.merge(r.funds_);
      programmes_.merge(r.programmes_);
      donors_.merge(r.donors_);
      children_.merge(r.children_);
      sponsorships_.merge(r.sponsorships_);
      tables_.merge(r.tables_);
      entitlements_.merge(r.entitlements_);
      allowances_.merge(r.allowances_);
      guardians_.merge(r.guardians_);
      erasures_.merge(r.erasures_);
      amounts_.merge(r.amounts_);
      reversed_.merge(r.reversed_);
    }
  }
  recording_ = false;
  undo_.clear();
}

std::map<std::string, std::string> DomainState::ChangedRecords() const {
  std::map<std::string, std::string> out;
  for (const auto& [key, old] : undo_) out[key] = Record(key);
  return out;
}

Status DomainState::CheckConservation() const {
  for (const auto& [id, f] : funds_) {
    Amount sum = 0, expect = 0;
    const std::string prefix = "b/" + id + "/";
    for (auto it = amounts_.lower_bound(prefix); it != amounts_.end() && it->first.starts_with(prefix); ++it) {
      MB_ASSIGN_OR_RETURN(sum, CheckedAdd(sum, it->second));
    }
    for (auto [v, sign] : {std::pair{f.received, 1}, {f.disbursed, -1}, {f.expensed, -1}, {f.allocated_in, 1},
                           {f.allocated_out, -1}}) {
      MB_ASSIGN_OR_RETURN(expect, sign > 0 ? CheckedAdd(expect, v) : CheckedSub(expect, v));
    }
    if (sum != expect) {
      return Refuse("fund '" + id + "' does not conserve money: received - disbursed - expensed + allocations = " +
                    std::to_string(expect) + ", balances sum to " + std::to_string(sum));
    }
  }
  return Status::Ok();
}

Amount DomainState::Balance(const std::string& fund, const std::string& sub) const {
  auto it = amounts_.find("b/" + fund + "/" + sub);
  return it == amounts_.end() ? 0 : it->second;
}

Amount DomainState::Stock(const std::string& fund, const std::string& item) const {
  auto it = amounts_.find("k/" + fund + "/" + item);
  return it == amounts_.end() ? 0 : it->second;
}

Status DomainState::Move(const std::string& key, Amount delta, const std::string& what) {
  Amount cur = amounts_.count(key) ? amounts_[key] : 0;
  MB_ASSIGN_OR_RETURN(Amount next, CheckedAdd(cur, delta));
  if (next < 0) {
    return Refuse(what + " would go below zero: holds " + std::to_string(cur) + ", needs " + std::to_string(-delta));
  }
  Touch(key);
  amounts_[key] = next;
  return Status::Ok();
}

// ---- invariants ----

Status DomainState::Apply(uint64_t seq, P::Reader p, const EntryLookup& lookup) {
  if (p.isReversal()) {
    uint64_t target = p.getReversal().getSeq();
    if (target >= seq) return Refuse("reversal of entry " + std::to_string(target) + ", which is not earlier");
    if (reversed_.count(target)) return Refuse("entry " + std::to_string(target) + " is already reversed");
    MB_ASSIGN_OR_RETURN(std::string bytes, lookup(target));
    MB_ASSIGN_OR_RETURN(EntryReader old, EntryReader::Open(bytes));
    if (old.payload().isReversal()) {
      return Refuse("entry " + std::to_string(target) + " is a reversal; it cannot be reversed");
    }
    MB_RETURN_IF_ERROR(ApplyEffect(target, old.payload(), -1, true).WithContext("reversing entry " + std::to_string(target)));
    Touch(SeqKey20(target));
    reversed_.insert(target);
    return Status::Ok();
  }
  return ApplyEffect(seq, p, +1, false);
}

Status DomainState::CheckAllowance(const std::string& child, int32_t month, Amount amount, bool override_reason,
                                   int sign) {
  const std::string m = FormatMonth(month);
  Touch("a/" + child);  // before the set is created below, so an undo restores "absent"
  std::set<int32_t>& paid = allowances_[child];
  if (sign > 0) {
    if (paid.count(month)) return Refuse("child '" + child + "' already received the allowance for " + m);
    const Entitlement* ent = nullptr;
    auto it = entitlements_.find(child);
    if (it != entitlements_.end()) {
      for (auto e = it->second.rbegin(); e != it->second.rend(); ++e) {
        if (e->from_month <= month && month <= e->to_month) {
          ent = &*e;  // the latest determination covering the month applies
          break;
        }
      }
    }
    if (ent == nullptr) return Refuse("child '" + child + "' has no allowance entitlement for " + m);
    if (ent->coefficient_milli == 0) {
      return Refuse("child '" + child + "' has no allowance entitlement for " + m + " (ended by decision " +
                    ent->decision + ")");
    }
    const auto& rates = tables_.at(ent->table);
    auto r = rates.upper_bound(month);
    if (r == rates.begin()) return Refuse("allowance table '" + ent->table + "' has no rate effective in " + m);
    Amount base = std::prev(r)->second;
    // base x coefficient / 1000, rounded half up (coefficients are given in thousandths).
    MB_ASSIGN_OR_RETURN(Amount scaled, CheckedMul(base, ent->coefficient_milli));
    MB_ASSIGN_OR_RETURN(scaled, CheckedAdd(scaled, 500));
    Amount expected = scaled / 1000;
    if (amount != expected && !override_reason) {
      return Refuse("allowance of " + std::to_string(amount) + " for " + m + " differs from entitlement " +
                    Coefficient(ent->coefficient_milli) + " x rate " + std::to_string(base) +
                    " = " + std::to_string(expected) + " (decision " + ent->decision + "; give override_reason)");
    }
  }
  if (sign > 0) paid.insert(month);
  else paid.erase(month);
  if (paid.empty()) allowances_.erase(child);
  return Status::Ok();
}

Status DomainState::ApplyEffect(uint64_t seq, P::Reader p, int sign, bool reversing) {
  const std::string at = "entry " + std::to_string(seq) + ": ";
  auto need_fund = [&](const std::string& id) -> Result<FundState*> {
    auto it = funds_.find(id);
    if (it == funds_.end()) return Refuse("fund '" + id + "' does not exist");
    return &it->second;
  };
  auto need_open_programme = [&](const std::string& id) -> Result<ProgrammeState*> {
    auto it = programmes_.find(id);
    if (it == programmes_.end()) return Refuse("programme '" + id + "' does not exist");
    if (!it->second.open && !reversing) return Refuse("programme '" + id + "' is closed");
    return &it->second;
  };
  auto need_child = [&](const std::string& id) -> Status {
    return children_.count(id) ? Status::Ok() : Refuse("child '" + id + "' is not registered");
  };
  auto totals = [&](const std::string& fund, Amount FundState::*field, Amount delta) -> Status {
    FundState& f = funds_[fund];
    MB_ASSIGN_OR_RETURN(Amount next, CheckedAdd(f.*field, delta));
    Touch("f/" + fund);
    f.*field = next;
    return Status::Ok();
  };
  auto bal = [](const std::string& fund, const std::string& sub) { return "b/" + fund + "/" + sub; };
  auto describe = [](const std::string& fund, const std::string& sub) {
    return "fund '" + fund + "' sub-account " + sub;
  };

  switch (p.which()) {
    case P::NOTE:
      return Status::Ok();
    case P::REVERSAL:
      return Status::Internal("reversal handled by Apply");
    case P::FUND_OPENED: {
      if (reversing) break;
      std::string id = S(p.getFundOpened().getFund());
      MB_RETURN_IF_ERROR(CheckId("fund", id));
      if (funds_.count(id)) return Refuse("fund '" + id + "' already exists");
      Touch("f/" + id);
      funds_[id] = FundState{S(p.getFundOpened().getCurrency())};
      return Status::Ok();
    }
    case P::PROGRAMME_OPENED: {
      if (reversing) break;
      auto e = p.getProgrammeOpened();
      std::string id = S(e.getProgramme()), fund = S(e.getFund());
      MB_RETURN_IF_ERROR(CheckId("programme", id));
      MB_RETURN_IF_ERROR(need_fund(fund).status());
      if (programmes_.count(id)) return Refuse("programme '" + id + "' already exists");
      Touch("p/" + id);
      programmes_[id] = ProgrammeState{fund, true, S(e.getReceiveFrom()), S(e.getReceiveUntil())};
      return Status::Ok();
    }
    case P::PROGRAMME_CLOSED: {
      if (reversing) break;
      std::string id = S(p.getProgrammeClosed().getProgramme());
      MB_ASSIGN_OR_RETURN(ProgrammeState * prog, need_open_programme(id));
      Touch("p/" + id);
      prog->open = false;
      return Status::Ok();
    }
    case P::DONOR_REGISTERED: {
      if (reversing) break;
      std::string id = S(p.getDonorRegistered().getDonor());
      MB_RETURN_IF_ERROR(CheckId("donor", id));
      if (donors_.count(id)) return Refuse("donor '" + id + "' already exists");
      Touch("d/" + id);
      donors_[id] = static_cast<int>(p.getDonorRegistered().getKind());
      return Status::Ok();
    }
    case P::CHILD_REGISTERED: {
      if (reversing) break;
      std::string id = S(p.getChildRegistered().getChild());
      MB_RETURN_IF_ERROR(CheckId("child", id));
      if (children_.count(id)) return Refuse("child '" + id + "' is already registered");
      Touch("c/" + id);
      children_[id] = *ParseMonth(S(p.getChildRegistered().getBirthMonth()));
      return Status::Ok();
    }
    case P::DONATION_RECEIVED: {
      auto e = p.getDonationReceived();
      std::string fund = S(e.getFund()), donor = S(e.getDonor()), to = S(e.getRestrictedTo());
      MB_RETURN_IF_ERROR(need_fund(fund).status());
      if (!donors_.count(donor)) return Refuse("donor '" + donor + "' is not registered");
      if (e.getRestriction() == R::PROGRAMME) {
        MB_ASSIGN_OR_RETURN(ProgrammeState * prog, need_open_programme(to));
        if (prog->fund != fund) return Refuse("programme '" + to + "' belongs to fund '" + prog->fund + "'");
        std::string date = S(e.getValueDate());
        if (!reversing && ((!prog->receive_from.empty() && date < prog->receive_from) ||
                           (!prog->receive_until.empty() && date > prog->receive_until))) {
          return Refuse("value date " + date + " is outside programme '" + to + "' receive window");
        }
      } else if (e.getRestriction() == R::CHILD) {
        MB_RETURN_IF_ERROR(need_child(to));
      }
      std::string sub = SubAccount(e.getRestriction(), to);
      if (e.isCash()) {
        Amount a = e.getCash().getAmount();
        MB_RETURN_IF_ERROR(Move(bal(fund, sub), sign * a, describe(fund, sub)));
        return totals(fund, &FundState::received, sign * a);
      }
      std::string item = S(e.getInKind().getItem());
      MB_RETURN_IF_ERROR(CheckId("item", item));
      return Move("k/" + fund + "/" + item, sign * e.getInKind().getQuantity(), "stock of '" + item + "' in fund '" + fund + "'");
    }
    case P::SPONSORSHIP_AGREED: {
      if (reversing) break;
      auto e = p.getSponsorshipAgreed();
      std::string id = S(e.getSponsorship()), child = S(e.getChild()), fund = S(e.getFund()), sponsor = S(e.getSponsor());
      MB_RETURN_IF_ERROR(CheckId("sponsorship", id));
      if (sponsorships_.count(id)) return Refuse("sponsorship '" + id + "' already exists");
      MB_RETURN_IF_ERROR(need_fund(fund).status());
      MB_RETURN_IF_ERROR(need_child(child));
      if (!donors_.count(sponsor)) return Refuse("sponsor '" + sponsor + "' is not a registered donor");
      SponsorshipState s{sponsor, child, fund, {}, *ParseMonth(S(e.getFirstMonth())), 0, e.getPaymentDay(), false, {}};
      s.monthly[s.first_month] = e.getMonthlyAmount();
      // Default end: the month the child turns 18.
      s.last_month = e.hasLastMonth() ? *ParseMonth(S(e.getLastMonth())) : children_[child] + 18 * 12;
      if (s.last_month < s.first_month) return Refuse("the child turns 18 before the first month");
      Touch("s/" + id);
      sponsorships_[id] = std::move(s);
      return Status::Ok();
    }
    case P::SPONSORSHIP_ENDED: {
      if (reversing) break;
      auto e = p.getSponsorshipEnded();
      std::string id = S(e.getSponsorship());
      auto it = sponsorships_.find(id);
      if (it == sponsorships_.end()) return Refuse("sponsorship '" + id + "' does not exist");
      if (it->second.ended) return Refuse("sponsorship '" + id + "' has already ended");
      int32_t last = *ParseMonth(S(e.getLastMonth()));
      if (last < it->second.first_month - 1 || last > it->second.last_month) {
        return Refuse("last month " + S(e.getLastMonth()) + " is outside the agreement");
      }
      if (!it->second.paid.empty() && *it->second.paid.rbegin() > last) {
        return Refuse("month " + FormatMonth(*it->second.paid.rbegin()) + " after the last month is already paid");
      }
      Touch("s/" + id);
      it->second.ended = true;
      it->second.last_month = last;
      return Status::Ok();
    }
    case P::ALLOCATION: {
      auto e = p.getAllocation();
      std::string from = S(e.getFromFund()), to = S(e.getToFund()), id = S(e.getRestrictedTo());
      MB_RETURN_IF_ERROR(need_fund(from).status());
      MB_RETURN_IF_ERROR(need_fund(to).status());
      if (e.getRestriction() == R::CHILD) MB_RETURN_IF_ERROR(need_child(id));
      if (e.getRestriction() == R::PROGRAMME) MB_RETURN_IF_ERROR(need_open_programme(id).status());
      std::string sub = SubAccount(e.getRestriction(), id);
      Amount a = sign * e.getAmount();
      // Take before giving, so a refusal leaves nothing half-moved (reversals give back first).
      if (sign > 0) {
        MB_RETURN_IF_ERROR(Move(bal(from, sub), -a, describe(from, sub)));
        MB_RETURN_IF_ERROR(Move(bal(to, sub), a, describe(to, sub)));
      } else {
        MB_RETURN_IF_ERROR(Move(bal(to, sub), a, describe(to, sub)));
        MB_RETURN_IF_ERROR(Move(bal(from, sub), -a, describe(from, sub)));
      }
      MB_RETURN_IF_ERROR(totals(from, &FundState::allocated_out, a));
      return totals(to, &FundState::allocated_in, a);
    }
    case P::DISBURSEMENT: {
      auto e = p.getDisbursement();
      std::string fund = S(e.getFund()), child = S(e.getChild());
      // A guardian is named by a pseudonymous id (guardian_registered keeps the person in the vault), never a name.
      if (e.hasGuardian()) {
        MB_RETURN_IF_ERROR(CheckId("guardian", S(e.getGuardian())));
        if (Status pub = CheckPublicText(S(e.getGuardian())); !pub.ok()) return Refuse("guardian id " + pub.message());
      }
      MB_RETURN_IF_ERROR(need_fund(fund).status());
      MB_RETURN_IF_ERROR(need_child(child));
      std::string sub_id = e.getPaidFrom() == R::PROGRAMME ? S(e.getProgramme()) : child;
      if (e.getPaidFrom() == R::PROGRAMME) MB_RETURN_IF_ERROR(need_open_programme(sub_id).status());
      std::string sub = SubAccount(e.getPaidFrom(), sub_id);
      if (e.getKind() == schema::DisbursementKind::SPONSORSHIP_INSTALMENT) {
        std::string id = S(e.getSponsorship());
        auto it = sponsorships_.find(id);
        if (it == sponsorships_.end()) return Refuse("sponsorship '" + id + "' does not exist");
        SponsorshipState& sp = it->second;
        int32_t month = *ParseMonth(S(e.getMonth()));
        if (sp.child != child) return Refuse("sponsorship '" + id + "' is for child '" + sp.child + "', not '" + child + "'");
        if (sp.fund != fund) return Refuse("sponsorship '" + id + "' is paid from fund '" + sp.fund + "'");
        if (sign > 0) {
          if (month < sp.first_month || month > sp.last_month) {
            return Refuse(sp.ended && month > sp.last_month
                              ? "sponsorship '" + id + "' ended with " + FormatMonth(sp.last_month)
                              : "month " + FormatMonth(month) + " is outside sponsorship '" + id + "' (" +
                                    FormatMonth(sp.first_month) + ".." + FormatMonth(sp.last_month) + ")");
          }
          if (sp.paid.count(month)) return Refuse("sponsorship '" + id + "' month " + FormatMonth(month) + " is already paid");
          if (e.getAmount() != sp.MonthlyAt(month) && !HasOverrideReason(e)) {
            return Refuse("instalment of " + std::to_string(e.getAmount()) + " differs from the agreed " +
                          std::to_string(sp.MonthlyAt(month)) + " a month (give override_reason)");
          }
        }
        if (e.getAmount() > 0) MB_RETURN_IF_ERROR(Move(bal(fund, sub), -sign * e.getAmount(), describe(fund, sub)));
        Touch("s/" + id);
        if (sign > 0) sp.paid.insert(month);
        else sp.paid.erase(month);
      } else {
        if (e.getKind() == schema::DisbursementKind::MONTHLY_ALLOWANCE) {
          MB_RETURN_IF_ERROR(CheckAllowance(child, *ParseMonth(S(e.getMonth())), e.getAmount(), HasOverrideReason(e), sign));
        }
        if (e.getAmount() > 0) MB_RETURN_IF_ERROR(Move(bal(fund, sub), -sign * e.getAmount(), describe(fund, sub)));
      }
      if (e.hasItem()) {
        std::string item = S(e.getItem());
        MB_RETURN_IF_ERROR(CheckId("item", item));
        MB_RETURN_IF_ERROR(Move("k/" + fund + "/" + item, -sign * e.getQuantity(), "stock of '" + item + "' in fund '" + fund + "'"));
      }
      return e.getAmount() > 0 ? totals(fund, &FundState::disbursed, sign * e.getAmount()) : Status::Ok();
    }
    case P::SPONSORSHIP_AMENDED: {
      if (reversing) break;
      auto e = p.getSponsorshipAmended();
      std::string id = S(e.getSponsorship());
      auto it = sponsorships_.find(id);
      if (it == sponsorships_.end()) return Refuse("sponsorship '" + id + "' does not exist");
      SponsorshipState& sp = it->second;
      if (sp.ended) return Refuse("sponsorship '" + id + "' has ended; it cannot be amended");
      int32_t eff = *ParseMonth(S(e.getEffectiveMonth()));
      if (eff < sp.first_month || eff > sp.last_month) {
        return Refuse("effective month " + S(e.getEffectiveMonth()) + " is outside sponsorship '" + id + "'");
      }
      if (e.getMonthlyAmount() > 0 && !sp.paid.empty() && *sp.paid.rbegin() >= eff) {
        return Refuse("month " + FormatMonth(*sp.paid.rbegin()) + " from the effective month on is already paid");
      }
      int32_t last = e.hasLastMonth() ? *ParseMonth(S(e.getLastMonth())) : sp.last_month;
      if (last < sp.first_month || last < eff - 1 || (!sp.paid.empty() && *sp.paid.rbegin() > last)) {
        return Refuse("new last month " + FormatMonth(last) + " is before the first month, the effective month or a paid month");
      }
      Touch("s/" + id);
      if (e.getMonthlyAmount() > 0) {
        // "From the effective month on": later steps recorded earlier are replaced too.
        sp.monthly.erase(sp.monthly.upper_bound(eff), sp.monthly.end());
        sp.monthly[eff] = e.getMonthlyAmount();
      }
      sp.last_month = last;
      if (e.getPaymentDay() > 0) sp.payment_day = e.getPaymentDay();
      return Status::Ok();
    }
    case P::ALLOWANCE_RATE_SET: {
      if (reversing) break;
      auto e = p.getAllowanceRateSet();
      std::string table = S(e.getTable());
      MB_RETURN_IF_ERROR(CheckId("allowance table", table));
      int32_t from = *ParseMonth(S(e.getEffectiveFrom()));
      if (tables_.count(table) && tables_[table].count(from)) {
        return Refuse("table '" + table + "' already has a rate effective from " + S(e.getEffectiveFrom()));
      }
      Touch("t/" + table);
      tables_[table][from] = e.getBaseAmount();
      return Status::Ok();
    }
    case P::ENTITLEMENT_DETERMINED: {
      if (reversing) break;
      auto e = p.getEntitlementDetermined();
      std::string child = S(e.getChild()), table = S(e.getTable());
      MB_RETURN_IF_ERROR(need_child(child));
      if (!tables_.count(table)) return Refuse("allowance table '" + table + "' has no rates");
      Touch("e/" + child);
      entitlements_[child].push_back(Entitlement{table, e.getCoefficientMilli(), S(e.getDecision()),
                                                 *ParseMonth(S(e.getFromMonth())),
                                                 e.hasToMonth() ? *ParseMonth(S(e.getToMonth())) : kOpenEnded});
      return Status::Ok();
    }
    case P::GUARDIAN_REGISTERED: {
      if (reversing) break;
      auto e = p.getGuardianRegistered();
      std::string id = S(e.getGuardian()), child = S(e.getChild());
      MB_RETURN_IF_ERROR(CheckId("guardian", id));
      MB_RETURN_IF_ERROR(need_child(child));
      if (guardians_.count(id)) return Refuse("guardian '" + id + "' is already registered");
      Touch("g/" + id);
      guardians_[id] = child;
      return Status::Ok();
    }
    case P::PUBLICATION_POLICY_SET:
      if (reversing) break;
      return need_fund(S(p.getPublicationPolicySet().getFund())).status();
    case P::ERASURE:
      if (reversing) return Refuse("an erasure cannot be reversed: the data it erased is gone");
      return ApplyErasure(seq, p.getErasure());
    case P::EXPENSE: {
      auto e = p.getExpense();
      std::string fund = S(e.getFund()), prog = S(e.getProgramme());
      MB_RETURN_IF_ERROR(need_fund(fund).status());
      if (e.getPaidFrom() == R::PROGRAMME) MB_RETURN_IF_ERROR(need_open_programme(prog).status());
      std::string sub = SubAccount(e.getPaidFrom(), prog);
      MB_RETURN_IF_ERROR(Move(bal(fund, sub), -sign * e.getAmount(), describe(fund, sub)));
      return totals(fund, &FundState::expensed, sign * e.getAmount());
    }
  }
  if (reversing) {
    return Refuse("an event of type " + PayloadTypeName(p) +
                  " cannot be reversed: openings, registrations, agreements and decisions are permanent; record the "
                  "event that supersedes it (programme_closed, sponsorship_ended or sponsorship_amended, a new rate "
                  "or entitlement determination)");
  }
  return Refuse(at + "unknown event type");
}

Status DomainState::ApplyErasure(uint64_t seq, schema::Erasure::Reader e) {
  const std::string id = S(e.getSubject());
  if (!donors_.count(id) && !children_.count(id) && !guardians_.count(id)) {
    return Refuse("subject '" + id + "' is not a registered donor, child or guardian");
  }
  auto it = erasures_.find(id);
  const bool done = it != erasures_.end() && it->second.part == it->second.parts;
  if (done) return Refuse("subject '" + id + "' was already erased at entry " + std::to_string(it->second.first_seq));
  if (e.getPart() == 1) {
    if (it != erasures_.end()) return Refuse("erasure of '" + id + "' is already under way (part 1 was given)");
    Touch("x/" + id);
    erasures_[id] = ErasureState{seq, 1, e.getParts()};
    return Status::Ok();
  }
  if (it == erasures_.end() || it->second.part + 1 != e.getPart() || it->second.parts != e.getParts()) {
    return Refuse("erasure of '" + id + "': part " + std::to_string(e.getPart()) + " of " + std::to_string(e.getParts()) +
                  " does not follow the parts already recorded");
  }
  Touch("x/" + id);
  it->second.part = e.getPart();
  return Status::Ok();
}

std::optional<uint64_t> DomainState::ErasedAt(const std::string& subject) const {
  auto it = erasures_.find(subject);
  if (it == erasures_.end() || it->second.part != it->second.parts) return std::nullopt;
  return it->second.first_seq;
}

std::string DomainState::SubjectKind(const std::string& id) const {
  if (donors_.count(id)) return "donor";
  if (children_.count(id)) return "child";
  if (guardians_.count(id)) return "guardian";
  return "";
}

}  // namespace minhbach
