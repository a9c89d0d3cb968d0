// Internal to projections/: what every read model shares. Each read model lives in its own folder
// (projections/<model>/) and implements Model: apply one entry, undo one for a reversal, write its cached
// records. ReadModels (read_models.h) runs them in order over one Kv and keeps the log position.
#pragma once

#include <capnp/schema.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "minhbach/domain.h"
#include "minhbach/entry.h"
#include "minhbach/money.h"
#include "minhbach/read_models.h"
#include "minhbach/text.h"

namespace minhbach::rm {

using nlohmann::json;
using P = schema::Entry::Payload;

inline std::string S(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }

// *sum += x, or InvalidArgument naming `what` when the sum would pass 2^63-1 VND: a read model's total is
// refused, never wrapped into a negative number.
inline Status AddTo(Amount* sum, Amount x, const std::string& what) {
  auto r = CheckedAdd(*sum, x);
  if (!r.ok()) return r.status().WithContext(what);
  *sum = *r;
  return Status::Ok();
}

inline std::string Seq20(uint64_t seq) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%020llu", static_cast<unsigned long long>(seq));
  return buf;
}

// The 20-digit sequence number ending `from_end` characters before the end of a key (Seq20's inverse).
inline uint64_t KeySeq(std::string_view key, size_t from_end = 0) {
  return std::stoull(std::string(key.substr(key.size() - from_end - 20, 20)));
}

// An id as a key component: '%' and '/' escaped, so "/" always separates components.
inline std::string K(std::string_view id) {
  std::string out;
  out.reserve(id.size());
  for (char c : id) {
    if (c == '%') out += "%25";
    else if (c == '/') out += "%2F";
    else out.push_back(c);
  }
  return out;
}

inline std::string UnK(std::string_view k) {
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
inline std::string EnumName(E value) {
  auto enumerants = capnp::Schema::from<E>().getEnumerants();
  uint16_t v = static_cast<uint16_t>(value);
  if (v >= enumerants.size()) return std::to_string(v);
  return SnakeCase(enumerants[v].getProto().getName().cStr());
}

inline std::string JsonText(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// JSON string literal of clean UTF-8 text (the log holds no other). Hand-written because nlohmann's object
// building cost ~15 us per history row, most of a rebuild; the records are read back with nlohmann.
inline void AppendJsonString(std::string& out, std::string_view s) {
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


inline std::string NormalizeRef(std::string_view ref) {
  std::string out;
  for (char c : ref) {
    if (c == ' ' || c == '\t') continue;
    out.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
  }
  return out;
}

inline int64_t ToInt(const std::string& v) { return v.empty() ? 0 : std::stoll(v); }

// The sub-account a disbursement is paid from.
inline std::string DisbursementSub(schema::Disbursement::Reader e) {
  std::string id = e.getPaidFrom() == schema::Restriction::PROGRAMME ? S(e.getProgramme()) : S(e.getChild());
  return SubAccount(e.getPaidFrom(), id);
}

// Runs a query, turning a record that does not parse into Corruption.
template <typename F>
auto Guard(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("read model record is damaged (run `minhbach rebuild`): ") + e.what());
  }
}

// One entry as the read models see it (not a reversal).
struct Event {
  uint64_t seq;
  P::Reader p;
  const HistoryRow& base;  // seq, recording time, type, leaf hash
  std::string date, month; // recording day and month, local to the entry
};

// A reversal, and the entry it reverses.
struct Reversal {
  const Event& entry;      // the reversal itself
  uint64_t target;
  P::Reader old;           // the reversed entry's payload
  std::string old_month;   // the reversed entry's recording month
  std::string reason;
};

class Model {
 public:
  explicit Model(Kv& kv) : kv_(kv) {}
  virtual ~Model() = default;
  virtual Status Apply(const Event& e) = 0;
  virtual Status Reverse(const Reversal& r) = 0;
  // Writes records cached in memory to the Kv.
  virtual Status Sync() { return Status::Ok(); }

 protected:
  Result<std::string> Get(const std::string& key) const { return kv_.Get(key); }
  void Put(const std::string& key, std::string value) { kv_.Put(key, std::move(value)); }
  // A donor's public display name, or "anonymous" (from the registry).
  Result<std::string> DonorName(const std::string& id) const {
    MB_ASSIGN_OR_RETURN(std::string v, Get("d/" + K(id)));
    return v.empty() ? std::string("anonymous") : v;
  }
  Kv& kv_;
};

// The read models, in the order they run (registry first: the others read its records).
std::unique_ptr<Model> MakeRegistry(Kv& kv);    // projections/registry: donors, children, sponsorships, funds
std::unique_ptr<Model> MakeBalances(Kv& kv);    // projections/balances
std::unique_ptr<Model> MakeSchedules(Kv& kv);   // projections/schedules
std::unique_ptr<Model> MakeProgrammes(Kv& kv);  // projections/programmes
std::unique_ptr<Model> MakeHistory(Kv& kv);     // projections/history
std::unique_ptr<Model> MakeTrace(Kv& kv);       // projections/trace
std::unique_ptr<Model> MakeStatements(Kv& kv);  // projections/statements

}  // namespace minhbach::rm
