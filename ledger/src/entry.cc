#include "minhbach/entry.h"

#include <capnp/any.h>
#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <chrono>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "entry.capnp.h"
#include "minhbach/text.h"

namespace minhbach {
namespace {

using nlohmann::json;

constexpr size_t kFirstSegmentWords = 128;  // a typical entry is ~30 words: one allocation
// Reading untrusted bytes: an entry is a handful of small objects; these bounds stop amplification.
constexpr uint64_t kTraversalLimitWords = kEntryBytesMax / 8 * 4;
constexpr int kNestingLimit = 8;

std::string_view View(capnp::Text::Reader t) { return std::string_view(t.cStr(), t.size()); }
capnp::Data::Reader DataOf(const Hash& h) { return capnp::Data::Reader(h.data(), h.size()); }

void FillPayload(schema::Entry::Builder root, const Payload& payload) {
  std::visit(
      [&](const auto& p) {
        using T = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<T, NoteEvent>) {
          auto n = root.getPayload().initNote();
          n.setSubject(p.subject);
          n.setAmount(p.amount);
          if (!p.memo.empty()) n.setMemo(p.memo);
        } else {
          auto r = root.getPayload().initReversal();
          r.setSeq(p.seq);
          r.setReason(p.reason);
        }
      },
      payload);
}

void Canonical(capnp::MallocMessageBuilder& msg, std::string* out) {
  kj::Array<capnp::word> words = capnp::canonicalize(msg.getRoot<schema::Entry>().asReader());
  kj::ArrayPtr<const kj::byte> bytes = words.asBytes();
  out->assign(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

std::string TypeName(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "boolean";
    case json::value_t::string: return "string";
    case json::value_t::number_float: return "a number with a fraction or exponent";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "integer";
    case json::value_t::object: return "object";
    case json::value_t::array: return "array";
    default: return "invalid value";
  }
}

struct LineError {
  size_t line;
  Status Field(const std::string& field, const std::string& expected, const json& got) const {
    std::string shown = got.dump();
    if (shown.size() > 40) shown = shown.substr(0, 37) + "...";
    return Status::InvalidArgument("line " + std::to_string(line) + ": field '" + field + "': expected " + expected +
                                   ", got " + TypeName(got) + " " + shown);
  }
  Status Msg(const std::string& m) const { return Status::InvalidArgument("line " + std::to_string(line) + ": " + m); }
};

Status CheckKeys(const LineError& err, const json& obj, const std::string& prefix,
                 std::initializer_list<std::string_view> allowed) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool ok = false;
    for (std::string_view a : allowed) ok = ok || it.key() == a;
    if (!ok) {
      std::string list;
      for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      return err.Msg("unknown field '" + prefix + it.key() + "' (allowed: " + list + ")");
    }
  }
  return Status::Ok();
}

Status GetText(const LineError& err, const json& obj, const std::string& prefix, const char* key, bool required,
               size_t max_bytes, bool allow_newline, std::string* out) {
  auto it = obj.find(key);
  if (it == obj.end()) {
    if (required) return err.Msg("missing field '" + prefix + key + "'");
    return Status::Ok();
  }
  if (!it->is_string()) return err.Field(prefix + key, "a string", *it);
  const std::string& s = it->get_ref<const std::string&>();
  if (required && s.empty()) return err.Msg("field '" + prefix + key + "': must not be empty");
  if (s.size() > max_bytes) {
    return err.Msg("field '" + prefix + key + "': " + std::to_string(s.size()) + " bytes, at most " +
                   std::to_string(max_bytes) + " allowed");
  }
  if (!IsCleanUtf8(s, allow_newline)) {
    return err.Msg("field '" + prefix + key + "': must be UTF-8 text without control characters");
  }
  *out = s;
  return Status::Ok();
}

Status GetAmount(const LineError& err, const json& obj, const std::string& prefix, const char* key, int64_t* out) {
  auto it = obj.find(key);
  if (it == obj.end()) return err.Msg("missing field '" + prefix + key + "'");
  const std::string expected = "a non-negative integer amount in minor units (e.g. 2000000)";
  if (it->is_number_unsigned()) {
    uint64_t v = it->get<uint64_t>();
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return err.Msg("field '" + prefix + key + "': " + std::to_string(v) + " exceeds the 64-bit signed range");
    }
    *out = static_cast<int64_t>(v);
    return Status::Ok();
  }
  if (it->is_number_integer()) return err.Field(prefix + key, expected, *it);  // negative
  return err.Field(prefix + key, expected, *it);
}

