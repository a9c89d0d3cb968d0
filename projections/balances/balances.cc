// Read model "balances": per fund and sub-account, money received, allocated in and out, disbursed,
// expensed, and the balance (b/<fund>/<sub>). See docs/projections.md.
#include <map>
#include <set>

#include "model.h"

namespace minhbach {
namespace rm {
namespace {

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

class BalanceModel final : public Model {
 public:
  using Model::Model;
  Status Apply(const Event& e) override { return MoneyEffect(e.p, +1); }
  Status Reverse(const Reversal& r) override { return MoneyEffect(r.old, -1); }
  Status Sync() override {
    for (const std::string& key : dirty_) Put(key, BalanceText(rows_.at(key)));
    dirty_.clear();
    return Status::Ok();
  }

 private:
  Status Add(const std::string& fund, const std::string& sub, Amount BalanceRow::*field, Amount delta, Amount balance_delta) {
    const std::string key = "b/" + K(fund) + "/" + K(sub);
    auto it = rows_.find(key);
    if (it == rows_.end()) {
      MB_ASSIGN_OR_RETURN(std::string v, Get(key));
      BalanceRow r{fund, sub};
      if (!v.empty()) BalanceFromJson(json::parse(v), r);
      it = rows_.emplace(key, std::move(r)).first;
    }
    BalanceRow& r = it->second;
    MB_ASSIGN_OR_RETURN(r.*field, CheckedAdd(r.*field, delta));
    MB_ASSIGN_OR_RETURN(r.balance, CheckedAdd(r.balance, balance_delta));
    dirty_.insert(key);
    return Status::Ok();
  }

  // Cash effects on fund balances; sign -1 undoes them (a reversal).
  Status MoneyEffect(P::Reader p, int sign) {
    switch (p.which()) {
      case P::DONATION_RECEIVED: {
        auto e = p.getDonationReceived();
        if (!e.isCash()) return Status::Ok();
        Amount a = sign * e.getCash().getAmount();
        return Add(S(e.getFund()), SubAccount(e.getRestriction(), S(e.getRestrictedTo())), &BalanceRow::received, a, a);
      }
      case P::ALLOCATION: {
        auto e = p.getAllocation();
        std::string sub = SubAccount(e.getRestriction(), S(e.getRestrictedTo()));
        Amount a = sign * e.getAmount();
        MB_RETURN_IF_ERROR(Add(S(e.getFromFund()), sub, &BalanceRow::allocated_out, a, -a));
        return Add(S(e.getToFund()), sub, &BalanceRow::allocated_in, a, a);
      }
      case P::DISBURSEMENT: {
        auto e = p.getDisbursement();
        if (e.getAmount() == 0) return Status::Ok();
        Amount a = sign * e.getAmount();
        return Add(S(e.getFund()), DisbursementSub(e), &BalanceRow::disbursed, a, -a);
      }
      case P::EXPENSE: {
        auto e = p.getExpense();
        Amount a = sign * e.getAmount();
        return Add(S(e.getFund()), SubAccount(e.getPaidFrom(), S(e.getProgramme())), &BalanceRow::expensed, a, -a);
      }
      default:
        return Status::Ok();
    }
  }

  std::map<std::string, BalanceRow> rows_;  // few: one per sub-account, kept between syncs
  std::set<std::string> dirty_;
};

}  // namespace

std::unique_ptr<Model> MakeBalances(Kv& kv) { return std::make_unique<BalanceModel>(kv); }

}  // namespace rm

using namespace rm;

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

}  // namespace minhbach
