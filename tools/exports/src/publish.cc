// Open-data exports: IATI 2.03 activity XML and 360Giving JSON (docs/exports.md gives every mapping).
//
// Privacy: disbursements are aggregated per activity, month and kind (IATI) or per programme and month
// (360Giving); no child id, guardian or sponsorship id is written. Donors appear by their public display name
// (with account numbers masked), else as "anonymous".
#include <nlohmann/json.hpp>
#include <set>

#include "minhbach/exports.h"
#include "minhbach/privacy.h"
#include "minhbach/hash.h"

namespace minhbach::exports {
namespace {

using nlohmann::json;
constexpr const char* kGeneral = "GENERAL";  // the activity of a fund's work outside any programme

using Attrs = std::vector<std::pair<std::string, std::string>>;

// A tiny XML writer: elements, attributes and escaped text, two spaces of indentation.
class Xml {
 public:
  Xml() { out_ = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"; }
  void Open(const std::string& tag, const Attrs& a = {}) {
    Start(tag, a);
    out_ += ">\n";
    ++depth_;
  }
  void Close(const std::string& tag) {
    --depth_;
    out_ += std::string(2 * depth_, ' ') + "</" + tag + ">\n";
  }
  void Leaf(const std::string& tag, const Attrs& a, const std::string& text) {
    Start(tag, a);
    out_ += ">" + XmlEscape(text) + "</" + tag + ">\n";
  }
  void Empty(const std::string& tag, const Attrs& a) {
    Start(tag, a);
    out_ += "/>\n";
  }
  void Narrative(const std::string& text, const std::string& lang = "") {
    Leaf("narrative", lang.empty() ? Attrs{} : Attrs{{"xml:lang", lang}}, text);
  }
  std::string Take() { return std::move(out_); }

 private:
  void Start(const std::string& tag, const Attrs& a) {
    out_ += std::string(2 * depth_, ' ') + "<" + tag;
    for (const auto& [k, v] : a) out_ += " " + k + "=\"" + XmlEscape(v) + "\"";
  }
  std::string out_;
  int depth_ = 0;
};

// The activity a programme id belongs to: the programme when it is one of the fund's, else the general one.
std::string ActivityOf(const Snapshot& s, const std::string& fund, const std::string& programme) {
  auto it = s.facts().programmes.find(programme);
  return it != s.facts().programmes.end() && it->second.fund == fund ? programme : kGeneral;
}

struct Txn {
  int type = 0;  // IATI TransactionType: 1 incoming funds, 2 outgoing commitment, 3 disbursement, 4 expenditure
  std::string date, description, provider;
  Amount value = 0;
};

// Cash disbursements not reversed, summed per (activity, month, kind): month as in the programme reports.
struct Group {
  Amount amount = 0;
  int64_t payments = 0;
  std::set<std::string> children;
  std::string last_date;
};
using GroupKey = std::tuple<std::string, std::string, std::string>;  // activity, month, kind ("" in 360Giving)

Result<std::map<GroupKey, Group>> GroupDisbursements(const Snapshot& s, const std::string& fund, bool by_kind) {
  std::map<GroupKey, Group> groups;
  for (const auto& d : s.facts().disbursements) {
    if (d.fund != fund || d.reversed_by || d.amount == 0) continue;
    Group& g = groups[{ActivityOf(s, fund, d.programme), d.ReportMonth(), by_kind ? d.kind : ""}];
    MB_RETURN_IF_ERROR(AddTo(g.amount, d.amount));
    ++g.payments;
    g.children.insert(d.child);
    g.last_date = std::max(g.last_date, d.date);
  }
  return groups;
}

// A donor as the fund's publication policy shows them: individuals (no public name) are "anonymous" in exports;
// an organisation by name, initials or "anonymous" as the policy says.
std::string Donor(const Snapshot& s, const std::string& id, const ReadModels::PublicationPolicy& policy) {
  auto it = s.facts().donors.find(id);
  if (it == s.facts().donors.end() || it->second.display_name.empty() || policy.organisations == "anonymous") {
    return "anonymous";
  }
  const std::string name = MaskAccountNumbers(it->second.display_name);
  return policy.organisations == "initials" ? MaskedInitials(name) : name;
}

// Sponsorship commitments per month of agreement: each agreement's agreed amounts over all its months, as the
// agreement stands at the checkpoint (amendments and an early end included).
Result<std::map<std::string, std::pair<Amount, int>>> Commitments(const Snapshot& s, const std::string& fund) {
  MB_ASSIGN_OR_RETURN(auto rows, s.models().Sponsorships("", "1900-01"));  // before every month: all committed
  std::map<std::string, Amount> total;
  for (const auto& r : rows) total[r.id] = r.committed;
  std::map<std::string, std::pair<Amount, int>> by_date;
  for (const auto& sp : s.facts().sponsorships) {
    if (sp.fund != fund) continue;
    auto& [amount, n] = by_date[sp.date];
    MB_RETURN_IF_ERROR(AddTo(amount, total[sp.sponsorship]));
    ++n;
  }
  return by_date;
}

Result<std::map<std::string, std::vector<Txn>>> Transactions(const Snapshot& s, const std::string& fund) {
  std::map<std::string, std::vector<Txn>> t;
  MB_ASSIGN_OR_RETURN(const auto policy, s.models().Policy(fund));
  for (const auto& d : s.facts().donations) {
    if (d.fund != fund || !d.cash || d.reversed_by) continue;
    std::string act = d.restriction == "programme" ? ActivityOf(s, fund, d.restricted_to) : kGeneral;
    t[act].push_back({1, d.value_date, "Tiền ủng hộ / donation (" + d.channel + ")", Donor(s, d.donor, policy), d.amount});
  }
  MB_ASSIGN_OR_RETURN(auto commitments, Commitments(s, fund));
  for (const auto& [date, c] : commitments) {
    t[kGeneral].push_back({2, date, "Cam kết bảo trợ / sponsorship commitments: " + std::to_string(c.second) +
                                        " agreement(s) (all agreed months)", "", c.first});
  }
  MB_ASSIGN_OR_RETURN(auto groups, GroupDisbursements(s, fund, true));
  for (const auto& [k, g] : groups) {
    const auto& [act, month, kind] = k;
    t[act].push_back({3, g.last_date,
                      "Chi trả / payments " + month + ", " + kind + ": " + std::to_string(g.payments) + " payment(s) to " +
                          PublicCount(static_cast<int64_t>(g.children.size())) + " child(ren), aggregated (no child is named)",
                      "", g.amount});
  }
  for (const auto& e : s.facts().expenses) {
    if (e.fund != fund || e.reversed_by) continue;
    t[ActivityOf(s, fund, e.programme)].push_back(
        {4, e.value_date.empty() ? e.date : e.value_date, "Chi phí / expense (" + e.category + "): " + e.description, "",
         e.amount});
  }
  for (auto& [act, v] : t) {
    std::stable_sort(v.begin(), v.end(), [](const Txn& a, const Txn& b) { return a.date < b.date; });
  }
  return t;
}

void WriteTransaction(Xml& x, const Txn& t) {
  x.Open("transaction");
  x.Empty("transaction-type", {{"code", std::to_string(t.type)}});
  x.Empty("transaction-date", {{"iso-date", t.date}});
  x.Leaf("value", {{"currency", "VND"}, {"value-date", t.date}}, std::to_string(t.value));
  x.Open("description");
  x.Narrative(t.description);
  x.Close("description");
  if (!t.provider.empty()) {
    x.Open("provider-org");
    x.Narrative(t.provider);
    x.Close("provider-org");
  }
  x.Close("transaction");
}

struct ActivityText {
  std::string title_vi, title_en, desc_vi, desc_en, start, end;
  int status = 2;  // IATI ActivityStatus: 2 implementation, 4 closed
};

ActivityText TextOf(const Snapshot& s, const std::string& fund, const std::string& act) {
  const FundFact& f = s.facts().funds.at(fund);
  if (act == kGeneral) {
    return {f.name + " — hoạt động chung", fund + ": general work (unrestricted money)",
            "Các khoản thu, chi không thuộc chương trình nào của " + f.name + ".",
            "Receipts and payments of fund " + fund + " outside any programme.", f.opened_date, "", 2};
  }
  const ProgrammeFact& p = s.facts().programmes.at(act);
  return {p.name, "Programme " + act + " of fund " + fund, "Căn cứ: " + p.legal_basis,
          "Programme " + act + " of " + fund + "; legal basis (Vietnamese): " + p.legal_basis, p.opened_date,
          p.closed_date, p.closed ? 4 : 2};
}

void WriteActivity(Xml& x, const Snapshot& s, const PublishOptions& o, const std::string& act,
                   const std::vector<Txn>& txns) {
  const FundFact& f = s.facts().funds.at(o.fund);
  ActivityText a = TextOf(s, o.fund, act);
  x.Open("iati-activity", {{"last-updated-datetime", s.as_of_time()}, {"xml:lang", "vi"}, {"default-currency", "VND"}});
  x.Leaf("iati-identifier", {}, o.org_ref + "-" + o.fund + "-" + act);
  x.Open("reporting-org", {{"ref", o.org_ref}, {"type", o.org_type}});
  x.Narrative(f.organisation);
  x.Close("reporting-org");
  x.Open("title");
  x.Narrative(a.title_vi);
  x.Narrative(a.title_en, "en");
  x.Close("title");
  x.Open("description", {{"type", "1"}});
  x.Narrative(a.desc_vi);
  x.Narrative(a.desc_en, "en");
  x.Close("description");
  x.Open("participating-org", {{"ref", o.org_ref}, {"role", "4"}, {"type", o.org_type}});
  x.Narrative(f.organisation);
  x.Close("participating-org");
  x.Empty("activity-status", {{"code", std::to_string(a.status)}});
  x.Empty("activity-date", {{"iso-date", a.start}, {"type", "2"}});  // 2: actual start
  if (!a.end.empty()) x.Empty("activity-date", {{"iso-date", a.end}, {"type", "4"}});  // 4: actual end
  x.Empty("recipient-country", {{"code", "VN"}, {"percentage", "100"}});
  for (const auto& t : txns) WriteTransaction(x, t);
  x.Close("iati-activity");
}

}  // namespace

std::string XmlEscape(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      case '\n': out += "&#10;"; break;
      default: out += c;
    }
  }
  return out;
}

