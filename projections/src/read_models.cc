#include "minhbach/read_models.h"

#include <capnp/schema.h>

#include <algorithm>
#include <deque>
#include <set>

#include "minhbach/entry.h"

namespace minhbach {
namespace {

using nlohmann::json;
using P = schema::Entry::Payload;

std::string S(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }

std::string Seq20(uint64_t seq) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%020llu", static_cast<unsigned long long>(seq));
  return buf;
}

// An id as a key component: '%' and '/' escaped, so "/" always separates components.
std::string K(std::string_view id) {
  std::string out;
  out.reserve(id.size());
  for (char c : id) {
    if (c == '%') out += "%25";
    else if (c == '/') out += "%2F";
    else out.push_back(c);
  }
  return out;
}

std::string UnK(std::string_view k) {
  std::string out;
  for (size_t i = 0; i < k.size(); ++i) {
    if (k.substr(i, 3) == "%25") {
      out.push_back('%');
      i += 2;
    } else if (k.substr(i, 3) == "%2F") {
      out.push_back('/');
      i += 2;
    } else {
      out.push_back(k[i]);
    }
  }
  return out;
}

// snake_case name of an enumerant ("sponsorshipInstalment" -> "sponsorship_instalment").
template <typename E>
std::string EnumName(E value) {
  auto enumerants = capnp::Schema::from<E>().getEnumerants();
  uint16_t v = static_cast<uint16_t>(value);
  if (v >= enumerants.size()) return std::to_string(v);
  std::string out;
  for (char c : std::string(enumerants[v].getProto().getName().cStr())) {
    if (c >= 'A' && c <= 'Z') {
      out.push_back('_');
      out.push_back(static_cast<char>(c - 'A' + 'a'));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string JsonText(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// JSON string literal of clean UTF-8 text (the log holds no other). Hand-written because nlohmann's object
// building cost ~15 us per history row, most of a rebuild; the records are read back with nlohmann.
void AppendJsonString(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(c));
      out += buf;
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

std::string RowText(const HistoryRow& r) {
  std::string out = "{";
  auto str = [&](const char* k, const std::string& v) {
    if (out.size() > 1) out.push_back(',');
    AppendJsonString(out, k);
    out.push_back(':');
    AppendJsonString(out, v);
  };
  auto num = [&](const char* k, auto v) {
    if (out.size() > 1) out.push_back(',');
    AppendJsonString(out, k);
    out.push_back(':');
    out += std::to_string(v);
  };
  num("seq", r.seq);
  str("recorded_at", r.recorded_at);
  str("type", r.type);
  str("kind", r.kind);
  str("fund", r.fund);
  str("programme", r.programme);
  str("sponsorship", r.sponsorship);
  str("month", r.month);
  str("item", r.item);
  str("from", r.from);
  num("amount", r.amount);
  num("quantity", r.quantity);
  str("leaf_hash", r.leaf_hash);
  num("reversed_by", r.reversed_by);
  num("reverses", r.reverses);
  out.push_back('}');
  return out;
}

HistoryRow RowFromJson(const json& j) {
  HistoryRow r;
  r.seq = j.at("seq");
  r.recorded_at = j.at("recorded_at");
  r.type = j.at("type");
  r.kind = j.at("kind");
  r.fund = j.at("fund");
  r.programme = j.at("programme");
  r.sponsorship = j.at("sponsorship");
  r.month = j.at("month");
  r.item = j.at("item");
  r.from = j.at("from");
  r.amount = j.at("amount");
  r.quantity = j.at("quantity");
  r.leaf_hash = j.at("leaf_hash");
  r.reversed_by = j.at("reversed_by");
  r.reverses = j.at("reverses");
  return r;
}

std::string BalanceText(const BalanceRow& r) {
  return "{\"allocated_in\":" + std::to_string(r.allocated_in) + ",\"allocated_out\":" + std::to_string(r.allocated_out) +
         ",\"balance\":" + std::to_string(r.balance) + ",\"disbursed\":" + std::to_string(r.disbursed) +
         ",\"expensed\":" + std::to_string(r.expensed) + ",\"received\":" + std::to_string(r.received) + "}";
}

void BalanceFromJson(const json& j, BalanceRow& r) {
  r.received = j.at("received");
  r.allocated_in = j.at("allocated_in");
  r.allocated_out = j.at("allocated_out");
  r.disbursed = j.at("disbursed");
  r.expensed = j.at("expensed");
  r.balance = j.at("balance");
}

std::string NormalizeRef(std::string_view ref) {
  std::string out;
  for (char c : ref) {
    if (c == ' ' || c == '\t') continue;
    out.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
  }
  return out;
}

int64_t ToInt(const std::string& v) { return v.empty() ? 0 : std::stoll(v); }

// A piece of traced money: part of one donation.
struct Lot {
  uint64_t donation = 0;
  std::string donor;
  Amount amount = 0;
};

// A cash movement of one fund, as a statement shows it.
struct CashMove {
  std::string fund, side, type, channel, bank_ref, counterparty, description, value_date;
  Amount amount = 0;
};

}  // namespace

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

std::string MaskAccountNumbers(std::string_view text) {
  std::string out(text);
  size_t i = 0;
  while (i < out.size()) {
    if (out[i] < '0' || out[i] > '9') {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < out.size() && out[j] >= '0' && out[j] <= '9') ++j;
    if (j - i >= 8) {
      for (size_t k = i; k < j - 4; ++k) out[k] = '*';
    }
    i = j;
  }
  return out;
}

ChildTotals TotalsOf(const std::vector<HistoryRow>& rows) {
  ChildTotals t;
  for (const auto& r : rows) {
    bool paid = r.type == "disbursement" || (r.type == "reversal" && r.kind == "disbursement");
    if (!paid || r.amount == 0) continue;
    t.total += r.amount;
    t.by_programme[r.programme] += r.amount;
    std::string year = !r.month.empty() ? r.month.substr(0, 4) : r.recorded_at.substr(0, 4);
    t.by_year[year] += r.amount;
  }
  return t;
}

Compliance ComplianceOf(const std::vector<SponsorshipRow>& rows, const std::string& as_of) {
  Compliance c;
  c.as_of = as_of;
  c.sponsorships = rows.size();
  for (const auto& r : rows) {
    if (!r.missing.empty()) ++c.in_arrears;
    c.months_missing += static_cast<uint32_t>(r.missing.size());
    c.owed += r.owed;
    c.committed += r.committed;
  }
  return c;
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
          {"used", t.used}, {"unspent", t.unspent}, {"donations", ds}};
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
                    {"channel", r.channel}, {"bank_ref", r.bank_ref}, {"counterparty", r.counterparty},
                    {"description", r.description}, {"reverses", r.reverses}});
  }
  return {{"fund", s.fund}, {"from", s.from}, {"to", s.to}, {"ref", s.ref}, {"opening", s.opening},
          {"credits", s.credits}, {"debits", s.debits}, {"closing", s.closing}, {"rows", rows}};
}

// ---- the state behind ReadModels: records cached between syncs, and the rules ----

class ReadModels::State {
 public:
  State(Kv& kv, const EntryLookup& lookup) : kv(kv), lookup(lookup) {}

