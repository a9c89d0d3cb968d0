// Read model "trace": what each donation paid for. Money is traced first in, first out per fund
// sub-account; docs/projections.md "Donor trace" states the rule (q/ dn/ t/ u/).
#include <deque>
#include <map>
#include <optional>
#include <set>

#include "model.h"

namespace minhbach {
namespace rm {
namespace {

// A piece of traced money: part of one donation.
struct Lot {
  uint64_t donation = 0;
  std::string donor;
  Amount amount = 0;
};

class TraceModel final : public Model {
 public:
  using Model::Model;
  Status Apply(const Event& e) override { return TraceEffect(e.seq, e.date, e.p); }
  Status Reverse(const Reversal& r) override { return TraceReversal(r.entry.seq, r.entry.date, r.target, r.old); }
  Status Sync() override {
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

 private:
  std::map<std::string, std::deque<Lot>> queues;  // "q/<fund>/<sub>": traced money, oldest first
  std::set<std::string> dirty_queues;

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
          else MB_RETURN_IF_ERROR(AddTo(&withdrawn, l.amount, "the sum withdrawn"));
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

};

}  // namespace

std::unique_ptr<Model> MakeTrace(Kv& kv) { return std::make_unique<TraceModel>(kv); }

namespace {

// A donor's sums, checked: a donor who gave to several funds can pass 2^63-1 VND in total, and a wrapped total
// would show as a negative number.
Status SumTrace(DonorTrace* t) {
  for (auto& d : t->donations) {
    for (const auto& u : d.uses) {
      if (!u.reversed_by) MB_RETURN_IF_ERROR(AddTo(&d.used, u.amount, "the sum used"));
    }
    if (d.kind != "cash") continue;
    d.unspent = d.amount;
    MB_RETURN_IF_ERROR(AddTo(&d.unspent, -d.used, "the sum unspent"));
    MB_RETURN_IF_ERROR(AddTo(&d.unspent, -d.withdrawn, "the sum unspent"));
    // Every cash donation counts in `given`, so that given = used + withdrawn + unspent.
    MB_RETURN_IF_ERROR(AddTo(&t->given, d.amount, "the sum given"));
    MB_RETURN_IF_ERROR(AddTo(&t->used, d.used, "the sum used"));
    MB_RETURN_IF_ERROR(AddTo(&t->withdrawn, d.withdrawn, "the sum withdrawn"));
    MB_RETURN_IF_ERROR(AddTo(&t->unspent, d.unspent, "the sum unspent"));
  }
  return Status::Ok();
}

}  // namespace

}  // namespace rm

using namespace rm;

Result<DonorTrace> ReadModels::Donor(const std::string& donor) const {
  return Guard([&]() -> Result<DonorTrace> {
    DonorTrace t;
    t.donor = donor;
    MB_ASSIGN_OR_RETURN(t.kind, kv_.Get("dk/" + K(donor)));
    if (t.kind.empty()) return Status::NotFound("donor '" + donor + "' is not registered in this ledger");
    MB_ASSIGN_OR_RETURN(std::string name, kv_.Get("d/" + K(donor)));
    MB_ASSIGN_OR_RETURN(std::string erased, kv_.Get("x/" + K(donor)));
    t.display_name = !erased.empty() ? "erased" : name.empty() ? "anonymous" : name;
    std::map<uint64_t, size_t> index;
    MB_RETURN_IF_ERROR(kv_.Scan("dn/" + K(donor) + "/", "", [&](std::string_view key, std::string_view value) {
      json j = json::parse(value);
      TraceDonation d;
      d.seq = KeySeq(key);
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
      uint64_t donation = KeySeq(key, 21);
      json j = json::parse(value);
      TraceUse u;
      u.seq = KeySeq(key);
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
    MB_RETURN_IF_ERROR(SumTrace(&t).WithContext("donor '" + donor + "'"));
    return t;
  });
}

}  // namespace minhbach