// The rules shared by input validation (InvalidArgument) and decoding of stored entries (Corruption).
bool IsPrintableAscii(std::string_view k) {
  for (unsigned char c : k) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}
bool IsTzOffset(int minutes) { return minutes >= -18 * 60 && minutes <= 18 * 60; }

Status ValidateIdempotencyKey(std::string_view k, const std::string& where) {
  if (k.empty() || k.size() > kIdempotencyKeyBytesMax) {
    return Status::InvalidArgument(where + "idempotency key must be 1.." + std::to_string(kIdempotencyKeyBytesMax) +
                                   " bytes, got " + std::to_string(k.size()));
  }
  if (!IsPrintableAscii(k)) return Status::InvalidArgument(where + "idempotency key must be printable ASCII without spaces");
  return Status::Ok();
}

}  // namespace

std::string_view PayloadType(const Payload& p) {
  return std::visit(
      [](const auto& v) -> std::string_view {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, NoteEvent>) return "note";
        else return "reversal";
      },
      p);
}

Status ValidateContext(const AppendContext& ctx) {
  if (ctx.actor.empty() || ctx.actor.size() > kActorBytesMax || !IsCleanUtf8(ctx.actor, false)) {
    return Status::InvalidArgument("actor must be 1.." + std::to_string(kActorBytesMax) + " bytes of clean UTF-8");
  }
  if (ctx.tz_name.empty() || ctx.tz_name.size() > kTzNameBytesMax || !IsCleanUtf8(ctx.tz_name, false)) {
    return Status::InvalidArgument("time zone name must be 1.." + std::to_string(kTzNameBytesMax) + " bytes");
  }
  if (!IsTzOffset(ctx.tz_offset_minutes)) {
    return Status::InvalidArgument("time zone offset must be within -18:00..+18:00");
  }
  return Status::Ok();
}

void EncodeEntryTo(uint64_t seq, const Hash& prev, int64_t recorded_at_micros, const AppendContext& ctx,
                   const EventDraft& draft, std::string* out) {
  // A zeroed scratch first segment: building an entry allocates nothing from the heap.
  capnp::word scratch[kFirstSegmentWords];
  std::memset(scratch, 0, sizeof scratch);
  capnp::MallocMessageBuilder msg(kj::arrayPtr(scratch, kFirstSegmentWords));
  auto root = msg.initRoot<schema::Entry>();
  root.setSeq(seq);
  root.setPrevHash(DataOf(prev));
  root.setRecordedAtMicros(recorded_at_micros);
  root.setTzOffsetMinutes(ctx.tz_offset_minutes);
  root.setTzName(ctx.tz_name);
  root.setActor(ctx.actor);
  root.setIdempotencyKey(draft.idempotency_key);
  FillPayload(root, draft.payload);
  Canonical(msg, out);
}

std::string EncodeEntry(const Entry& e) {
  AppendContext ctx{e.actor, e.tz_name, e.tz_offset_minutes};
  EventDraft d{e.idempotency_key, e.payload, 0};
  std::string out;
  EncodeEntryTo(e.seq, e.prev_hash, e.recorded_at_micros, ctx, d, &out);
  return out;
}

namespace {

// Runs `fn(root)` on a checked reader over `bytes`; converts Cap'n Proto exceptions to Corruption.
template <typename Fn>
Status WithReader(std::string_view bytes, Fn&& fn) {
  if (bytes.empty() || bytes.size() % 8 != 0) {
    return Status::Corruption("entry is " + std::to_string(bytes.size()) + " bytes, not a positive multiple of 8");
  }
  if (bytes.size() > kEntryBytesMax) {
    return Status::Corruption("entry is " + std::to_string(bytes.size()) + " bytes, limit " +
                              std::to_string(kEntryBytesMax));
  }
  // Copy into word-aligned memory: RocksDB values carry no alignment guarantee.
  thread_local std::vector<capnp::word> buf;
  buf.resize(bytes.size() / 8);
  std::memcpy(buf.data(), bytes.data(), bytes.size());
  capnp::ReaderOptions opts;
  opts.traversalLimitInWords = kTraversalLimitWords;
  opts.nestingLimit = kNestingLimit;
  Status result;
  kj::Maybe<kj::Exception> ex = kj::runCatchingExceptions([&]() {
    kj::ArrayPtr<const capnp::word> segs[1] = {kj::ArrayPtr<const capnp::word>(buf.data(), buf.size())};
    capnp::SegmentArrayMessageReader reader(kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>>(segs, 1), opts);
    if (!reader.isCanonical()) {
      result = Status::Corruption("entry bytes are not in Cap'n Proto canonical form");
      return;
    }
    result = fn(reader.getRoot<schema::Entry>());
  });
  KJ_IF_MAYBE(e, ex) {
    return Status::Corruption(std::string("entry does not decode: ") + e->getDescription().cStr());
  }
  return result;
}

}  // namespace