  Kv& kv;
  const EntryLookup& lookup;
  Sha256 sha;
  std::map<std::string, BalanceRow> balances;  // few: one per sub-account
  std::set<std::string> dirty_balances;
  std::map<std::string, std::deque<Lot>> queues;  // "q/<fund>/<sub>": traced money, oldest first
  std::set<std::string> dirty_queues;

  Result<std::string> Get(const std::string& key) const { return kv.Get(key); }
  void Put(const std::string& key, std::string value) { kv.Put(key, std::move(value)); }

  Status Sync() {
    for (const std::string& key : dirty_balances) Put(key, BalanceText(balances.at(key)));
    dirty_balances.clear();
    for (const std::string& key : dirty_queues) {
      const auto& q = queues.at(key);
      if (q.empty()) {
        Put(key, "");
        continue;
      }
      std::string text = "[";
      for (const Lot& l : q) {
        if (text.size() > 1) text.push_back(',');
        text += "[" + std::to_string(l.donation) + ",";
        AppendJsonString(text, l.donor);
        text += "," + std::to_string(l.amount) + "]";
      }
      text.push_back(']');
      Put(key, text);
    }
    dirty_queues.clear();
    return Status::Ok();
  }

  // ---- balances ----
  Status Balance(const std::string& fund, const std::string& sub, Amount BalanceRow::*field, Amount delta,
                 Amount balance_delta) {
    const std::string key = "b/" + K(fund) + "/" + K(sub);
    auto it = balances.find(key);
    if (it == balances.end()) {
      MB_ASSIGN_OR_RETURN(std::string v, Get(key));
      BalanceRow r{fund, sub};
      if (!v.empty()) BalanceFromJson(json::parse(v), r);
      it = balances.emplace(key, std::move(r)).first;
    }
    BalanceRow& r = it->second;
    MB_ASSIGN_OR_RETURN(r.*field, CheckedAdd(r.*field, delta));
    MB_ASSIGN_OR_RETURN(r.balance, CheckedAdd(r.balance, balance_delta));
    dirty_balances.insert(key);
    return Status::Ok();
  }

  // Cash effects on fund balances; sign -1 undoes them (a reversal).
  Status MoneyEffect(P::Reader p, int sign) {
    switch (p.which()) {
      case P::FUND_OPENED:
        if (sign > 0) Put("fd/" + K(S(p.getFundOpened().getFund())), S(p.getFundOpened().getName()));
        return Status::Ok();
      case P::DONATION_RECEIVED: {
        auto e = p.getDonationReceived();
        if (!e.isCash()) return Status::Ok();
        Amount a = sign * e.getCash().getAmount();
        return Balance(S(e.getFund()), SubAccount(e.getRestriction(), S(e.getRestrictedTo())), &BalanceRow::received, a, a);
      }
      case P::ALLOCATION: {
        auto e = p.getAllocation();
        std::string sub = SubAccount(e.getRestriction(), S(e.getRestrictedTo()));
        Amount a = sign * e.getAmount();
        MB_RETURN_IF_ERROR(Balance(S(e.getFromFund()), sub, &BalanceRow::allocated_out, a, -a));
        return Balance(S(e.getToFund()), sub, &BalanceRow::allocated_in, a, a);
      }
      case P::DISBURSEMENT: {
        auto e = p.getDisbursement();
        if (e.getAmount() == 0) return Status::Ok();
        Amount a = sign * e.getAmount();
        return Balance(S(e.getFund()), DisbursementSub(e), &BalanceRow::disbursed, a, -a);
      }
      case P::EXPENSE: {
        auto e = p.getExpense();
        Amount a = sign * e.getAmount();
        return Balance(S(e.getFund()), SubAccount(e.getPaidFrom(), S(e.getProgramme())), &BalanceRow::expensed, a, -a);
      }
      default:
        return Status::Ok();
    }
  }

  static std::string DisbursementSub(schema::Disbursement::Reader e) {
    std::string id = e.getPaidFrom() == schema::Restriction::PROGRAMME ? S(e.getProgramme()) : S(e.getChild());
    return SubAccount(e.getPaidFrom(), id);
  }

  // ---- sponsorship schedules ("sp/<id>") ----
  Result<json> LoadSchedule(const std::string& id) {
    MB_ASSIGN_OR_RETURN(std::string v, Get("sp/" + K(id)));
    if (v.empty()) return Status::Corruption("read model has no schedule for sponsorship '" + id + "'");
    return json::parse(v);
  }

  Status ScheduleEffect(P::Reader p, int sign) {
    switch (p.which()) {
      case P::SPONSORSHIP_AGREED: {
        auto e = p.getSponsorshipAgreed();
        std::string last = S(e.getLastMonth());
        if (last.empty()) {  // the month the child turns 18
          MB_ASSIGN_OR_RETURN(std::string birth, Get("c/" + K(S(e.getChild()))));
          MB_ASSIGN_OR_RETURN(int32_t b, ParseMonth(birth));
          last = FormatMonth(b + 18 * 12);
        }
        MB_ASSIGN_OR_RETURN(std::string sponsor, Get("d/" + K(S(e.getSponsor()))));
        json j = {{"child", S(e.getChild())}, {"sponsor", sponsor.empty() ? "anonymous" : sponsor}, {"fund", S(e.getFund())},
                  {"first", S(e.getFirstMonth())}, {"last", last}, {"ended", false},
                  {"monthly", {{S(e.getFirstMonth()), e.getMonthlyAmount()}}}, {"paid", json::array()}};
        Put("sp/" + K(S(e.getSponsorship())), JsonText(j));
        return Status::Ok();
      }
      case P::SPONSORSHIP_AMENDED: {
        auto e = p.getSponsorshipAmended();
        MB_ASSIGN_OR_RETURN(json j, LoadSchedule(S(e.getSponsorship())));
        std::string eff = S(e.getEffectiveMonth());
        if (e.getMonthlyAmount() > 0) {
          json steps = json::object();
          for (auto it = j["monthly"].begin(); it != j["monthly"].end(); ++it) {
            if (it.key() <= eff) steps[it.key()] = it.value();
          }
          steps[eff] = e.getMonthlyAmount();
          j["monthly"] = steps;
        }
        if (e.hasLastMonth()) j["last"] = S(e.getLastMonth());
        Put("sp/" + K(S(e.getSponsorship())), JsonText(j));
        return Status::Ok();
      }
      case P::SPONSORSHIP_ENDED: {
        auto e = p.getSponsorshipEnded();
        MB_ASSIGN_OR_RETURN(json j, LoadSchedule(S(e.getSponsorship())));
        j["ended"] = true;
        j["last"] = S(e.getLastMonth());
        Put("sp/" + K(S(e.getSponsorship())), JsonText(j));
        return Status::Ok();
      }
      case P::DISBURSEMENT: {
        auto e = p.getDisbursement();
        if (e.getKind() != schema::DisbursementKind::SPONSORSHIP_INSTALMENT) return Status::Ok();
        MB_ASSIGN_OR_RETURN(json j, LoadSchedule(S(e.getSponsorship())));
        std::set<std::string> paid = j["paid"].get<std::set<std::string>>();
        if (sign > 0) paid.insert(S(e.getMonth()));
        else paid.erase(S(e.getMonth()));
        j["paid"] = paid;
        Put("sp/" + K(S(e.getSponsorship())), JsonText(j));
        return Status::Ok();
      }
      default:
        return Status::Ok();
    }
  }

