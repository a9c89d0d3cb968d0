#include "minhbach/entry.h"

#include <capnp/dynamic.h>
#include <capnp/message.h>
#include <capnp/schema.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>

#include "capnp_json.h"
#include "event_rules.h"
#include "minhbach/text.h"

namespace minhbach {
namespace {

using nlohmann::json;

constexpr size_t kFirstSegmentWords = 256;  // a typical entry is 30-60 words: no heap allocation
// Reading untrusted bytes: an entry is a handful of small objects; these bounds stop amplification.
constexpr uint64_t kTraversalLimitWords = kEntryBytesMax / 8 * 4;
constexpr int kNestingLimit = 8;

std::string_view View(capnp::Text::Reader t) { return std::string_view(t.cStr(), t.size()); }
capnp::Data::Reader DataOf(const Hash& h) { return capnp::Data::Reader(h.data(), h.size()); }

bool IsPrintableAscii(std::string_view k) {
  for (unsigned char c : k) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}
bool IsTzOffset(int minutes) { return minutes >= -18 * 60 && minutes <= 18 * 60; }

std::string CanonicalBytes(schema::Entry::Reader root) {
  kj::Array<capnp::word> words = capnp::canonicalize(root);
  kj::ArrayPtr<const kj::byte> bytes = words.asBytes();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

// Converts a KJ exception thrown by Cap'n Proto into a Status of the given kind.
template <typename Fn>
Status Catching(Status::Code kind, const char* what, Fn&& fn) {
  Status result;
  kj::Maybe<kj::Exception> ex = kj::runCatchingExceptions([&]() { result = fn(); });
  KJ_IF_MAYBE(e, ex) {
    std::string msg = std::string(what) + ": " + e->getDescription().cStr();
    return kind == Status::Code::kCorruption ? Status::Corruption(msg) : Status::InvalidArgument(msg);
  }
  return result;
}

// Envelope rules beyond the generic field rules.
Status CheckEnvelope(schema::Entry::Reader r) {
  if (r.getIdempotencyKey().size() > kIdempotencyKeyBytesMax || !IsPrintableAscii(View(r.getIdempotencyKey()))) {
    return Status::Corruption("idempotencyKey is not 1..128 bytes of printable ASCII");
  }
  if (r.getActor().size() > kActorBytesMax) return Status::Corruption("actor longer than 128 bytes");
  if (r.getTzName().size() > kTzNameBytesMax) return Status::Corruption("tzName longer than 64 bytes");
  if (!IsTzOffset(r.getTzOffsetMinutes())) return Status::Corruption("tzOffsetMinutes outside -18:00..+18:00");
  auto p = r.getPayload();
  if (p.isReversal() && p.getReversal().getSeq() >= r.getSeq()) return Status::Corruption("reversal of a later entry");
  // The same per-event rules as at input (months, dates, positive amounts ...): the domain replay relies on them.
  Status rules = ValidateEventFields(p, 0);
  if (!rules.ok()) return Status::Corruption(rules.message());
  return Status::Ok();
}

}  // namespace

// ---- EntryReader ----

// Word-aligned buffers are vectors of uint64_t viewed as capnp::word (which is not copyable, so
// std::vector<capnp::word> does not compile with every standard library).
inline kj::ArrayPtr<const capnp::word> AsWords(const std::vector<uint64_t>& v) {
  return kj::ArrayPtr<const capnp::word>(reinterpret_cast<const capnp::word*>(v.data()), v.size());
}

struct EntryReader::State {
  std::vector<uint64_t> buf;
  kj::ArrayPtr<const capnp::word> segs[1];
  std::unique_ptr<capnp::SegmentArrayMessageReader> reader;
};

EntryReader::EntryReader() = default;
EntryReader::EntryReader(EntryReader&&) noexcept = default;
EntryReader& EntryReader::operator=(EntryReader&&) noexcept = default;
EntryReader::~EntryReader() = default;

// mode: 0 full entry, 1 draft, 2 trusted (no checks).
Result<EntryReader> EntryReader::OpenImpl(std::string_view bytes, int mode) {
  if (bytes.empty() || bytes.size() % 8 != 0) {
    return Status::Corruption("entry is " + std::to_string(bytes.size()) + " bytes, not a positive multiple of 8");
  }
  if (bytes.size() > kEntryBytesMax) {
    return Status::Corruption("entry is " + std::to_string(bytes.size()) + " bytes, limit " +
                              std::to_string(kEntryBytesMax));
  }
  EntryReader r;
  r.state_ = std::make_unique<State>();
  State& st = *r.state_;
  // Copy into word-aligned memory: RocksDB values carry no alignment guarantee.
  st.buf.resize(bytes.size() / 8);
  std::memcpy(st.buf.data(), bytes.data(), bytes.size());
  st.segs[0] = AsWords(st.buf);
  capnp::ReaderOptions opts;
  opts.traversalLimitInWords = kTraversalLimitWords;
  opts.nestingLimit = kNestingLimit;
  Status s = Catching(Status::Code::kCorruption, "entry does not decode", [&]() -> Status {
    st.reader = std::make_unique<capnp::SegmentArrayMessageReader>(
        kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>>(st.segs, 1), opts);
    if (mode == 2) {
      r.root_ = st.reader->getRoot<schema::Entry>();
      return Status::Ok();
    }
    if (!st.reader->isCanonical()) return Status::Corruption("entry bytes are not in Cap'n Proto canonical form");
    r.root_ = st.reader->getRoot<schema::Entry>();
    if (mode == 1) {
      MB_RETURN_IF_ERROR(internal::CheckStructRules(capnp::toDynamic(r.root_.getPayload()), "payload"));
      Status rules = ValidateEventFields(r.root_.getPayload(), 0);
      return rules.ok() ? rules : Status::Corruption(rules.message());
    }
    MB_RETURN_IF_ERROR(internal::CheckStructRules(capnp::toDynamic(r.root_), "entry"));
    return CheckEnvelope(r.root_);
  });
  if (!s.ok()) return s;
  return r;
}

Result<EntryReader> EntryReader::Open(std::string_view bytes) { return OpenImpl(bytes, 0); }
Result<EntryReader> EntryReader::OpenDraft(std::string_view bytes) { return OpenImpl(bytes, 1); }
EntryReader EntryReader::OpenTrusted(std::string_view bytes) {
  auto r = OpenImpl(bytes, 2);
  assert(r.ok() && "trusted bytes come from this library's encoder");
  return std::move(r).value();
}

// ---- Context ----

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

// ---- Encoding ----

Status EncodeEntryTo(uint64_t seq, const Hash& prev, int64_t recorded_at_micros, const AppendContext& ctx,
                     const EventDraft& draft, std::string* out) {
  if (draft.payload.empty() || draft.payload.size() % 8 != 0 || draft.payload.size() > kEntryBytesMax) {
    return Status::InvalidArgument("event payload is not a draft produced by the parser");
  }
  // The draft was built and checked by this library (ParseJsonLine, NoteDraft ...): copy it as it is.
  thread_local std::vector<uint64_t> draft_buf;
  draft_buf.resize(draft.payload.size() / 8);
  std::memcpy(draft_buf.data(), draft.payload.data(), draft.payload.size());
  kj::ArrayPtr<const capnp::word> segs[1] = {AsWords(draft_buf)};
  // A zeroed scratch first segment: building an entry allocates nothing from the heap.
  capnp::word scratch[kFirstSegmentWords];
  std::memset(scratch, 0, sizeof scratch);
  return Catching(Status::Code::kInvalidArgument, "encoding entry", [&]() -> Status {
    capnp::SegmentArrayMessageReader reader(kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>>(segs, 1));
    capnp::MallocMessageBuilder msg(kj::arrayPtr(scratch, kFirstSegmentWords));
    msg.setRoot(reader.getRoot<schema::Entry>());
    auto root = msg.getRoot<schema::Entry>();
    root.setSeq(seq);
    root.setPrevHash(DataOf(prev));
    root.setRecordedAtMicros(recorded_at_micros);
    root.setTzOffsetMinutes(ctx.tz_offset_minutes);
    root.setTzName(ctx.tz_name);
    root.setActor(ctx.actor);
    root.setIdempotencyKey(draft.idempotency_key);
    kj::Array<capnp::word> words = capnp::canonicalize(root.asReader());
    kj::ArrayPtr<const kj::byte> bytes = words.asBytes();
    out->assign(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
    return Status::Ok();
  });
}

Status EncodeEntryUnchained(uint64_t seq, int64_t recorded_at_micros, const AppendContext& ctx, const EventDraft& draft,
                            std::string* out, size_t* prev_hash_offset) {
  MB_RETURN_IF_ERROR(EncodeEntryTo(seq, Hash{}, recorded_at_micros, ctx, draft, out));
  // Locate the prevHash bytes through a reader over the result (word-aligned copy, as always).
  std::vector<uint64_t> words(out->size() / 8);
  std::memcpy(words.data(), out->data(), out->size());
  kj::ArrayPtr<const capnp::word> segs[1] = {AsWords(words)};
  return Catching(Status::Code::kInvalidArgument, "encoding entry", [&]() -> Status {
    capnp::SegmentArrayMessageReader reader(kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>>(segs, 1));
    auto prev = reader.getRoot<schema::Entry>().getPrevHash();
    if (prev.size() != kHashSize) return Status::Internal("prevHash is not 32 bytes after encoding");
    *prev_hash_offset = static_cast<size_t>(reinterpret_cast<const char*>(prev.begin()) -
                                            reinterpret_cast<const char*>(words.data()));
    return Status::Ok();
  });
}

Result<Entry> DecodeEntry(std::string_view bytes) {
  MB_ASSIGN_OR_RETURN(EntryReader reader, EntryReader::Open(bytes));
  schema::Entry::Reader r = reader.root();
  Entry e;
  e.seq = r.getSeq();
  std::memcpy(e.prev_hash.data(), r.getPrevHash().begin(), kHashSize);
  e.recorded_at_micros = r.getRecordedAtMicros();
  e.tz_offset_minutes = r.getTzOffsetMinutes();
  e.tz_name = std::string(View(r.getTzName()));
  e.actor = std::string(View(r.getActor()));
  e.idempotency_key = std::string(View(r.getIdempotencyKey()));
  e.type = PayloadTypeName(r.getPayload());
  // Draft form: the same entry with every envelope field cleared.
  capnp::MallocMessageBuilder msg;
  msg.setRoot(r);
  auto b = msg.getRoot<schema::Entry>();
  b.setSeq(0);
  b.disownPrevHash();
  b.setRecordedAtMicros(0);
  b.setTzOffsetMinutes(0);
  b.disownTzName();
  b.disownActor();
  b.disownIdempotencyKey();
  e.payload = CanonicalBytes(b.asReader());
  return e;
}

Result<std::string> EncodeEntry(const Entry& e) {
  AppendContext ctx{e.actor, e.tz_name, e.tz_offset_minutes};
  EventDraft d{e.idempotency_key, e.payload, 0, {}};
  std::string out;
  MB_RETURN_IF_ERROR(EncodeEntryTo(e.seq, e.prev_hash, e.recorded_at_micros, ctx, d, &out));
  return out;
}

Status CheckEntry(std::string_view bytes, EntryHead* head) {
  MB_ASSIGN_OR_RETURN(EntryReader reader, EntryReader::Open(bytes));
  schema::Entry::Reader r = reader.root();
  head->seq = r.getSeq();
  std::memcpy(head->prev_hash.data(), r.getPrevHash().begin(), kHashSize);
  head->idempotency_key.assign(View(r.getIdempotencyKey()));
  return Status::Ok();
}

// ---- JSON ----

std::string PayloadTypeName(schema::Entry::Payload::Reader p) {
  KJ_IF_MAYBE(f, capnp::toDynamic(p).which()) { return SnakeCase(f->getProto().getName().cStr()); }
  return "unknown";
}

namespace {

json PayloadData(schema::Entry::Payload::Reader p) {
  auto dyn = capnp::toDynamic(p);
  KJ_IF_MAYBE(f, dyn.which()) { return internal::StructToJson(dyn.get(*f).as<capnp::DynamicStruct>()); }
  return json::object();
}

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

std::string PayloadDataJson(schema::Entry::Payload::Reader p) { return Dump(PayloadData(p)); }

// The public free texts of a payload, as a JSON line's "public" list names them.
static std::vector<std::string> PublicTexts(schema::Entry::Payload::Reader p) {
  auto dyn = capnp::toDynamic(p);
  KJ_IF_MAYBE(member, dyn.which()) {
    if (member->getType().isStruct()) return internal::PublicFreeTexts(dyn.get(*member).as<capnp::DynamicStruct>(), "");
  }
  return {};
}

std::string EntryToJson(const Entry& e) {
  json j;
  j["seq"] = e.seq;
  j["prev_hash"] = Base64Encode(e.prev_hash);
  j["recorded_at"] = FormatTimestamp(e.recorded_at_micros, e.tz_offset_minutes);
  j["tz"] = e.tz_name;
  j["actor"] = e.actor;
  j["type"] = e.type;
  j["idempotency_key"] = e.idempotency_key;
  auto reader = EntryReader::OpenDraft(e.payload);
  j["data"] = reader.ok() ? PayloadData(reader->payload()) : json::object();
  if (reader.ok()) {
    auto pub = PublicTexts(reader->payload());
    if (!pub.empty()) j["public"] = pub;  // so the line appends again as the same entry
  }
  return Dump(j);
}

std::string DraftToJsonLine(const EventDraft& d) {
  json j;
  auto reader = EntryReader::OpenDraft(d.payload);
  if (!reader.ok()) return "{}";
  j["type"] = PayloadTypeName(reader->payload());
  j["idempotency_key"] = d.idempotency_key;
  j["data"] = PayloadData(reader->payload());
  // Public free texts are listed so the line parses to the same draft; sealed plaintexts take the place of their
  // markers (the commitment field "<name>_commitment" holds the marker).
  if (auto pub = PublicTexts(reader->payload()); !pub.empty()) j["public"] = pub;
  const std::string type = j["type"];
  for (const SealedField& s : d.sealed) {
    std::string path = s.field.substr(type.size() + 1);
    json* at = &j["data"];
    for (size_t dot; (dot = path.find('.')) != std::string::npos; path = path.substr(dot + 1)) at = &(*at)[path.substr(0, dot)];
    at->erase(path + "_commitment");
    (*at)[path] = s.value;
  }
  return Dump(j);
}

namespace {

Status ValidateIdempotencyKey(std::string_view k, size_t line) {
  std::string where = "line " + std::to_string(line) + ": field 'idempotency_key': ";
  if (k.empty() || k.size() > kIdempotencyKeyBytesMax) {
    return Status::InvalidArgument(where + "must be 1.." + std::to_string(kIdempotencyKeyBytesMax) + " bytes, got " +
                                   std::to_string(k.size()));
  }
  if (!IsPrintableAscii(k)) return Status::InvalidArgument(where + "must be printable ASCII without spaces");
  return Status::Ok();
}

std::string TypeNames() {
  std::string out;
  for (auto f : capnp::Schema::from<schema::Entry::Payload>().getUnionFields()) {
    out += (out.empty() ? "" : ", ") + SnakeCase(f.getProto().getName().cStr());
  }
  return out;
}

}  // namespace

Result<EventDraft> ParseJsonLine(std::string_view line, size_t line_no) {
  auto msg_at = [&](const std::string& m) {
    return Status::InvalidArgument("line " + std::to_string(line_no) + ": " + m);
  };
  if (line.size() > kJsonLineBytesMax) {
    return msg_at(std::to_string(line.size()) + " bytes, a line may have at most " + std::to_string(kJsonLineBytesMax));
  }
  // A NUL ends the JSON parser's input early (nlohmann reads it as the end), which would drop the rest of the
  // line without a word. JSON text never holds one raw, so it is an error, named.
  if (const size_t nul = line.find('\0'); nul != std::string_view::npos) {
    return msg_at("a NUL byte (0x00) at byte " + std::to_string(nul + 1) + " of the line: JSON text holds none");
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
    return msg_at("malformed JSON: " + (p == std::string::npos ? what : what.substr(p + 2)));
  }
  if (!dup.empty()) return msg_at("duplicate field '" + dup + "'");
  if (!j.is_object()) return msg_at("expected a JSON object");
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() != "type" && it.key() != "idempotency_key" && it.key() != "data" && it.key() != "public") {
      return msg_at("unknown field '" + it.key() + "' (allowed: type, idempotency_key, data, public)");
    }
  }
  auto type = j.find("type");
  if (type == j.end()) return msg_at("missing field 'type'");
  if (!type->is_string()) return msg_at("field 'type': expected a string");
  auto key = j.find("idempotency_key");
  if (key == j.end()) return msg_at("missing field 'idempotency_key'");
  if (!key->is_string()) return msg_at("field 'idempotency_key': expected a string");
  MB_RETURN_IF_ERROR(ValidateIdempotencyKey(key->get_ref<const std::string&>(), line_no));
  auto data = j.find("data");
  if (data == j.end()) return msg_at("missing field 'data'");
  if (!data->is_object()) return msg_at("field 'data': expected an object");

  kj::Maybe<capnp::StructSchema::Field> member;
  for (auto f : capnp::Schema::from<schema::Entry::Payload>().getUnionFields()) {
    if (SnakeCase(f.getProto().getName().cStr()) == type->get_ref<const std::string&>()) member = f;
  }
  if (member == nullptr) {
    return msg_at("field 'type': unknown event type '" + type->get<std::string>() + "' (known: " + TypeNames() + ")");
  }
  if (type->get_ref<const std::string&>() == "erasure") {
    return msg_at("field 'type': an erasure is recorded only by `minhbach erase`, which also deletes the data");
  }
  EventDraft d;
  d.line = line_no;
  d.idempotency_key = key->get<std::string>();
  internal::SealContext seal;
  seal.event_type = type->get<std::string>();
  seal.sealed = &d.sealed;
  if (auto pub = j.find("public"); pub != j.end()) {
    if (!pub->is_array() || pub->size() > internal::kListElementsMax) {
      return msg_at("field 'public': expected an array of the free-text fields to keep in the log");
    }
    for (const auto& n : *pub) {
      if (!n.is_string()) return msg_at("field 'public': expected field names, got " + n.dump());
      seal.public_names.push_back(n.get<std::string>());
    }
  }
  Status s = Catching(Status::Code::kInvalidArgument, ("line " + std::to_string(line_no)).c_str(), [&]() -> Status {
    capnp::MallocMessageBuilder msg;
    auto root = msg.initRoot<schema::Entry>();
    auto payload = capnp::toDynamic(root.getPayload());
    KJ_IF_MAYBE(f, member) {
      MB_RETURN_IF_ERROR(
          internal::StructFromJson(*data, payload.init(*f).as<capnp::DynamicStruct>(), "data", line_no, &seal));
    }
    for (const std::string& n : seal.public_names) {
      bool used = false;
      for (const std::string& u : seal.public_used) used = used || u == n;
      if (!used) {
        return msg_at("field 'public': '" + n + "' is not a free text given in this " + seal.event_type +
                      " (only free texts such as memo, reason or description can be public)");
      }
    }
    MB_RETURN_IF_ERROR(ValidateEventFields(root.asReader().getPayload(), line_no));
    d.payload = CanonicalBytes(root.asReader());
    return Status::Ok();
  });
  if (!s.ok()) return s;
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
    if (line.find_first_not_of(" \t") == std::string_view::npos && line.find('\0') == std::string_view::npos) continue;
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

EventDraft NoteDraft(std::string key, std::string_view subject, int64_t amount, std::string_view memo) {
  capnp::MallocMessageBuilder msg;
  auto n = msg.initRoot<schema::Entry>().getPayload().initNote();
  n.setSubject(capnp::Text::Reader(subject.data(), subject.size()));
  n.setAmount(amount);
  if (!memo.empty()) n.setMemo(capnp::Text::Reader(memo.data(), memo.size()));
  return EventDraft{std::move(key), CanonicalBytes(msg.getRoot<schema::Entry>().asReader()), 0, {}};
}

EventDraft ReversalDraft(std::string key, uint64_t seq, std::string_view reason) {
  capnp::MallocMessageBuilder msg;
  auto r = msg.initRoot<schema::Entry>().getPayload().initReversal();
  r.setSeq(seq);
  r.setReason(capnp::Text::Reader(reason.data(), reason.size()));
  return EventDraft{std::move(key), CanonicalBytes(msg.getRoot<schema::Entry>().asReader()), 0, {}};
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

}  // namespace minhbach