// Field rules that canonical form alone does not give: Cap'n Proto accepts a Text with embedded NULs or
// invalid UTF-8, which would decode to a different string than the bytes hold.
// Canonical form does not cover bits no field uses (struct padding) nor sections larger than the schema
// knows: both would let two byte strings decode to the same entry. Layout (capnp compile -ocapnp):
//   Entry:    24 data bytes (seq, recordedAtMicros, tzOffsetMinutes bits[128,144), union tag bits[144,160),
//             bytes 20..23 unused), 5 pointers
//   Note:     8 data bytes (amount), 2 pointers;  Reversal: 8 data bytes (seq), 1 pointer
template <typename Reader>
static Status CheckShape(Reader r, const char* name, size_t data_bytes, size_t pointers, size_t used_bytes) {
  capnp::AnyStruct::Reader any(r);
  auto data = any.getDataSection();
  if (data.size() > data_bytes || any.getPointerSection().size() > pointers) {
    return Status::Corruption(std::string(name) + " struct has fields this schema does not know");
  }
  for (size_t i = used_bytes; i < data.size(); ++i) {
    if (data[i] != 0) return Status::Corruption(std::string(name) + " struct has non-zero unused bits");
  }
  return Status::Ok();
}

static Status CheckFields(schema::Entry::Reader r) {
  MB_RETURN_IF_ERROR(CheckShape(r, "Entry", 24, 5, 20));
  auto text = [](capnp::Text::Reader t, const char* name, size_t max, bool nl) -> Status {
    if (t.size() > max || !IsCleanUtf8(View(t), nl)) {
      return Status::Corruption(std::string("field ") + name + " is not clean UTF-8 text of at most " +
                                std::to_string(max) + " bytes");
    }
    return Status::Ok();
  };
  // One meaning, one encoding: required texts are present and non-empty; the optional memo is absent
  // (null) rather than empty; the payload struct is present. Otherwise a null and an empty text, which
  // read the same, would be two byte strings for one entry.
  if (r.getTzName().size() == 0 || r.getActor().size() == 0 || r.getIdempotencyKey().size() == 0) {
    return Status::Corruption("a required envelope text (tzName, actor, idempotencyKey) is empty");
  }
  MB_RETURN_IF_ERROR(text(r.getTzName(), "tzName", kTzNameBytesMax, false));
  MB_RETURN_IF_ERROR(text(r.getActor(), "actor", kActorBytesMax, false));
  MB_RETURN_IF_ERROR(text(r.getIdempotencyKey(), "idempotencyKey", kIdempotencyKeyBytesMax, false));
  if (!IsPrintableAscii(View(r.getIdempotencyKey()))) return Status::Corruption("idempotencyKey is not printable ASCII");
  if (!IsTzOffset(r.getTzOffsetMinutes())) {
    return Status::Corruption("tzOffsetMinutes outside -18:00..+18:00");
  }
  auto payload = r.getPayload();
  switch (payload.which()) {
    case schema::Entry::Payload::NOTE: {
      if (!payload.hasNote()) return Status::Corruption("note payload is missing");
      auto n = payload.getNote();
      if (n.getSubject().size() == 0) return Status::Corruption("note.subject is empty");
      if (n.hasMemo() && n.getMemo().size() == 0) return Status::Corruption("note.memo is empty but present");
      MB_RETURN_IF_ERROR(CheckShape(n, "Note", 8, 2, 8));
      MB_RETURN_IF_ERROR(text(n.getSubject(), "note.subject", kSubjectBytesMax, false));
      MB_RETURN_IF_ERROR(text(n.getMemo(), "note.memo", kMemoBytesMax, true));
      if (n.getAmount() < 0) return Status::Corruption("field note.amount is negative");
      break;
    }
    case schema::Entry::Payload::REVERSAL:
      if (!payload.hasReversal()) return Status::Corruption("reversal payload is missing");
      if (payload.getReversal().getReason().size() == 0) return Status::Corruption("reversal.reason is empty");
      MB_RETURN_IF_ERROR(CheckShape(payload.getReversal(), "Reversal", 8, 1, 8));
      MB_RETURN_IF_ERROR(text(payload.getReversal().getReason(), "reversal.reason", kMemoBytesMax, true));
      if (payload.getReversal().getSeq() >= r.getSeq()) return Status::Corruption("reversal of a later entry");
      break;
    default:
      return Status::Corruption("unknown payload type " + std::to_string(static_cast<int>(payload.which())));
  }
  return Status::Ok();
}