  // ---- child history ("h/<child>/<seq>") ----
  void AddRow(const std::string& child, const HistoryRow& row) {
    Put("h/" + K(child) + "/" + Seq20(row.seq), RowText(row));
  }

  Result<std::string> DonorName(const std::string& id) {
    MB_ASSIGN_OR_RETURN(std::string v, Get("d/" + K(id)));
    return v.empty() ? std::string("anonymous") : v;
  }

  Status HistoryEffect(const HistoryRow& base, P::Reader p) {
    HistoryRow row = base;
    switch (p.which()) {
      case P::DONOR_REGISTERED: {
        auto e = p.getDonorRegistered();
        Put("d/" + K(S(e.getDonor())), e.hasDisplayName() ? S(e.getDisplayName()) : "");
        Put("dk/" + K(S(e.getDonor())), EnumName(e.getKind()));
        return Status::Ok();
      }
      case P::CHILD_REGISTERED: {
        auto e = p.getChildRegistered();
        Put("c/" + K(S(e.getChild())), S(e.getBirthMonth()));
        AddRow(S(e.getChild()), row);
        return Status::Ok();
      }
      case P::DONATION_RECEIVED: {
        auto e = p.getDonationReceived();
        if (e.getRestriction() != schema::Restriction::CHILD) return Status::Ok();
        row.fund = S(e.getFund());
        MB_ASSIGN_OR_RETURN(row.from, DonorName(S(e.getDonor())));
        if (e.isCash()) {
          row.kind = "cash";
          row.amount = e.getCash().getAmount();
        } else {
          row.kind = "in_kind";
          row.item = S(e.getInKind().getItem());
          row.quantity = e.getInKind().getQuantity();
        }
        AddRow(S(e.getRestrictedTo()), row);
        return Status::Ok();
      }
      case P::SPONSORSHIP_AGREED: {
        auto e = p.getSponsorshipAgreed();
        Put("s/" + K(S(e.getSponsorship())), S(e.getChild()));
        row.fund = S(e.getFund());
        row.sponsorship = S(e.getSponsorship());
        row.month = S(e.getFirstMonth());
        row.amount = e.getMonthlyAmount();
        MB_ASSIGN_OR_RETURN(row.from, DonorName(S(e.getSponsor())));
        AddRow(S(e.getChild()), row);
        return Status::Ok();
      }
      case P::SPONSORSHIP_AMENDED:
      case P::SPONSORSHIP_ENDED: {
        std::string id = p.isSponsorshipAmended() ? S(p.getSponsorshipAmended().getSponsorship())
                                                   : S(p.getSponsorshipEnded().getSponsorship());
        MB_ASSIGN_OR_RETURN(std::string child, Get("s/" + K(id)));
        row.sponsorship = id;
        if (p.isSponsorshipAmended()) {
          row.month = S(p.getSponsorshipAmended().getEffectiveMonth());
          row.amount = p.getSponsorshipAmended().getMonthlyAmount();
        } else {
          row.month = S(p.getSponsorshipEnded().getLastMonth());
        }
        if (!child.empty()) AddRow(child, row);
        return Status::Ok();
      }
      case P::ENTITLEMENT_DETERMINED: {
        auto e = p.getEntitlementDetermined();
        row.kind = S(e.getTable()) + " x" + std::to_string(e.getCoefficientMilli()) + "/1000";
        row.month = S(e.getFromMonth());
        AddRow(S(e.getChild()), row);
        return Status::Ok();
      }
      case P::DISBURSEMENT: {
        auto e = p.getDisbursement();
        row.kind = EnumName(e.getKind());
        row.fund = S(e.getFund());
        row.programme = S(e.getProgramme());
        row.sponsorship = S(e.getSponsorship());
        row.month = S(e.getMonth());
        row.amount = e.getAmount();
        row.item = S(e.getItem());
        row.quantity = e.getQuantity();
        AddRow(S(e.getChild()), row);
        return Status::Ok();
      }
      default:
        return Status::Ok();
    }
  }

  // Whose history holds the row of an entry (the reversed entry names its child, or its sponsorship's).
  Result<std::string> HistoryChild(P::Reader p) {
    switch (p.which()) {
      case P::CHILD_REGISTERED: return S(p.getChildRegistered().getChild());
      case P::DONATION_RECEIVED: {
        auto e = p.getDonationReceived();
        return e.getRestriction() == schema::Restriction::CHILD ? S(e.getRestrictedTo()) : std::string();
      }
      case P::SPONSORSHIP_AGREED: return S(p.getSponsorshipAgreed().getChild());
      case P::SPONSORSHIP_AMENDED: return Get("s/" + K(S(p.getSponsorshipAmended().getSponsorship())));
      case P::SPONSORSHIP_ENDED: return Get("s/" + K(S(p.getSponsorshipEnded().getSponsorship())));
      case P::ENTITLEMENT_DETERMINED: return S(p.getEntitlementDetermined().getChild());
      case P::DISBURSEMENT: return S(p.getDisbursement().getChild());
      default: return std::string();
    }
  }

  Status HistoryReversal(const HistoryRow& base, uint64_t target, P::Reader old, const std::string& reason) {
    MB_ASSIGN_OR_RETURN(std::string child, HistoryChild(old));
    if (child.empty()) return Status::Ok();
    const std::string key = "h/" + K(child) + "/" + Seq20(target);
    MB_ASSIGN_OR_RETURN(std::string v, Get(key));
    HistoryRow orig = RowFromJson(json::parse(v));
    orig.reversed_by = base.seq;
    Put(key, RowText(orig));
    HistoryRow row = base;
    row.reverses = target;
    row.kind = orig.type;
    row.fund = orig.fund;
    row.programme = orig.programme;
    row.sponsorship = orig.sponsorship;
    row.month = orig.month;
    row.amount = -orig.amount;
    row.item = orig.item;
    row.quantity = -orig.quantity;
    row.from = reason;
    AddRow(child, row);
    return Status::Ok();
  }

  // ---- donor trace: first-in first-out lots per (fund, sub-account) ----
  Result<std::deque<Lot>*> Queue(const std::string& fund, const std::string& sub) {
    const std::string key = "q/" + K(fund) + "/" + K(sub);
    auto it = queues.find(key);
    if (it == queues.end()) {
      MB_ASSIGN_OR_RETURN(std::string v, Get(key));
      std::deque<Lot> q;
      if (!v.empty()) {
        for (const auto& l : json::parse(v)) q.push_back(Lot{l.at(0).get<uint64_t>(), l.at(1).get<std::string>(), l.at(2).get<Amount>()});
      }
      it = queues.emplace(key, std::move(q)).first;
    }
    dirty_queues.insert(key);
    return &it->second;
  }

