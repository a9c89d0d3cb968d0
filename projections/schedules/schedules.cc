// Read model "schedules": each sponsorship's agreed months and amounts, its end, and the months paid
// (sp/<id>); dues, arrears and commitments are computed at query time for an as-of month.
#include <set>

#include "model.h"

namespace minhbach {
namespace rm {
namespace {

class ScheduleModel final : public Model {
 public:
  using Model::Model;
  Status Apply(const Event& e) override { return ScheduleEffect(e.p, +1); }
  Status Reverse(const Reversal& r) override { return ScheduleEffect(r.old, -1); }

 private:
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

};

}  // namespace

std::unique_ptr<Model> MakeSchedules(Kv& kv) { return std::make_unique<ScheduleModel>(kv); }

}  // namespace rm

using namespace rm;

Result<Compliance> ComplianceOf(const std::vector<SponsorshipRow>& rows, const std::string& as_of) {
  Compliance c;
  c.as_of = as_of;
  c.sponsorships = rows.size();
  for (const auto& r : rows) {
    if (!r.missing.empty()) ++c.in_arrears;
    c.months_missing += r.missing.size();
    MB_RETURN_IF_ERROR(AddTo(&c.owed, r.owed, "the sponsorships' sum owed"));
    MB_RETURN_IF_ERROR(AddTo(&c.committed, r.committed, "the sponsorships' sum committed"));
  }
  return c;
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

}  // namespace minhbach
