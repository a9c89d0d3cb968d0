#include "minhbach/projections.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <capnp/schema.h>

#include <nlohmann/json.hpp>

#include "minhbach/domain.h"

namespace minhbach {
namespace {

using nlohmann::json;
using P = schema::Entry::Payload;

constexpr const char* kFormatKey = "format";
constexpr const char* kFormat = "minhbach-projections-2";  // 2: sponsorship schedules
constexpr const char* kPositionKey = "pos";
constexpr uint64_t kFlushEveryEntries = 65536;  // bounds the dirty-record cache during long catch-ups

std::string S(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }

std::string Seq20(uint64_t seq) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%020llu", static_cast<unsigned long long>(seq));
  return buf;
}

// snake_case name of an enumerant ("sponsorshipInstalment" -> "sponsorship_instalment").
template <typename E>
std::string EnumName(uint16_t value) {
  auto enumerants = capnp::Schema::from<E>().getEnumerants();
  if (value >= enumerants.size()) return std::to_string(value);
  std::string out;
  for (char c : std::string(enumerants[value].getProto().getName().cStr())) {
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

std::string BE64(uint64_t v) {
  std::string k(8, '\0');
  for (int i = 0; i < 8; ++i) k[i] = static_cast<char>(v >> (56 - 8 * i));
  return k;
}

uint64_t FromBE64(std::string_view b) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(b[i]);
  return v;
}

// JSON string literal of clean UTF-8 text (the log holds no other): quotes, backslashes and control
// characters escaped, everything else copied. Hand-written because nlohmann's object building cost ~15 us per
// history row, most of a rebuild; the records are read back with nlohmann.
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

}  // namespace

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

class Projections::Impl {
 public:
  std::string dir;
  std::shared_ptr<spdlog::logger> log;
  std::function<void(uint64_t, uint64_t)> progress;
  std::unique_ptr<rocksdb::DB> db;
  uint64_t pos = 0;
  Hash pos_leaf{};
  std::map<std::string, std::string> dirty;  // records changed since the last flush ("" = delete)
  std::map<std::string, BalanceRow> balances;  // balance rows read or changed (few: one per sub-account)
  std::set<std::string> dirty_balances;
  Sha256 sha;

  Status OpenDb();
  Result<std::string> Get(const std::string& key) const;  // "" when absent
  void Put(const std::string& key, std::string value) { dirty[key] = std::move(value); }
  Status Flush();
  Status Apply(const Ledger& ledger, uint64_t seq, std::string_view bytes);
  Status ApplyUnchecked(const Ledger& ledger, uint64_t seq, std::string_view bytes);
  Status Balance(const std::string& fund, const std::string& sub, Amount BalanceRow::*field, Amount delta,
                 Amount balance_delta);
  Status AddRow(const std::string& child, const HistoryRow& row);
  Status MoneyEffect(P::Reader p, int sign);
  Status ScheduleEffect(P::Reader p, int sign);
  Status HistoryEffect(uint64_t seq, const HistoryRow& base, P::Reader p);
  Status CatchUp(const Ledger& ledger);
  Status Wipe();
};

Status Projections::Impl::OpenDb() {
  rocksdb::Options o;
  o.create_if_missing = true;
  o.paranoid_checks = true;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(o, dir, &raw);
  if (!s.ok()) {
    if (s.ToString().find("lock") != std::string::npos) {
      return Status::IOError("read models in " + dir + " are in use by another process: " + s.ToString());
    }
    return Status::IOError("opening read models " + dir + ": " + s.ToString());
  }
  db.reset(raw);
  return Status::Ok();
}

Result<std::string> Projections::Impl::Get(const std::string& key) const {
  auto it = dirty.find(key);
  if (it != dirty.end()) return it->second;
  std::string v;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), key, &v);
  if (s.IsNotFound()) return std::string();
  if (!s.ok()) return Status::IOError("reading read model record " + key + ": " + s.ToString());
  return v;
}

std::string BalanceText(const BalanceRow& r) {
  return "{\"allocated_in\":" + std::to_string(r.allocated_in) + ",\"allocated_out\":" + std::to_string(r.allocated_out) +
         ",\"balance\":" + std::to_string(r.balance) + ",\"disbursed\":" + std::to_string(r.disbursed) +
         ",\"expensed\":" + std::to_string(r.expensed) + ",\"received\":" + std::to_string(r.received) + "}";
}