  // Takes `amount` from the front of a queue; with `prefer`, that donation's own lots go first.
  Result<std::vector<Lot>> Take(const std::string& fund, const std::string& sub, Amount amount,
                                std::optional<uint64_t> prefer = std::nullopt) {
    MB_ASSIGN_OR_RETURN(std::deque<Lot>* q, Queue(fund, sub));
    std::vector<Lot> taken;
    auto take_from = [&](size_t i) {
      Lot& l = (*q)[i];
      Amount part = std::min(l.amount, amount);
      taken.push_back(Lot{l.donation, l.donor, part});
      l.amount -= part;
      amount -= part;
    };
    if (prefer) {  // a donation's reversal (rare): its own lots, wherever they are in the queue
      for (size_t i = 0; i < q->size() && amount > 0; ++i) {
        if ((*q)[i].donation == *prefer) take_from(i);
      }
      q->erase(std::remove_if(q->begin(), q->end(), [](const Lot& l) { return l.amount == 0; }), q->end());
    }
    // First in, first out: only the front is consumed, so emptied lots are popped from the front.
    while (!q->empty() && amount > 0) {
      take_from(0);
      if (q->front().amount == 0) q->pop_front();
    }
    if (amount > 0) {
      return Status::Corruption("donor trace: sub-account " + sub + " of fund " + fund + " holds " +
                                std::to_string(amount) + " less traced money than the log spends from it");
    }
    return taken;
  }

  Status PushFront(const std::string& fund, const std::string& sub, const std::vector<Lot>& lots) {
    MB_ASSIGN_OR_RETURN(std::deque<Lot>* q, Queue(fund, sub));
    for (auto it = lots.rbegin(); it != lots.rend(); ++it) q->push_front(*it);
    return Status::Ok();
  }

  Status PushBack(const std::string& fund, const std::string& sub, const std::vector<Lot>& lots) {
    MB_ASSIGN_OR_RETURN(std::deque<Lot>* q, Queue(fund, sub));
    for (const Lot& l : lots) q->push_back(l);
    return Status::Ok();
  }

  std::string TraceKey(const Lot& l, uint64_t use) {
    return "t/" + K(l.donor) + "/" + Seq20(l.donation) + "/" + Seq20(use);
  }

  // Records that `pieces` were used by entry `seq`.
  Status RecordUses(uint64_t seq, const std::vector<Lot>& pieces, json info) {
    for (const Lot& l : pieces) {
      const std::string key = TraceKey(l, seq);
      MB_ASSIGN_OR_RETURN(std::string v, Get(key));
      json j = info;
      j["amount"] = (v.empty() ? Amount{0} : json::parse(v).at("amount").get<Amount>()) + l.amount;
      Put(key, JsonText(j));
    }
    return Status::Ok();
  }

  static json Pieces(const std::string& fund, const std::string& sub, const std::vector<Lot>& pieces) {
    json a = json::array();
    for (const Lot& l : pieces) a.push_back(json::array({l.donation, l.donor, l.amount}));
    return {{"fund", fund}, {"sub", sub}, {"pieces", a}};
  }

  Status Spend(uint64_t seq, const std::string& fund, const std::string& sub, Amount amount, json info) {
    MB_ASSIGN_OR_RETURN(std::vector<Lot> pieces, Take(fund, sub, amount));
    Put("u/" + Seq20(seq), JsonText(Pieces(fund, sub, pieces)));
    return RecordUses(seq, pieces, std::move(info));
  }

  Status TraceEffect(uint64_t seq, const std::string& date, P::Reader p) {
    switch (p.which()) {
      case P::DONATION_RECEIVED: {
        auto e = p.getDonationReceived();
        std::string donor = S(e.getDonor()), fund = S(e.getFund());
        std::string sub = SubAccount(e.getRestriction(), S(e.getRestrictedTo()));
        json d = {{"date", S(e.getValueDate())}, {"fund", fund}, {"sub", sub}, {"reversed_by", 0}};
        if (e.isCash()) {
          auto c = e.getCash();
          d["kind"] = "cash";
          d["channel"] = EnumName(c.getChannel());
          d["bank_ref"] = S(c.getBankRef());
          d["amount"] = c.getAmount();
          MB_RETURN_IF_ERROR(PushBack(fund, sub, {Lot{seq, donor, c.getAmount()}}));
        } else {
          auto g = e.getInKind();
          MB_ASSIGN_OR_RETURN(Amount value, CheckedMul(g.getQuantity(), g.getUnitValue()));
          d["kind"] = "in_kind";
          d["item"] = S(g.getItem());
          d["quantity"] = g.getQuantity();
          d["amount"] = value;
        }
        Put("dn/" + K(donor) + "/" + Seq20(seq), JsonText(d));
        return Status::Ok();
      }
      case P::ALLOCATION: {
        auto e = p.getAllocation();
        std::string sub = SubAccount(e.getRestriction(), S(e.getRestrictedTo()));
        MB_ASSIGN_OR_RETURN(std::vector<Lot> pieces, Take(S(e.getFromFund()), sub, e.getAmount()));
        return PushBack(S(e.getToFund()), sub, pieces);
      }
      case P::DISBURSEMENT: {
        auto e = p.getDisbursement();
        if (e.getAmount() == 0) return Status::Ok();
        json info = {{"type", "disbursement"}, {"kind", EnumName(e.getKind())}, {"fund", S(e.getFund())},
                     {"child", S(e.getChild())}, {"programme", S(e.getProgramme())}, {"date", date}, {"reversed_by", 0}};
        return Spend(seq, S(e.getFund()), DisbursementSub(e), e.getAmount(), std::move(info));
      }
      case P::EXPENSE: {
        auto e = p.getExpense();
        json info = {{"type", "expense"}, {"kind", EnumName(e.getCategory())}, {"fund", S(e.getFund())},
                     {"child", ""}, {"programme", S(e.getProgramme())}, {"date", date}, {"reversed_by", 0}};
        return Spend(seq, S(e.getFund()), SubAccount(e.getPaidFrom(), S(e.getProgramme())), e.getAmount(), std::move(info));
      }
      default:
        return Status::Ok();
    }
  }

  Status TraceReversal(uint64_t seq, const std::string& date, uint64_t target, P::Reader old) {
    switch (old.which()) {
      case P::DONATION_RECEIVED: {
        auto e = old.getDonationReceived();
        std::string donor = S(e.getDonor()), key = "dn/" + K(donor) + "/" + Seq20(target);
        MB_ASSIGN_OR_RETURN(std::string v, Get(key));
        json d = json::parse(v);
        d["reversed_by"] = seq;
        if (!e.isCash()) {
          Put(key, JsonText(d));
          return Status::Ok();
        }
        // The reversed money leaves the sub-account: its own unspent lots first, then first-in first-out.
        std::string fund = S(e.getFund()), sub = SubAccount(e.getRestriction(), S(e.getRestrictedTo()));
        MB_ASSIGN_OR_RETURN(std::vector<Lot> pieces, Take(fund, sub, e.getCash().getAmount(), target));
        std::vector<Lot> others;
        Amount withdrawn = 0;
        for (const Lot& l : pieces) {
          if (l.donation != target) others.push_back(l);
          else withdrawn += l.amount;
        }
        d["withdrawn"] = withdrawn;
        Put(key, JsonText(d));
        json info = {{"type", "reversal"}, {"kind", "donation_reversed"}, {"fund", fund}, {"child", ""},
                     {"programme", ""}, {"date", date}, {"reversed_by", 0}};
        return RecordUses(seq, others, std::move(info));
      }
      case P::ALLOCATION: {
        auto e = old.getAllocation();
        std::string sub = SubAccount(e.getRestriction(), S(e.getRestrictedTo()));
        MB_ASSIGN_OR_RETURN(std::vector<Lot> pieces, Take(S(e.getToFund()), sub, e.getAmount()));
        return PushFront(S(e.getFromFund()), sub, pieces);
      }
      case P::DISBURSEMENT:
      case P::EXPENSE: {
        MB_ASSIGN_OR_RETURN(std::string v, Get("u/" + Seq20(target)));
        if (v.empty()) return Status::Ok();  // goods only: no money used
        json u = json::parse(v);
        std::vector<Lot> pieces;
        for (const auto& l : u.at("pieces")) pieces.push_back(Lot{l.at(0).get<uint64_t>(), l.at(1).get<std::string>(), l.at(2).get<Amount>()});
        for (const Lot& l : pieces) {
          const std::string key = TraceKey(l, target);
          MB_ASSIGN_OR_RETURN(std::string t, Get(key));
          json j = json::parse(t);
          j["reversed_by"] = seq;
          Put(key, JsonText(j));
        }
        return PushFront(u.at("fund").get<std::string>(), u.at("sub").get<std::string>(), pieces);
      }
      default:
        return Status::Ok();
    }
  }

