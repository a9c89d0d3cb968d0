// Read model "programmes": per programme (campaign), money received and spent, payments by month and kind,
// children reached, goods distributed with their declared value (pg/ pt/ pm/ pc/ pi/ iv/ pv/).
#include "model.h"

namespace minhbach {
namespace rm {
namespace {

class ProgrammeModel final : public Model {
 public:
  using Model::Model;
  Status Apply(const Event& e) override { return ProgrammeEffect(e.seq, e.seq, e.month, e.p, +1); }
  Status Reverse(const Reversal& r) override { return ProgrammeEffect(r.entry.seq, r.target, r.old_month, r.old, -1); }

 private:
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

};

}  // namespace

std::unique_ptr<Model> MakeProgrammes(Kv& kv) { return std::make_unique<ProgrammeModel>(kv); }

}  // namespace rm

using namespace rm;

Result<std::vector<std::string>> ReadModels::ProgrammeIds() const {
  std::vector<std::string> out;
  MB_RETURN_IF_ERROR(kv_.Scan("pg/", "", [&](std::string_view key, std::string_view) {
    out.push_back(UnK(key.substr(3)));
    return true;
  }));
  return out;
}

Result<std::map<std::string, std::string>> ReadModels::Funds() const {
  std::map<std::string, std::string> out;
  MB_RETURN_IF_ERROR(kv_.Scan("fd/", "", [&](std::string_view key, std::string_view value) {
    out.emplace(UnK(key.substr(3)), std::string(value));
    return true;
  }));
  return out;
}

Result<ReadModels::PublicationPolicy> ReadModels::Policy(const std::string& fund) const {
  PublicationPolicy p;
  MB_RETURN_IF_ERROR(kv_.Scan("pp/" + K(fund), "", [&](std::string_view key, std::string_view value) {
    if (UnK(key.substr(3)) != fund) return false;
    const size_t comma = value.find(',');
    if (comma != std::string_view::npos) {
      p.organisations = std::string(value.substr(0, comma));
      p.individuals = std::string(value.substr(comma + 1));
    }
    return false;
  }));
  return p;
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

}  // namespace minhbach
