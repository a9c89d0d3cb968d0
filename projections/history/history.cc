// Read model "history": every event about a child, in log order (h/<child>/<seq>), with reversal marks.
#include <charconv>
#include <stdexcept>

#include "model.h"

namespace minhbach {
namespace rm {
namespace {

// A history row: its 15 fields joined by U+001F (unit separator), which no text in the log can contain (entries
// hold clean UTF-8 without control characters). Reading one back is a split, not a JSON parse: a child's
// history of ~100 rows reads in well under a millisecond.
constexpr char kSep = '\x1f';
constexpr size_t kRowFields = 15;

std::string RowText(const HistoryRow& r) {
  std::string out;
  out.reserve(160 + r.from.size());
  auto add = [&](const std::string& v) {
    out += v;
    out.push_back(kSep);
  };
  add(std::to_string(r.seq));
  add(r.recorded_at);
  add(r.type);
  add(r.kind);
  add(r.fund);
  add(r.programme);
  add(r.sponsorship);
  add(r.month);
  add(r.item);
  add(r.from);
  add(std::to_string(r.amount));
  add(std::to_string(r.quantity));
  add(r.leaf_hash);
  add(std::to_string(r.reversed_by));
  out += std::to_string(r.reverses);
  return out;
}

// Throws std::runtime_error on a damaged record (the callers turn it into Corruption).
HistoryRow RowFromText(std::string_view text) {
  std::string_view f[kRowFields];
  size_t n = 0, start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == kSep) {
      if (n == kRowFields) throw std::runtime_error("history row has more than 15 fields");
      f[n++] = text.substr(start, i - start);
      start = i + 1;
    }
  }
  if (n != kRowFields) throw std::runtime_error("history row has " + std::to_string(n) + " fields, not 15");
  auto num = [](std::string_view v) -> int64_t {
    int64_t x = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
    if (ec != std::errc() || p != v.data() + v.size()) throw std::runtime_error("history row: bad number");
    return x;
  };
  HistoryRow r;
  r.seq = static_cast<uint64_t>(num(f[0]));
  r.recorded_at = f[1];
  r.type = f[2];
  r.kind = f[3];
  r.fund = f[4];
  r.programme = f[5];
  r.sponsorship = f[6];
  r.month = f[7];
  r.item = f[8];
  r.from = f[9];
  r.amount = num(f[10]);
  r.quantity = num(f[11]);
  r.leaf_hash = f[12];
  r.reversed_by = static_cast<uint64_t>(num(f[13]));
  r.reverses = static_cast<uint64_t>(num(f[14]));
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
    HistoryRow orig = RowFromText(v);
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

Result<ChildTotals> TotalsOf(const std::vector<HistoryRow>& rows) {
  ChildTotals t;
  for (const auto& r : rows) {
    bool paid = r.type == "disbursement" || (r.type == "reversal" && r.kind == "disbursement");
    if (!paid || r.amount == 0) continue;
    const std::string year = !r.month.empty() ? r.month.substr(0, 4) : r.recorded_at.substr(0, 4);
    for (Amount* sum : {&t.total, &t.by_programme[r.programme], &t.by_year[year]}) {
      MB_RETURN_IF_ERROR(AddTo(sum, r.amount, "the child's total paid"));
    }
  }
  return t;
}

Result<std::vector<HistoryRow>> ReadModels::ChildHistory(const std::string& child) const {
  return Guard([&]() -> Result<std::vector<HistoryRow>> {
    MB_ASSIGN_OR_RETURN(std::string registered, kv_.Get("c/" + K(child)));
    if (registered.empty()) return Status::NotFound("child '" + child + "' is not registered in this ledger");
    std::vector<HistoryRow> out;
    MB_RETURN_IF_ERROR(kv_.Scan("h/" + K(child) + "/", "", [&](std::string_view, std::string_view value) {
      out.push_back(RowFromText(value));
      return true;
    }));
    return out;
  });
}

}  // namespace minhbach