  // ---- programme reports ----
  Status AddJsonFields(const std::string& key, const std::vector<std::pair<const char*, int64_t>>& deltas,
                       bool delete_when_zero) {
    MB_ASSIGN_OR_RETURN(std::string v, Get(key));
    json j = v.empty() ? json::object() : json::parse(v);
    bool all_zero = true;
    for (const auto& [field, delta] : deltas) {
      MB_ASSIGN_OR_RETURN(int64_t next, CheckedAdd(j.value(field, int64_t{0}), delta));
      j[field] = next;
    }
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it->is_number_integer() && it->get<int64_t>() != 0) all_zero = false;
    }
    Put(key, delete_when_zero && all_zero ? std::string() : JsonText(j));
    return Status::Ok();
  }

  // `month`: the month the entry counts for (the month covered, else its recording month).
  Status ProgrammeEffect(uint64_t seq, uint64_t original_seq, const std::string& month, P::Reader p, int sign) {
    switch (p.which()) {
      case P::PROGRAMME_OPENED: {
        auto e = p.getProgrammeOpened();
        Put("pg/" + K(S(e.getProgramme())), JsonText(json{{"fund", S(e.getFund())}, {"name", S(e.getName())}, {"closed", false}}));
        return Status::Ok();
      }
      case P::PROGRAMME_CLOSED: {
        const std::string key = "pg/" + K(S(p.getProgrammeClosed().getProgramme()));
        MB_ASSIGN_OR_RETURN(std::string v, Get(key));
        if (v.empty()) return Status::Ok();
        json j = json::parse(v);
        j["closed"] = sign > 0;
        Put(key, JsonText(j));
        return Status::Ok();
      }
      case P::DONATION_RECEIVED: {
        auto e = p.getDonationReceived();
        if (e.isInKind() && sign > 0) {  // the latest declared unit value of an item, for goods given out later
          Put("iv/" + K(S(e.getFund())) + "/" + K(S(e.getInKind().getItem())), std::to_string(e.getInKind().getUnitValue()));
        }
        if (e.getRestriction() != schema::Restriction::PROGRAMME || !e.isCash()) return Status::Ok();
        return AddJsonFields("pt/" + K(S(e.getRestrictedTo())), {{"received", sign * e.getCash().getAmount()}}, false);
      }
      case P::ALLOCATION: {
        auto e = p.getAllocation();
        if (e.getRestriction() != schema::Restriction::PROGRAMME) return Status::Ok();
        // Programme money moved between funds: in or out of the programme's own fund.
        const std::string prog = S(e.getRestrictedTo());
        MB_ASSIGN_OR_RETURN(std::string pg, Get("pg/" + K(prog)));
        if (pg.empty()) return Status::Ok();
        const std::string home = json::parse(pg).at("fund");
        if (S(e.getToFund()) == home) {
          MB_RETURN_IF_ERROR(AddJsonFields("pt/" + K(prog), {{"allocated_in", sign * e.getAmount()}}, false));
        }
        if (S(e.getFromFund()) == home) {
          MB_RETURN_IF_ERROR(AddJsonFields("pt/" + K(prog), {{"allocated_out", sign * e.getAmount()}}, false));
        }
        return Status::Ok();
      }
      case P::DISBURSEMENT: {
        auto e = p.getDisbursement();
        std::string prog = S(e.getProgramme());
        if (prog.empty()) return Status::Ok();
        std::string m = e.hasMonth() ? S(e.getMonth()) : month;
        Amount value = 0;
        if (e.hasItem() && e.getQuantity() > 0) {
          if (sign > 0) {
            MB_ASSIGN_OR_RETURN(std::string unit, Get("iv/" + K(S(e.getFund())) + "/" + K(S(e.getItem()))));
            MB_ASSIGN_OR_RETURN(value, CheckedMul(e.getQuantity(), ToInt(unit)));
            if (value) Put("pv/" + Seq20(seq), std::to_string(value));
          } else {
            MB_ASSIGN_OR_RETURN(std::string v, Get("pv/" + Seq20(original_seq)));
            value = ToInt(v);
          }
          MB_RETURN_IF_ERROR(AddJsonFields("pi/" + K(prog) + "/" + K(S(e.getItem())),
                                           {{"quantity", sign * e.getQuantity()}, {"value", sign * value}}, true));
        }
        MB_RETURN_IF_ERROR(AddJsonFields("pt/" + K(prog), {{"disbursed", sign * e.getAmount()}, {"disbursements", sign},
                                                           {"in_kind_value", sign * value}}, false));
        MB_RETURN_IF_ERROR(AddJsonFields("pm/" + K(prog) + "/" + m + "/" + EnumName(e.getKind()),
                                         {{"amount", sign * e.getAmount()}, {"count", sign}}, true));
        return AddJsonFields("pc/" + K(prog) + "/" + K(S(e.getChild())), {{"count", sign}}, true);
      }
      case P::EXPENSE: {
        auto e = p.getExpense();
        std::string prog = S(e.getProgramme());
        if (prog.empty()) return Status::Ok();
        MB_RETURN_IF_ERROR(AddJsonFields("pt/" + K(prog), {{"expensed", sign * e.getAmount()}}, false));
        return AddJsonFields("pm/" + K(prog) + "/" + month + "/expense_" + EnumName(e.getCategory()),
                             {{"amount", sign * e.getAmount()}, {"count", sign}}, true);
      }
      default:
        return Status::Ok();
    }
  }

  // ---- statements ----
  Result<std::vector<CashMove>> CashMoves(P::Reader p) {
    std::vector<CashMove> out;
    switch (p.which()) {
      case P::DONATION_RECEIVED: {
        auto e = p.getDonationReceived();
        if (!e.isCash()) break;
        MB_ASSIGN_OR_RETURN(std::string name, DonorName(S(e.getDonor())));
        CashMove m;
        m.fund = S(e.getFund());
        m.side = "credit";
        m.type = "donation_received";
        m.channel = EnumName(e.getCash().getChannel());
        m.bank_ref = S(e.getCash().getBankRef());
        m.counterparty = MaskAccountNumbers(name);
        m.description = e.getRestriction() == schema::Restriction::UNRESTRICTED
                            ? "" : "for " + SubAccount(e.getRestriction(), S(e.getRestrictedTo()));
        m.value_date = S(e.getValueDate());
        m.amount = e.getCash().getAmount();
        out.push_back(std::move(m));
        break;
      }
      case P::ALLOCATION: {
        auto e = p.getAllocation();
        CashMove m;
        m.type = "allocation";
        m.amount = e.getAmount();
        m.description = MaskAccountNumbers(S(e.getMemo()));
        m.fund = S(e.getFromFund());
        m.side = "debit";
        m.counterparty = "to fund " + S(e.getToFund());
        out.push_back(m);
        m.fund = S(e.getToFund());
        m.side = "credit";
        m.counterparty = "from fund " + S(e.getFromFund());
        out.push_back(m);
        break;
      }
      case P::DISBURSEMENT: {
        auto e = p.getDisbursement();
        if (e.getAmount() == 0) break;
        CashMove m;
        m.fund = S(e.getFund());
        m.side = "debit";
        m.type = "disbursement";
        m.channel = EnumName(e.getMethod());
        m.counterparty = "child " + S(e.getChild());
        m.description = EnumName(e.getKind()) + (e.hasMonth() ? " " + S(e.getMonth()) : "");
        m.amount = e.getAmount();
        out.push_back(std::move(m));
        break;
      }
      case P::EXPENSE: {
        auto e = p.getExpense();
        CashMove m;
        m.fund = S(e.getFund());
        m.side = "debit";
        m.type = "expense";
        m.counterparty = EnumName(e.getCategory());
        m.description = MaskAccountNumbers(S(e.getDescription()));
        m.amount = e.getAmount();
        out.push_back(std::move(m));
        break;
      }
      default:
        break;
    }
    return out;
  }

  Status StatementRowPut(uint64_t seq, const std::string& date, const CashMove& m, uint64_t reverses) {
    json row = {{"side", m.side}, {"amount", m.amount}, {"type", m.type}, {"channel", m.channel},
                {"bank_ref", m.bank_ref}, {"counterparty", m.counterparty}, {"description", m.description},
                {"reverses", reverses}};
    // Two moves of one entry in one fund cannot happen (an allocation's funds differ), so the key is unique.
    Put("st/" + K(m.fund) + "/" + date + "/" + Seq20(seq), JsonText(row));
    Amount net = m.side == "credit" ? m.amount : -m.amount;
    const std::string day = "sd/" + K(m.fund) + "/" + date;
    MB_ASSIGN_OR_RETURN(std::string v, Get(day));
    MB_ASSIGN_OR_RETURN(Amount next, CheckedAdd(ToInt(v), net));
    Put(day, std::to_string(next));
    if (!m.bank_ref.empty() && m.side == "credit") {
      Put("rf/" + K(NormalizeRef(m.bank_ref)) + "/" + Seq20(seq), K(m.fund) + "/" + date);
    }
    return Status::Ok();
  }
};