Status Projections::Impl::Flush() {
  for (const std::string& key : dirty_balances) dirty[key] = BalanceText(balances.at(key));
  dirty_balances.clear();
  rocksdb::WriteBatch wb;
  for (auto& [k, v] : dirty) {
    if (v.empty()) wb.Delete(k);
    else wb.Put(k, v);
  }
  wb.Put(kPositionKey, BE64(pos) + std::string(AsView(pos_leaf)));
  wb.Put(kFormatKey, kFormat);
  rocksdb::Status s = db->Write(rocksdb::WriteOptions(), &wb);
  if (!s.ok()) return Status::IOError("writing read models: " + s.ToString());
  dirty.clear();
  return Status::Ok();
}

Status Projections::Impl::Balance(const std::string& fund, const std::string& sub, Amount BalanceRow::*field,
                                  Amount delta, Amount balance_delta) {
  const std::string key = "b/" + fund + "/" + sub;
  auto it = balances.find(key);
  if (it == balances.end()) {
    MB_ASSIGN_OR_RETURN(std::string v, Get(key));
    BalanceRow r{fund, sub};
    if (!v.empty()) {
      json j = json::parse(v);
      r.received = j.at("received");
      r.allocated_in = j.at("allocated_in");
      r.allocated_out = j.at("allocated_out");
      r.disbursed = j.at("disbursed");
      r.expensed = j.at("expensed");
      r.balance = j.at("balance");
    }
    it = balances.emplace(key, std::move(r)).first;
  }
  BalanceRow& r = it->second;
  MB_ASSIGN_OR_RETURN(r.*field, CheckedAdd(r.*field, delta));
  MB_ASSIGN_OR_RETURN(r.balance, CheckedAdd(r.balance, balance_delta));
  dirty_balances.insert(key);
  return Status::Ok();
}

Status Projections::Impl::AddRow(const std::string& child, const HistoryRow& row) {
  Put("h/" + child + "/" + Seq20(row.seq), RowText(row));
  Put("x/" + Seq20(row.seq), child);  // which child's history holds entry seq (for reversals)
  return Status::Ok();
}