Status CheckEntry(std::string_view bytes, EntryHead* head) {
  return WithReader(bytes, [&](schema::Entry::Reader r) -> Status {
    MB_RETURN_IF_ERROR(CheckFields(r));
    auto prev = r.getPrevHash();
    if (prev.size() != kHashSize) return Status::Corruption("prevHash is " + std::to_string(prev.size()) + " bytes");
    head->seq = r.getSeq();
    std::memcpy(head->prev_hash.data(), prev.begin(), kHashSize);
    head->idempotency_key.assign(View(r.getIdempotencyKey()));
    return Status::Ok();
  });
}

Result<Entry> DecodeEntry(std::string_view bytes) {
  Entry e;
  Status st = WithReader(bytes, [&](schema::Entry::Reader r) -> Status {
    MB_RETURN_IF_ERROR(CheckFields(r));
    auto prev = r.getPrevHash();
    if (prev.size() != kHashSize) return Status::Corruption("prevHash is " + std::to_string(prev.size()) + " bytes");
    e.seq = r.getSeq();
    std::memcpy(e.prev_hash.data(), prev.begin(), kHashSize);
    e.recorded_at_micros = r.getRecordedAtMicros();
    e.tz_offset_minutes = r.getTzOffsetMinutes();
    e.tz_name = std::string(View(r.getTzName()));
    e.actor = std::string(View(r.getActor()));
    e.idempotency_key = std::string(View(r.getIdempotencyKey()));
    auto payload = r.getPayload();
    switch (payload.which()) {
      case schema::Entry::Payload::NOTE: {
        auto n = payload.getNote();
        e.payload = NoteEvent{std::string(View(n.getSubject())), n.getAmount(), std::string(View(n.getMemo()))};
        break;
      }
      case schema::Entry::Payload::REVERSAL: {
        auto rv = payload.getReversal();
        e.payload = ReversalEvent{rv.getSeq(), std::string(View(rv.getReason()))};
        break;
      }
      default:
        return Status::Corruption("unknown payload type " + std::to_string(static_cast<int>(payload.which())));
    }
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return e;
}

std::string FormatTimestamp(int64_t micros, int16_t offset_minutes) {
  using namespace std::chrono;
  int64_t local = micros + int64_t{offset_minutes} * 60'000'000;
  sys_days day = floor<days>(sys_time<microseconds>(microseconds(local)));
  year_month_day ymd(day);
  int64_t in_day = local - duration_cast<microseconds>(day.time_since_epoch()).count();
  int64_t secs = in_day / 1'000'000, us = in_day % 1'000'000;
  int off = offset_minutes < 0 ? -offset_minutes : offset_minutes;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02lld:%02lld:%02lld.%06lld%c%02d:%02d", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<long long>(secs / 3600), static_cast<long long>(secs / 60 % 60),
                static_cast<long long>(secs % 60), static_cast<long long>(us), offset_minutes < 0 ? '-' : '+',
                off / 60, off % 60);
  return buf;
}

namespace {

json PayloadData(const Payload& p) {
  return std::visit(
      [](const auto& v) -> json {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, NoteEvent>) {
          json d = {{"subject", v.subject}, {"amount", v.amount}};
          if (!v.memo.empty()) d["memo"] = v.memo;
          return d;
        } else {
          return json{{"seq", v.seq}, {"reason", v.reason}};
        }
      },
      p);
}

}  // namespace

std::string EntryToJson(const Entry& e) {
  json j;
  j["seq"] = e.seq;
  j["prev_hash"] = Base64Encode(e.prev_hash);
  j["recorded_at"] = FormatTimestamp(e.recorded_at_micros, e.tz_offset_minutes);
  j["tz"] = e.tz_name;
  j["actor"] = e.actor;
  j["type"] = std::string(PayloadType(e.payload));
  j["idempotency_key"] = e.idempotency_key;
  j["data"] = PayloadData(e.payload);
  return j.dump();
}

std::string DraftToJsonLine(const EventDraft& d) {
  json j;
  j["type"] = std::string(PayloadType(d.payload));
  j["idempotency_key"] = d.idempotency_key;
  j["data"] = PayloadData(d.payload);
  return j.dump();
}