// ---- ReadModels ----

ReadModels::ReadModels(Kv& kv, EntryLookup lookup, Options options)
    : kv_(kv), lookup_(std::move(lookup)), options_(options), state_(std::make_unique<State>(kv_, lookup_)) {}
ReadModels::~ReadModels() = default;

Status ReadModels::Sync() { return state_->Sync(); }

void ReadModels::Reset() {
  state_ = std::make_unique<State>(kv_, lookup_);
  last_leaf_ = Hash{};
}

Status ReadModels::Apply(uint64_t seq, std::string_view bytes) {
  // Stored records are JSON this code wrote; one that does not parse means the read models are damaged.
  try {
    State& st = *state_;
    MB_ASSIGN_OR_RETURN(EntryReader reader, EntryReader::Open(bytes));
    auto root = reader.root();
    P::Reader p = root.getPayload();
    HistoryRow base;
    base.seq = seq;
    base.recorded_at = FormatTimestamp(root.getRecordedAtMicros(), root.getTzOffsetMinutes());
    base.type = PayloadTypeName(p);
    const std::string date = base.recorded_at.substr(0, 10), month = base.recorded_at.substr(0, 7);
    Hash leaf = st.sha.Leaf(bytes);
    base.leaf_hash = Base64Encode(leaf);
    if (p.isReversal()) {
      uint64_t target = p.getReversal().getSeq();
      MB_ASSIGN_OR_RETURN(std::string old_bytes, lookup_(target));
      MB_ASSIGN_OR_RETURN(EntryReader old, EntryReader::Open(old_bytes));
      auto old_root = old.root();
      const std::string old_month =
          FormatTimestamp(old_root.getRecordedAtMicros(), old_root.getTzOffsetMinutes()).substr(0, 7);
      MB_RETURN_IF_ERROR(st.MoneyEffect(old.payload(), -1));
      MB_RETURN_IF_ERROR(st.ScheduleEffect(old.payload(), -1));
      MB_RETURN_IF_ERROR(st.ProgrammeEffect(seq, target, old_month, old.payload(), -1));
      if (options_.reports_only) {
        last_leaf_ = leaf;
        return Status::Ok();
      }
      MB_RETURN_IF_ERROR(st.HistoryReversal(base, target, old.payload(), S(p.getReversal().getReason())));
      MB_RETURN_IF_ERROR(st.TraceReversal(seq, date, target, old.payload()));
      MB_ASSIGN_OR_RETURN(std::vector<CashMove> moves, st.CashMoves(old.payload()));
      for (CashMove& m : moves) {
        m.side = m.side == "credit" ? "debit" : "credit";
        m.description = "reversal of #" + std::to_string(target) + ": " + MaskAccountNumbers(S(p.getReversal().getReason()));
        m.bank_ref.clear();  // the reference stays searchable on the original row
        MB_RETURN_IF_ERROR(st.StatementRowPut(seq, date, m, target));
      }
    } else {
      MB_RETURN_IF_ERROR(st.MoneyEffect(p, +1));
      if (options_.reports_only) {
        // Schedules need the children's birth months and the donors' names: the helper records only.
        switch (p.which()) {
          case P::DONOR_REGISTERED:
          case P::CHILD_REGISTERED:
          case P::SPONSORSHIP_AGREED:
            MB_RETURN_IF_ERROR(st.HistoryEffect(base, p));
            break;
          default:
            break;
        }
        MB_RETURN_IF_ERROR(st.ScheduleEffect(p, +1));
        MB_RETURN_IF_ERROR(st.ProgrammeEffect(seq, seq, month, p, +1));
        last_leaf_ = leaf;
        return Status::Ok();
      }
      MB_RETURN_IF_ERROR(st.ScheduleEffect(p, +1));
      MB_RETURN_IF_ERROR(st.HistoryEffect(base, p));
      MB_RETURN_IF_ERROR(st.TraceEffect(seq, date, p));
      MB_RETURN_IF_ERROR(st.ProgrammeEffect(seq, seq, month, p, +1));
      MB_ASSIGN_OR_RETURN(std::vector<CashMove> moves, st.CashMoves(p));
      for (const CashMove& m : moves) {
        MB_RETURN_IF_ERROR(st.StatementRowPut(seq, m.value_date.empty() ? date : m.value_date, m, 0));
      }
    }
    last_leaf_ = leaf;
    return Status::Ok();
  } catch (const json::exception& e) {
    return Status::Corruption(std::string("read model record is damaged: ") + e.what());
  }
}