// Cash effects on fund balances; sign -1 undoes them (a reversal).
Status Projections::Impl::MoneyEffect(P::Reader p, int sign) {
  switch (p.which()) {
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
      std::string id = e.getPaidFrom() == schema::Restriction::PROGRAMME ? S(e.getProgramme()) : S(e.getChild());
      Amount a = sign * e.getAmount();
      return Balance(S(e.getFund()), SubAccount(e.getPaidFrom(), id), &BalanceRow::disbursed, a, -a);
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

// Sponsorship schedules ("sp/<id>"): the agreement, its amount steps, its end, and the months paid.
Status Projections::Impl::ScheduleEffect(P::Reader p, int sign) {
  auto load = [&](const std::string& id) -> Result<json> {
    MB_ASSIGN_OR_RETURN(std::string v, Get("sp/" + id));
    if (v.empty()) return Status::Corruption("read model has no schedule for sponsorship '" + id + "'");
    return json::parse(v);
  };
  switch (p.which()) {
    case P::SPONSORSHIP_AGREED: {
      auto e = p.getSponsorshipAgreed();
      std::string last = S(e.getLastMonth());
      if (last.empty()) {  // the month the child turns 18
        MB_ASSIGN_OR_RETURN(std::string birth, Get("c/" + S(e.getChild())));
        MB_ASSIGN_OR_RETURN(int32_t b, ParseMonth(birth));
        last = FormatMonth(b + 18 * 12);
      }
      MB_ASSIGN_OR_RETURN(std::string sponsor, Get("d/" + S(e.getSponsor())));
      json j = {{"child", S(e.getChild())}, {"sponsor", sponsor.empty() ? "anonymous" : sponsor}, {"fund", S(e.getFund())},
                {"first", S(e.getFirstMonth())}, {"last", last}, {"ended", false},
                {"monthly", {{S(e.getFirstMonth()), e.getMonthlyAmount()}}}, {"paid", json::array()}};
      Put("sp/" + S(e.getSponsorship()), JsonText(j));
      return Status::Ok();
    }
    case P::SPONSORSHIP_AMENDED: {
      auto e = p.getSponsorshipAmended();
      MB_ASSIGN_OR_RETURN(json j, load(S(e.getSponsorship())));
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
      Put("sp/" + S(e.getSponsorship()), JsonText(j));
      return Status::Ok();
    }
    case P::SPONSORSHIP_ENDED: {
      auto e = p.getSponsorshipEnded();
      MB_ASSIGN_OR_RETURN(json j, load(S(e.getSponsorship())));
      j["ended"] = true;
      j["last"] = S(e.getLastMonth());
      Put("sp/" + S(e.getSponsorship()), JsonText(j));
      return Status::Ok();
    }
    case P::DISBURSEMENT: {
      auto e = p.getDisbursement();
      if (e.getKind() != schema::DisbursementKind::SPONSORSHIP_INSTALMENT) return Status::Ok();
      MB_ASSIGN_OR_RETURN(json j, load(S(e.getSponsorship())));
      std::set<std::string> paid = j["paid"].get<std::set<std::string>>();
      if (sign > 0) paid.insert(S(e.getMonth()));
      else paid.erase(S(e.getMonth()));
      j["paid"] = paid;
      Put("sp/" + S(e.getSponsorship()), JsonText(j));
      return Status::Ok();
    }
    default:
      return Status::Ok();
  }
}

// The child-history row an entry adds, if it concerns a child.
Status Projections::Impl::HistoryEffect(uint64_t seq, const HistoryRow& base, P::Reader p) {
  HistoryRow row = base;
  auto donor_name = [&](const std::string& id) -> Result<std::string> {
    MB_ASSIGN_OR_RETURN(std::string v, Get("d/" + id));
    return v.empty() ? std::string("anonymous") : v;
  };
  switch (p.which()) {
    case P::DONOR_REGISTERED: {
      auto e = p.getDonorRegistered();
      Put("d/" + S(e.getDonor()), e.hasDisplayName() ? S(e.getDisplayName()) : "");
      return Status::Ok();
    }
    case P::CHILD_REGISTERED: {
      auto e = p.getChildRegistered();
      Put("c/" + S(e.getChild()), S(e.getBirthMonth()));
      return AddRow(S(e.getChild()), row);
    }
    case P::DONATION_RECEIVED: {
      auto e = p.getDonationReceived();
      if (e.getRestriction() != schema::Restriction::CHILD) return Status::Ok();
      row.fund = S(e.getFund());
      MB_ASSIGN_OR_RETURN(row.from, donor_name(S(e.getDonor())));
      if (e.isCash()) {
        row.kind = "cash";
        row.amount = e.getCash().getAmount();
      } else {
        row.kind = "in_kind";
        row.item = S(e.getInKind().getItem());
        row.quantity = e.getInKind().getQuantity();
      }
      return AddRow(S(e.getRestrictedTo()), row);
    }
    case P::SPONSORSHIP_AGREED: {
      auto e = p.getSponsorshipAgreed();
      Put("s/" + S(e.getSponsorship()), S(e.getChild()));
      row.fund = S(e.getFund());
      row.sponsorship = S(e.getSponsorship());
      row.month = S(e.getFirstMonth());
      row.amount = e.getMonthlyAmount();
      MB_ASSIGN_OR_RETURN(row.from, donor_name(S(e.getSponsor())));
      return AddRow(S(e.getChild()), row);
    }
    case P::SPONSORSHIP_AMENDED:
    case P::SPONSORSHIP_ENDED: {
      std::string id = p.isSponsorshipAmended() ? S(p.getSponsorshipAmended().getSponsorship())
                                                 : S(p.getSponsorshipEnded().getSponsorship());
      MB_ASSIGN_OR_RETURN(std::string child, Get("s/" + id));
      row.sponsorship = id;
      if (p.isSponsorshipAmended()) {
        row.month = S(p.getSponsorshipAmended().getEffectiveMonth());
        row.amount = p.getSponsorshipAmended().getMonthlyAmount();
      } else {
        row.month = S(p.getSponsorshipEnded().getLastMonth());
      }
      return child.empty() ? Status::Ok() : AddRow(child, row);
    }
    case P::ENTITLEMENT_DETERMINED: {
      auto e = p.getEntitlementDetermined();
      row.kind = S(e.getTable()) + " x" + std::to_string(e.getCoefficientMilli()) + "/1000";
      row.month = S(e.getFromMonth());
      return AddRow(S(e.getChild()), row);
    }
    case P::DISBURSEMENT: {
      auto e = p.getDisbursement();
      row.kind = EnumName<schema::DisbursementKind>(static_cast<uint16_t>(e.getKind()));
      row.fund = S(e.getFund());
      row.programme = S(e.getProgramme());
      row.sponsorship = S(e.getSponsorship());
      row.month = S(e.getMonth());
      row.amount = e.getAmount();
      row.item = S(e.getItem());
      row.quantity = e.getQuantity();
      return AddRow(S(e.getChild()), row);
    }
    default:
      return Status::Ok();
  }
}

Status Projections::Impl::Apply(const Ledger& ledger, uint64_t seq, std::string_view bytes) {
  // Stored read-model records are JSON this code wrote; one that does not parse means the read models are
  // damaged: Corruption, and the caller rebuilds them.
  try {
    return ApplyUnchecked(ledger, seq, bytes);
  } catch (const json::exception& e) {
    return Status::Corruption(std::string("read model record is damaged: ") + e.what());
  }
}

Status Projections::Impl::ApplyUnchecked(const Ledger& ledger, uint64_t seq, std::string_view bytes) {
  MB_ASSIGN_OR_RETURN(EntryReader reader, EntryReader::Open(bytes));
  auto root = reader.root();
  P::Reader p = root.getPayload();
  HistoryRow base;
  base.seq = seq;
  base.recorded_at = FormatTimestamp(root.getRecordedAtMicros(), root.getTzOffsetMinutes());
  base.type = PayloadTypeName(p);
  Hash leaf = sha.Leaf(bytes);
  base.leaf_hash = Base64Encode(leaf);
  if (p.isReversal()) {
    uint64_t target = p.getReversal().getSeq();
    MB_ASSIGN_OR_RETURN(std::string old_bytes, ledger.GetEntry(target));
    MB_ASSIGN_OR_RETURN(EntryReader old, EntryReader::Open(old_bytes));
    MB_RETURN_IF_ERROR(MoneyEffect(old.payload(), -1));
    MB_RETURN_IF_ERROR(ScheduleEffect(old.payload(), -1));
    MB_ASSIGN_OR_RETURN(std::string child, Get("x/" + Seq20(target)));
    if (!child.empty()) {
      const std::string key = "h/" + child + "/" + Seq20(target);
      MB_ASSIGN_OR_RETURN(std::string v, Get(key));
      HistoryRow orig = RowFromJson(json::parse(v));
      orig.reversed_by = seq;
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
      row.from = S(p.getReversal().getReason());
      MB_RETURN_IF_ERROR(AddRow(child, row));
    }
  } else {
    MB_RETURN_IF_ERROR(MoneyEffect(p, +1));
    MB_RETURN_IF_ERROR(ScheduleEffect(p, +1));
    MB_RETURN_IF_ERROR(HistoryEffect(seq, base, p));
  }
  pos = seq + 1;
  pos_leaf = leaf;
  return Status::Ok();
}

Status Projections::Impl::CatchUp(const Ledger& ledger) {
  const uint64_t total = ledger.size();
  if (pos >= total) return Status::Ok();
  Status inner;
  uint64_t since_flush = 0;
  using Clock = std::chrono::steady_clock;
  Clock::duration in_apply{}, in_flush{};
  const auto t0 = Clock::now();
  Status s = ledger.ScanEntries(pos, total - pos, [&](uint64_t seq, std::string_view bytes) {
    auto a0 = Clock::now();
    inner = Apply(ledger, seq, bytes).WithContext("read models, entry " + std::to_string(seq));
    in_apply += Clock::now() - a0;
    if (!inner.ok()) return false;
    if (++since_flush == kFlushEveryEntries) {
      since_flush = 0;
      auto f0 = Clock::now();
      inner = Flush();
      in_flush += Clock::now() - f0;
      if (!inner.ok()) return false;
    }
    if (progress && (seq & 0xFFFF) == 0xFFFF) progress(seq + 1, total);
    return true;
  });
  MB_RETURN_IF_ERROR(inner);
  MB_RETURN_IF_ERROR(s);
  if (progress) progress(total, total);
  auto f0 = Clock::now();
  Status flushed = Flush();
  in_flush += Clock::now() - f0;
  auto ms = [](Clock::duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
  log->debug("read models caught up to {}: {} ms in all, {} ms applying, {} ms writing", total,
             ms(Clock::now() - t0), ms(in_apply), ms(in_flush));
  return flushed;
}

Status Projections::Impl::Wipe() {
  db.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (ec) return Status::IOError("removing read models " + dir + ": " + ec.message());
  pos = 0;
  pos_leaf = Hash{};
  dirty.clear();
  balances.clear();
  dirty_balances.clear();
  return OpenDb();
}

Projections::Projections(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Projections::~Projections() = default;

Result<std::unique_ptr<Projections>> Projections::Open(const Ledger& ledger, const std::string& dir,
                                                       std::shared_ptr<spdlog::logger> log,
                                                       std::function<void(uint64_t, uint64_t)> progress) {
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->log = std::move(log);
  impl->progress = std::move(progress);
  MB_RETURN_IF_ERROR(impl->OpenDb());
  // Trust the stored position only when it names an entry of this very log; otherwise rebuild.
  bool usable = false;
  std::string format, pos;
  if (impl->db->Get(rocksdb::ReadOptions(), kFormatKey, &format).ok() && format == kFormat &&
      impl->db->Get(rocksdb::ReadOptions(), kPositionKey, &pos).ok() && pos.size() == 8 + kHashSize) {
    uint64_t p = FromBE64(pos);
    Hash leaf = HashFromBytes(pos.data() + 8);
    if (p == 0) {
      usable = leaf == Hash{};
    } else if (p <= ledger.size()) {
      auto want = ledger.LeafHash(p - 1);
      usable = want.ok() && *want == leaf;
    }
    if (usable) {
      impl->pos = p;
      impl->pos_leaf = leaf;
    }
  }
  if (!usable) {
    impl->log->info("read models in {} are missing or do not match the log: rebuilding", dir);
    MB_RETURN_IF_ERROR(impl->Wipe());
  }
  Status s = impl->CatchUp(ledger);
  if (s.IsCorruption() && s.message().find("read model record is damaged") != std::string::npos) {
    // A record that cannot be read back: never trusted, rebuilt.
    impl->log->warn("read models could not be caught up ({}): rebuilding", s.ToString());
    MB_RETURN_IF_ERROR(impl->Wipe());
    s = impl->CatchUp(ledger);
  }
  MB_RETURN_IF_ERROR(s);
  impl->progress = nullptr;  // the caller's callback may not outlive this call
  return std::unique_ptr<Projections>(new Projections(std::move(impl)));
}

Status Projections::CatchUp(const Ledger& ledger) { return impl_->CatchUp(ledger); }

Status Projections::Rebuild(const Ledger& ledger, std::function<void(uint64_t, uint64_t)> progress) {
  impl_->progress = std::move(progress);
  Status s = impl_->Wipe();
  if (s.ok()) s = impl_->CatchUp(ledger);
  impl_->progress = nullptr;
  return s;
}

uint64_t Projections::position() const { return impl_->pos; }

Result<std::vector<BalanceRow>> Projections::Balances(const std::string& fund) const {
  try {
    return BalancesUnchecked(fund);
  } catch (const json::exception& e) {
    return Status::Corruption(std::string("read model record is damaged (run `minhbach rebuild`): ") + e.what());
  }
}

Result<std::vector<HistoryRow>> Projections::ChildHistory(const std::string& child) const {
  try {
    return ChildHistoryUnchecked(child);
  } catch (const json::exception& e) {
    return Status::Corruption(std::string("read model record is damaged (run `minhbach rebuild`): ") + e.what());
  }
}

Result<std::vector<BalanceRow>> Projections::BalancesUnchecked(const std::string& fund) const {
  std::vector<BalanceRow> out;
  const std::string prefix = fund.empty() ? "b/" : "b/" + fund + "/";
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    std::string key = it->key().ToString();
    size_t slash = key.find('/', 2);
    BalanceRow r{key.substr(2, slash - 2), key.substr(slash + 1)};
    json j = json::parse(it->value().ToString());
    r.received = j.at("received");
    r.allocated_in = j.at("allocated_in");
    r.allocated_out = j.at("allocated_out");
    r.disbursed = j.at("disbursed");
    r.expensed = j.at("expensed");
    r.balance = j.at("balance");
    out.push_back(std::move(r));
  }
  if (!it->status().ok()) return Status::IOError("reading balances: " + it->status().ToString());
  if (!fund.empty() && out.empty()) {
    return Status::NotFound("fund '" + fund + "' has no recorded money (unknown fund id?)");
  }
  return out;
}

Result<std::vector<HistoryRow>> Projections::ChildHistoryUnchecked(const std::string& child) const {
  MB_ASSIGN_OR_RETURN(std::string registered, impl_->Get("c/" + child));
  if (registered.empty()) return Status::NotFound("child '" + child + "' is not registered in this ledger");
  std::vector<HistoryRow> out;
  const std::string prefix = "h/" + child + "/";
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    out.push_back(RowFromJson(json::parse(it->value().ToString())));
  }
  if (!it->status().ok()) return Status::IOError("reading child history: " + it->status().ToString());
  return out;
}

Result<std::vector<SponsorshipRow>> Projections::Sponsorships(const std::string& child, const std::string& as_of) const {
  try {
    return SponsorshipsUnchecked(child, as_of);
  } catch (const json::exception& e) {
    return Status::Corruption(std::string("read model record is damaged (run `minhbach rebuild`): ") + e.what());
  }
}

Result<std::vector<SponsorshipRow>> Projections::SponsorshipsUnchecked(const std::string& child,
                                                                       const std::string& as_of) const {
  MB_ASSIGN_OR_RETURN(int32_t asof, ParseMonth(as_of));
  std::vector<SponsorshipRow> out;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek("sp/"); it->Valid() && it->key().starts_with("sp/"); it->Next()) {
    json j = json::parse(it->value().ToString());
    if (!child.empty() && j.at("child") != child) continue;
    SponsorshipRow r;
    r.id = it->key().ToString().substr(3);
    r.child = j.at("child");
    r.sponsor = j.at("sponsor");
    r.fund = j.at("fund");
    r.first_month = j.at("first");
    r.last_month = j.at("last");
    r.ended = j.at("ended");
    std::map<int32_t, Amount> steps;
    for (auto s = j.at("monthly").begin(); s != j.at("monthly").end(); ++s) steps[*ParseMonth(s.key())] = s.value().get<Amount>();
    auto monthly_at = [&](int32_t m) {
      auto u = steps.upper_bound(m);
      return u == steps.begin() ? Amount{0} : std::prev(u)->second;
    };
    std::set<std::string> paid = j.at("paid").get<std::set<std::string>>();
    const int32_t first = *ParseMonth(r.first_month), last = *ParseMonth(r.last_month);
    for (int32_t m = first; m <= last; ++m) {
      if (m <= asof) {
        ++r.months_due;
        if (paid.count(FormatMonth(m))) {
          ++r.months_paid;
        } else {
          r.missing.push_back(FormatMonth(m));
          MB_ASSIGN_OR_RETURN(r.owed, CheckedAdd(r.owed, monthly_at(m)));
        }
      } else {
        MB_ASSIGN_OR_RETURN(r.committed, CheckedAdd(r.committed, monthly_at(m)));
      }
    }
    out.push_back(std::move(r));
  }
  if (!it->status().ok()) return Status::IOError("reading sponsorships: " + it->status().ToString());
  if (!child.empty() && out.empty()) return Status::NotFound("child '" + child + "' has no sponsorship");
  return out;
}

std::map<std::string, std::string> Projections::Dump() const {
  std::map<std::string, std::string> out;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) out[it->key().ToString()] = it->value().ToString();
  return out;
}

}  // namespace minhbach