Result<EventDraft> ParseJsonLine(std::string_view line, size_t line_no) {
  LineError err{line_no};
  if (line.size() > kJsonLineBytesMax) {
    return err.Msg(std::to_string(line.size()) + " bytes, a line may have at most " +
                   std::to_string(kJsonLineBytesMax));
  }
  // Duplicate keys are rejected: {"amount":1,"amount":2} has no single meaning.
  std::vector<std::set<std::string>> seen;
  std::string dup;
  json::parser_callback_t cb = [&](int, json::parse_event_t ev, json& parsed) {
    if (ev == json::parse_event_t::object_start) {
      seen.emplace_back();
    } else if (ev == json::parse_event_t::object_end) {
      if (!seen.empty()) seen.pop_back();
    } else if (ev == json::parse_event_t::key && !seen.empty()) {
      const std::string& k = parsed.get_ref<const std::string&>();
      if (!seen.back().insert(k).second && dup.empty()) dup = k;
    }
    return true;
  };
  json j;
  try {
    j = json::parse(line.begin(), line.end(), cb);
  } catch (const json::exception& e) {
    std::string what = e.what();
    size_t p = what.find("] ");
    return err.Msg("malformed JSON: " + (p == std::string::npos ? what : what.substr(p + 2)));
  }
  if (!dup.empty()) return err.Msg("duplicate field '" + dup + "'");
  if (!j.is_object()) return err.Msg("expected a JSON object, got " + TypeName(j));
  MB_RETURN_IF_ERROR(CheckKeys(err, j, "", {"type", "idempotency_key", "data"}));
  EventDraft d;
  d.line = line_no;
  std::string type;
  MB_RETURN_IF_ERROR(GetText(err, j, "", "type", true, 64, false, &type));
  MB_RETURN_IF_ERROR(GetText(err, j, "", "idempotency_key", true, kIdempotencyKeyBytesMax, false, &d.idempotency_key));
  MB_RETURN_IF_ERROR(ValidateIdempotencyKey(d.idempotency_key, "line " + std::to_string(line_no) + ": field 'idempotency_key': "));
  auto data = j.find("data");
  if (data == j.end()) return err.Msg("missing field 'data'");
  if (!data->is_object()) return err.Field("data", "an object", *data);
  if (type == "note") {
    NoteEvent n;
    MB_RETURN_IF_ERROR(CheckKeys(err, *data, "data.", {"subject", "amount", "memo"}));
    MB_RETURN_IF_ERROR(GetText(err, *data, "data.", "subject", true, kSubjectBytesMax, false, &n.subject));
    MB_RETURN_IF_ERROR(GetAmount(err, *data, "data.", "amount", &n.amount));
    MB_RETURN_IF_ERROR(GetText(err, *data, "data.", "memo", false, kMemoBytesMax, true, &n.memo));
    d.payload = std::move(n);
  } else if (type == "reversal") {
    ReversalEvent rv;
    MB_RETURN_IF_ERROR(CheckKeys(err, *data, "data.", {"seq", "reason"}));
    auto seq = data->find("seq");
    if (seq == data->end()) return err.Msg("missing field 'data.seq'");
    if (!seq->is_number_unsigned()) return err.Field("data.seq", "a sequence number (non-negative integer)", *seq);
    rv.seq = seq->get<uint64_t>();
    MB_RETURN_IF_ERROR(GetText(err, *data, "data.", "reason", true, kMemoBytesMax, true, &rv.reason));
    d.payload = std::move(rv);
  } else {
    return err.Msg("field 'type': unknown event type '" + type + "' (known: note, reversal)");
  }
  return d;
}

Result<std::vector<EventDraft>> ParseJsonLines(std::string_view input) {
  std::vector<EventDraft> out;
  std::string errors;
  size_t error_count = 0;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < input.size()) {
    size_t nl = input.find('\n', pos);
    std::string_view line = input.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? input.size() : nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    auto d = ParseJsonLine(line, line_no);
    if (!d.ok()) {
      if (++error_count <= kJsonErrorsMax) errors += (errors.empty() ? "" : "\n") + d.status().message();
      continue;
    }
    if (out.size() == kBatchEventsMax) {
      return Status::InvalidArgument("line " + std::to_string(line_no) + ": a batch may hold at most " +
                                     std::to_string(kBatchEventsMax) + " events");
    }
    out.push_back(std::move(d).value());
  }
  if (error_count > 0) {
    if (error_count > kJsonErrorsMax) {
      errors += "\n... and " + std::to_string(error_count - kJsonErrorsMax) + " more bad lines";
    }
    return Status::InvalidArgument(std::to_string(error_count) + " bad line(s), nothing appended:\n" + errors);
  }
  if (out.empty()) return Status::InvalidArgument("no events in input");
  return out;
}

}  // namespace minhbach