namespace {

// Runs a query, turning a record that does not parse into Corruption.
template <typename F>
auto Guard(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const json::exception& e) {
    return Status::Corruption(std::string("read model record is damaged (run `minhbach rebuild`): ") + e.what());
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("read model record is damaged (run `minhbach rebuild`): ") + e.what());
  }
}

}  // namespace

Result<std::vector<BalanceRow>> ReadModels::Balances(const std::string& fund) const {
  return Guard([&]() -> Result<std::vector<BalanceRow>> {
    std::vector<BalanceRow> out;
    const std::string prefix = fund.empty() ? "b/" : "b/" + K(fund) + "/";
    MB_RETURN_IF_ERROR(kv_.Scan(prefix, "", [&](std::string_view key, std::string_view value) {
      size_t slash = key.find('/', 2);
      BalanceRow r{UnK(key.substr(2, slash - 2)), UnK(key.substr(slash + 1))};
      BalanceFromJson(json::parse(value), r);
      out.push_back(std::move(r));
      return true;
    }));
    if (!fund.empty() && out.empty()) {
      MB_ASSIGN_OR_RETURN(std::string name, kv_.Get("fd/" + K(fund)));
      if (name.empty()) return Status::NotFound("fund '" + fund + "' is not opened in this ledger");
    }
    return out;
  });
}

Result<std::vector<HistoryRow>> ReadModels::ChildHistory(const std::string& child) const {
  return Guard([&]() -> Result<std::vector<HistoryRow>> {
    MB_ASSIGN_OR_RETURN(std::string registered, kv_.Get("c/" + K(child)));
    if (registered.empty()) return Status::NotFound("child '" + child + "' is not registered in this ledger");
    std::vector<HistoryRow> out;
    MB_RETURN_IF_ERROR(kv_.Scan("h/" + K(child) + "/", "", [&](std::string_view, std::string_view value) {
      out.push_back(RowFromJson(json::parse(value)));
      return true;
    }));
    return out;
  });
}

Result<std::vector<SponsorshipRow>> ReadModels::Sponsorships(const std::string& child, const std::string& as_of) const {
  MB_ASSIGN_OR_RETURN(int32_t asof, ParseMonth(as_of));
  return Guard([&]() -> Result<std::vector<SponsorshipRow>> {
    std::vector<SponsorshipRow> out;
    Status inner;
    MB_RETURN_IF_ERROR(kv_.Scan("sp/", "", [&](std::string_view key, std::string_view value) {
      json j = json::parse(value);
      if (!child.empty() && j.at("child") != child) return true;
      SponsorshipRow r;
      r.id = UnK(key.substr(3));
      r.child = j.at("child");
      r.sponsor = j.at("sponsor");
      r.fund = j.at("fund");
      r.first_month = j.at("first");
      r.last_month = j.at("last");
      r.ended = j.at("ended");
      std::map<int32_t, Amount> steps;
      for (auto s = j.at("monthly").begin(); s != j.at("monthly").end(); ++s) {
        auto m = ParseMonth(s.key());
        if (!m.ok()) throw std::runtime_error("bad month in schedule " + r.id);
        steps[*m] = s.value().get<Amount>();
      }
      auto monthly_at = [&](int32_t m) {
        auto u = steps.upper_bound(m);
        return u == steps.begin() ? Amount{0} : std::prev(u)->second;
      };
      std::set<std::string> paid = j.at("paid").get<std::set<std::string>>();
      auto first = ParseMonth(r.first_month), last = ParseMonth(r.last_month);
      if (!first.ok() || !last.ok()) throw std::runtime_error("bad months in schedule " + r.id);
      for (int32_t m = *first; m <= *last; ++m) {
        Amount* sum = nullptr;
        if (m <= asof) {
          ++r.months_due;
          if (paid.count(FormatMonth(m))) {
            ++r.months_paid;
          } else {
            r.missing.push_back(FormatMonth(m));
            sum = &r.owed;
          }
        } else {
          sum = &r.committed;
        }
        if (sum) {
          auto next = CheckedAdd(*sum, monthly_at(m));
          if (!next.ok()) {
            inner = next.status();
            return false;
          }
          *sum = *next;
        }
      }
      out.push_back(std::move(r));
      return true;
    }));
    MB_RETURN_IF_ERROR(inner);
    if (!child.empty() && out.empty()) return Status::NotFound("child '" + child + "' has no sponsorship");
    return out;
  });
}

Result<DonorTrace> ReadModels::Donor(const std::string& donor) const {
  return Guard([&]() -> Result<DonorTrace> {
    DonorTrace t;
    t.donor = donor;
    MB_ASSIGN_OR_RETURN(t.kind, kv_.Get("dk/" + K(donor)));
    if (t.kind.empty()) return Status::NotFound("donor '" + donor + "' is not registered in this ledger");
    MB_ASSIGN_OR_RETURN(std::string name, kv_.Get("d/" + K(donor)));
    t.display_name = name.empty() ? "anonymous" : name;
    std::map<uint64_t, size_t> index;
    MB_RETURN_IF_ERROR(kv_.Scan("dn/" + K(donor) + "/", "", [&](std::string_view key, std::string_view value) {
      json j = json::parse(value);
      TraceDonation d;
      d.seq = std::stoull(std::string(key.substr(key.size() - 20)));
      d.date = j.at("date");
      d.fund = j.at("fund");
      d.subaccount = j.at("sub");
      d.kind = j.at("kind");
      d.channel = j.value("channel", "");
      d.bank_ref = j.value("bank_ref", "");
      d.item = j.value("item", "");
      d.quantity = j.value("quantity", int64_t{0});
      d.amount = j.at("amount");
      d.reversed_by = j.at("reversed_by");
      d.withdrawn = j.value("withdrawn", Amount{0});
      index[d.seq] = t.donations.size();
      t.donations.push_back(std::move(d));
      return true;
    }));
    MB_RETURN_IF_ERROR(kv_.Scan("t/" + K(donor) + "/", "", [&](std::string_view key, std::string_view value) {
      // t/<donor>/<donation 20>/<use 20>
      uint64_t donation = std::stoull(std::string(key.substr(key.size() - 41, 20)));
      json j = json::parse(value);
      TraceUse u;
      u.seq = std::stoull(std::string(key.substr(key.size() - 20)));
      u.type = j.at("type");
      u.kind = j.at("kind");
      u.fund = j.at("fund");
      u.child = j.at("child");
      u.programme = j.at("programme");
      u.date = j.at("date");
      u.amount = j.at("amount");
      u.reversed_by = j.at("reversed_by");
      auto it = index.find(donation);
      if (it == index.end()) throw std::runtime_error("trace record of an unknown donation");
      t.donations[it->second].uses.push_back(std::move(u));
      return true;
    }));
    for (auto& d : t.donations) {
      for (const auto& u : d.uses) {
        if (!u.reversed_by) d.used += u.amount;
      }
      if (d.kind != "cash") continue;
      d.unspent = d.amount - d.used - d.withdrawn;
      if (!d.reversed_by) t.given += d.amount;
      t.used += d.used;
      t.unspent += d.unspent;
    }
    return t;
  });
}