Status CheckOrgRef(const std::string& org_ref) {
  if (org_ref.empty()) return Status::InvalidArgument("--org-ref is required (the fund's organisation identifier, e.g. VN-GOV-QNG-CSF)");
  for (char c : org_ref) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_') {
      return Status::InvalidArgument("--org-ref '" + org_ref + "' may only hold letters, digits, '-', '.' and '_'");
    }
  }
  return Status::Ok();
}

Result<std::string> IatiXml(const Snapshot& s, const PublishOptions& o) {
  MB_RETURN_IF_ERROR(CheckOrgRef(o.org_ref));
  MB_RETURN_IF_ERROR(s.CheckFund(o.fund));
  MB_ASSIGN_OR_RETURN(auto txns, Transactions(s, o.fund));
  Xml x;
  x.Open("iati-activities", {{"version", "2.03"}, {"generated-datetime", s.as_of_time()}});
  for (const auto& [id, p] : s.facts().programmes) {
    if (p.fund == o.fund) WriteActivity(x, s, o, id, txns[id]);
  }
  WriteActivity(x, s, o, kGeneral, txns[kGeneral]);
  x.Close("iati-activities");
  return x.Take();
}

Result<std::string> GivingJson(const Snapshot& s, const PublishOptions& o) {
  MB_RETURN_IF_ERROR(CheckOrgRef(o.org_ref));
  MB_RETURN_IF_ERROR(s.CheckFund(o.fund));
  const FundFact& f = s.facts().funds.at(o.fund);
  MB_ASSIGN_OR_RETURN(auto groups, GroupDisbursements(s, o.fund, false));
  json grants = json::array();
  Sha256 sha;
  for (const auto& [k, g] : groups) {
    const auto& [act, month, kind] = k;
    std::string id = "360G-" + o.org_ref + "-" + o.fund + "-" + act + "-" + month;
    ActivityText a = TextOf(s, o.fund, act);
    json grant = {
        {"id", id},
        {"title", a.title_vi + " — chi trả tháng " + month},
        {"description", "Tổng hợp " + std::to_string(g.payments) + " khoản chi trả cho " +
                            PublicCount(static_cast<int64_t>(g.children.size())) + " trẻ em, tháng " + month +
                            ". Aggregated payments to " + PublicCount(static_cast<int64_t>(g.children.size())) +
                            " child(ren) for " + month + " (" + a.title_en + "); recipients are not named."},
        {"currency", "VND"},
        {"amountAwarded", g.amount},
        {"amountDisbursed", g.amount},
        {"awardDate", g.last_date},
        {"plannedDates", json::array({{{"startDate", month + "-01"}, {"endDate", LastDayOf(month)}, {"duration", 1}}})},
        // An id made from the grant id, not from any child: it names this group of recipients only.
        {"recipientIndividual", {{"id", "360G-" + o.org_ref + "-IND-" + HexEncode(sha.Digest(id)).substr(0, 16)},
                                 {"name", "Individual Recipients (aggregated)"}}},
        {"fundingOrganization", json::array({{{"id", o.org_ref}, {"name", f.organisation}}})},
        {"beneficiaryLocation", json::array({{{"name", "Viet Nam"}, {"countryCode", "VN"}}})},
        {"dateModified", s.as_of_time()},
    };
    if (act != kGeneral) grant["grantProgramme"] = json::array({{{"code", act}, {"title", a.title_vi}}});
    grants.push_back(std::move(grant));
  }
  return json{{"grants", grants}}.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace minhbach::exports
