// Read model "history": every event about a child, in log order (h/<child>/<seq>), with reversal marks.
#include "model.h"

namespace minhbach {
namespace rm {
namespace {

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

class HistoryModel final : public Model {
 public:
  using Model::Model;
  Status Apply(const Event& e) override { return HistoryEffect(e.base, e.p); }
  Status Reverse(const Reversal& r) override { return HistoryReversal(r.entry.base, r.target, r.old, r.reason); }

 private:
  void AddRow(const std::string& child, const HistoryRow& row) {
    Put("h/" + K(child) + "/" + Seq20(row.seq), RowText(row));
  }

  Status HistoryEffect(const HistoryRow& base, P::Reader p) {
    HistoryRow row = base;
    switch (p.which()) {
      case P::CHILD_REGISTERED:
        AddRow(S(p.getChildRegistered().getChild()), row);
        return Status::Ok();
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

};

}  // namespace

std::unique_ptr<Model> MakeHistory(Kv& kv) { return std::make_unique<HistoryModel>(kv); }

}  // namespace rm

using namespace rm;

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

}  // namespace minhbach