Result<std::vector<std::string>> ReadModels::ProgrammeIds() const {
  std::vector<std::string> out;
  MB_RETURN_IF_ERROR(kv_.Scan("pg/", "", [&](std::string_view key, std::string_view) {
    out.push_back(UnK(key.substr(3)));
    return true;
  }));
  return out;
}

Result<ProgrammeReport> ReadModels::Programme(const std::string& programme) const {
  return Guard([&]() -> Result<ProgrammeReport> {
    ProgrammeReport r;
    r.programme = programme;
    MB_ASSIGN_OR_RETURN(std::string pg, kv_.Get("pg/" + K(programme)));
    if (pg.empty()) return Status::NotFound("programme '" + programme + "' is not opened in this ledger");
    json g = json::parse(pg);
    r.fund = g.at("fund");
    r.name = g.at("name");
    r.closed = g.at("closed");
    MB_ASSIGN_OR_RETURN(std::string pt, kv_.Get("pt/" + K(programme)));
    if (!pt.empty()) {
      json t = json::parse(pt);
      r.received = t.value("received", Amount{0});
      r.allocated_in = t.value("allocated_in", Amount{0});
      r.allocated_out = t.value("allocated_out", Amount{0});
      r.disbursed = t.value("disbursed", Amount{0});
      r.expensed = t.value("expensed", Amount{0});
      r.disbursements = t.value("disbursements", int64_t{0});
      r.in_kind_value = t.value("in_kind_value", Amount{0});
    }
    const std::string pk = K(programme) + "/";
    MB_RETURN_IF_ERROR(kv_.Scan("pm/" + pk, "", [&](std::string_view key, std::string_view value) {
      std::string_view rest = key.substr(3 + pk.size());  // <month>/<kind>
      json j = json::parse(value);
      r.months.push_back(ProgrammeMonth{std::string(rest.substr(0, 7)), std::string(rest.substr(8)), j.at("amount"), j.at("count")});
      return true;
    }));
    MB_RETURN_IF_ERROR(kv_.Scan("pc/" + pk, "", [&](std::string_view, std::string_view) {
      ++r.children_reached;
      return true;
    }));
    MB_RETURN_IF_ERROR(kv_.Scan("pi/" + pk, "", [&](std::string_view key, std::string_view value) {
      json j = json::parse(value);
      r.items.push_back(ProgrammeItem{UnK(key.substr(3 + pk.size())), j.at("quantity"), j.at("value")});
      return true;
    }));
    Amount spent = r.disbursed + r.expensed;
    if (spent > 0) {
      r.share_to_children_permille = static_cast<int32_t>((static_cast<__int128>(r.disbursed) * 1000) / spent);
    }
    return r;
  });
}

namespace {
StatementRow StatementRowFrom(std::string_view key, std::string_view value) {
  // st/<fund>/<date>/<seq20>
  json j = json::parse(value);
  StatementRow r;
  r.seq = std::stoull(std::string(key.substr(key.size() - 20)));
  r.date = std::string(key.substr(key.size() - 31, 10));
  r.side = j.at("side");
  r.amount = j.at("amount");
  r.type = j.at("type");
  r.channel = j.at("channel");
  r.bank_ref = j.at("bank_ref");
  r.counterparty = j.at("counterparty");
  r.description = j.at("description");
  r.reverses = j.at("reverses");
  return r;
}

bool ContainsIgnoreCase(const std::string& hay, const std::string& needle) {
  return NormalizeRef(hay).find(NormalizeRef(needle)) != std::string::npos;
}
}  // namespace

Result<Statement> ReadModels::FundStatement(const std::string& fund, const std::string& from, const std::string& to,
                                            const std::string& ref) const {
  if (!from.empty()) MB_RETURN_IF_ERROR(CheckDate(from).WithContext("--from"));
  if (!to.empty()) MB_RETURN_IF_ERROR(CheckDate(to).WithContext("--to"));
  if (!from.empty() && !to.empty() && to < from) return Status::InvalidArgument("--to " + to + " is before --from " + from);
  return Guard([&]() -> Result<Statement> {
    MB_ASSIGN_OR_RETURN(std::string name, kv_.Get("fd/" + K(fund)));
    if (name.empty()) return Status::NotFound("fund '" + fund + "' is not opened in this ledger");
    Statement s;
    s.fund = fund;
    s.from = from;
    s.to = to;
    s.ref = ref;
    const std::string fk = K(fund) + "/";
    Status inner;
    if (!from.empty()) {
      MB_RETURN_IF_ERROR(kv_.Scan("sd/" + fk, "", [&](std::string_view key, std::string_view value) {
        if (key.substr(3 + fk.size()) >= from) return false;
        auto next = CheckedAdd(s.opening, std::stoll(std::string(value)));
        if (!next.ok()) {
          inner = next.status();
          return false;
        }
        s.opening = *next;
        return true;
      }));
      MB_RETURN_IF_ERROR(inner);
    }
    MB_RETURN_IF_ERROR(kv_.Scan("st/" + fk, from.empty() ? "" : "st/" + fk + from, [&](std::string_view key, std::string_view value) {
      StatementRow r = StatementRowFrom(key, value);
      if (!to.empty() && r.date > to) return false;
      Amount* total = r.side == "credit" ? &s.credits : &s.debits;
      auto next = CheckedAdd(*total, r.amount);
      if (!next.ok()) {
        inner = next.status();
        return false;
      }
      *total = *next;
      if (ref.empty() || ContainsIgnoreCase(r.bank_ref, ref)) s.rows.push_back(std::move(r));
      return true;
    }));
    MB_RETURN_IF_ERROR(inner);
    MB_ASSIGN_OR_RETURN(Amount mid, CheckedAdd(s.opening, s.credits));
    MB_ASSIGN_OR_RETURN(s.closing, CheckedSub(mid, s.debits));
    return s;
  });
}

Result<std::vector<StatementRow>> ReadModels::FindReference(const std::string& ref) const {
  return Guard([&]() -> Result<std::vector<StatementRow>> {
    std::vector<StatementRow> out;
    const std::string norm = NormalizeRef(ref);
    if (norm.empty()) return Status::InvalidArgument("the bank reference to search for is empty");
    std::vector<std::pair<std::string, std::string>> hits;  // (statement key prefix, seq20)
    MB_RETURN_IF_ERROR(kv_.Scan("rf/" + K(norm) + "/", "", [&](std::string_view key, std::string_view value) {
      hits.emplace_back(std::string(value), std::string(key.substr(key.size() - 20)));
      return true;
    }));
    for (const auto& [where, seq] : hits) {
      const std::string key = "st/" + where + "/" + seq;
      MB_ASSIGN_OR_RETURN(std::string v, kv_.Get(key));
      if (v.empty()) return Status::Corruption("reference index names a missing statement row " + key);
      StatementRow r = StatementRowFrom(key, v);
      out.push_back(std::move(r));
    }
    return out;
  });
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
  return json{{"balances", balances},
              {"programmes", programmes},
              {"sponsorships", {{"compliance", ToJson(ComplianceOf(sp, as_of))}, {"rows", rows}}}};
}

}  // namespace minhbach
