// Read model "statements": a fund's cash credits and debits as a bank statement shows them, by date, with
// the daily net for opening balances and a bank-reference index (st/ sd/ rf/).
#include "model.h"

namespace minhbach {
namespace rm {
namespace {

// A cash movement of one fund, as a statement shows it.
struct CashMove {
  std::string fund, side, type, channel, bank_ref, counterparty, description, value_date, donor;
  Amount amount = 0;
};

class StatementModel final : public Model {
 public:
  using Model::Model;
  Status Apply(const Event& e) override {
    MB_ASSIGN_OR_RETURN(std::vector<CashMove> moves, CashMoves(e.p));
    for (const CashMove& m : moves) {
      MB_RETURN_IF_ERROR(StatementRowPut(e.seq, m.value_date.empty() ? e.date : m.value_date, m, 0));
    }
    return Status::Ok();
  }
  // A contra row on the reversal's date; the original row stays.
  Status Reverse(const Reversal& r) override {
    MB_ASSIGN_OR_RETURN(std::vector<CashMove> moves, CashMoves(r.old));
    for (CashMove& m : moves) {
      m.side = m.side == "credit" ? "debit" : "credit";
      m.description = "reversal of #" + std::to_string(r.target) + ": " + MaskAccountNumbers(r.reason);
      m.bank_ref.clear();  // the reference stays searchable on the original row
      MB_RETURN_IF_ERROR(StatementRowPut(r.entry.seq, r.entry.date, m, r.target));
    }
    return Status::Ok();
  }

 private:
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
        m.donor = S(e.getDonor());
        m.description = e.getRestriction() == schema::Restriction::UNRESTRICTED
                            ? "" : "for " + SubAccount(e.getRestriction(), S(e.getRestrictedTo()));
        // The bank's text of the line is in the vault (it names the sender): never in a read model.
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
        m.description = MaskAccountNumbers(S(e.getMemo()));  // public memo only; a private one is in the vault
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
        m.bank_ref = S(e.getBankRef());
        if (e.hasValueDate()) m.value_date = S(e.getValueDate());
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
                {"reverses", reverses}, {"donor", m.donor}};
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
    if (m.side == "credit" && reverses == 0 && m.amount > 0) {
      Put("am/" + Seq20(static_cast<uint64_t>(m.amount)) + "/" + Seq20(seq), K(m.fund) + "/" + date);
    }
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<Model> MakeStatements(Kv& kv) { return std::make_unique<StatementModel>(kv); }

}  // namespace rm

using namespace rm;

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

namespace {
StatementRow StatementRowFrom(std::string_view key, std::string_view value) {
  // st/<fund>/<date>/<seq20>
  json j = json::parse(value);
  StatementRow r;
  r.seq = KeySeq(key);
  r.date = std::string(key.substr(key.size() - 31, 10));
  r.fund = UnK(key.substr(3, key.size() - 3 - 32));
  r.side = j.at("side");
  r.amount = j.at("amount");
  r.type = j.at("type");
  r.channel = j.at("channel");
  r.bank_ref = j.at("bank_ref");
  r.counterparty = j.at("counterparty");
  r.description = j.at("description");
  r.reverses = j.at("reverses");
  r.donor = j.at("donor");
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

namespace {
// The statement rows an index (rf/ or am/) points at: index keys end with the seq20, values are "<fund>/<date>".
Result<std::vector<StatementRow>> IndexedRows(const Kv& kv, const std::string& prefix, const char* what) {
  std::vector<std::pair<std::string, std::string>> hits;  // (statement key prefix, seq20)
  MB_RETURN_IF_ERROR(kv.Scan(prefix, "", [&](std::string_view key, std::string_view value) {
    hits.emplace_back(std::string(value), std::string(key.substr(key.size() - 20)));
    return true;
  }));
  std::vector<StatementRow> out;
  for (const auto& [where, seq] : hits) {
    const std::string key = "st/" + where + "/" + seq;
    MB_ASSIGN_OR_RETURN(std::string v, kv.Get(key));
    if (v.empty()) return Status::Corruption(std::string(what) + " index names a missing statement row " + key);
    out.push_back(StatementRowFrom(key, v));
  }
  return out;
}
}  // namespace

Result<std::vector<StatementRow>> ReadModels::FindReference(const std::string& ref) const {
  return Guard([&]() -> Result<std::vector<StatementRow>> {
    const std::string norm = NormalizeRef(ref);
    if (norm.empty()) return Status::InvalidArgument("the bank reference to search for is empty");
    return IndexedRows(kv_, "rf/" + K(norm) + "/", "reference");
  });
}

Result<std::vector<StatementRow>> ReadModels::FindAmount(Amount amount) const {
  if (amount <= 0) return Status::InvalidArgument("the amount to search for must be positive");
  return Guard([&]() -> Result<std::vector<StatementRow>> {
    return IndexedRows(kv_, "am/" + Seq20(static_cast<uint64_t>(amount)) + "/", "amount");
  });
}

}  // namespace minhbach
