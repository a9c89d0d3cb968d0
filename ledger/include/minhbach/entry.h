// Log entries: the C++ view of schema/entry.capnp, canonical encoding, checked decoding, and the
// JSON Lines input format. See docs/format/entry.md and docs/format/jsonl.md.
//
// Encoding builds the Cap'n Proto message and takes its canonical form (capnp::canonicalize): those
// bytes are what is stored, hashed and proven. Decoding treats bytes as untrusted: it bounds traversal
// and nesting, requires the canonical form, and returns Corruption rather than throwing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "minhbach/hash.h"
#include "minhbach/status.h"

namespace minhbach {

// ---- Limits (TigerBeetle style: every input has a named bound) ----
inline constexpr size_t kJsonLineBytesMax = 64 * 1024;     // one JSON Lines input line
inline constexpr size_t kBatchEventsMax = 1'000'000;       // events in one atomic append
inline constexpr size_t kIdempotencyKeyBytesMax = 128;
inline constexpr size_t kActorBytesMax = 128;
inline constexpr size_t kTzNameBytesMax = 64;
inline constexpr size_t kSubjectBytesMax = 256;
inline constexpr size_t kMemoBytesMax = 2048;
inline constexpr size_t kEntryBytesMax = 16 * 1024;        // canonical bytes of one entry
inline constexpr size_t kJsonErrorsMax = 50;               // bad lines reported per rejected batch
static_assert(kSubjectBytesMax + kMemoBytesMax + kIdempotencyKeyBytesMax + kActorBytesMax + kTzNameBytesMax + 512 <
                  kEntryBytesMax,
              "a maximal entry must fit in kEntryBytesMax");

// ---- Event payloads (one per union member of Entry.payload) ----
struct NoteEvent {
  std::string subject;
  int64_t amount = 0;  // integer minor units, >= 0
  std::string memo;
  bool operator==(const NoteEvent&) const = default;
};

struct ReversalEvent {
  uint64_t seq = 0;  // the entry reversed
  std::string reason;
  bool operator==(const ReversalEvent&) const = default;
};

using Payload = std::variant<NoteEvent, ReversalEvent>;
// The JSON "type" of a payload, e.g. "note".
std::string_view PayloadType(const Payload& p);

// What a caller asks to append: the ledger fills in seq, prevHash, time and actor.
struct EventDraft {
  std::string idempotency_key;
  Payload payload;
  size_t line = 0;  // 1-based input line, for error messages (0 when not from a file)
  bool operator==(const EventDraft& o) const {
    return idempotency_key == o.idempotency_key && payload == o.payload;
  }
};

// Who records a batch, and where: the same for every entry of an append.
struct AppendContext {
  std::string actor = "cli";
  std::string tz_name = "Asia/Ho_Chi_Minh";
  int16_t tz_offset_minutes = 7 * 60;
};
Status ValidateContext(const AppendContext& ctx);

// A decoded entry.
struct Entry {
  uint64_t seq = 0;
  Hash prev_hash{};
  int64_t recorded_at_micros = 0;
  int16_t tz_offset_minutes = 0;
  std::string tz_name;
  std::string actor;
  std::string idempotency_key;
  Payload payload;
};

// Encodes an entry to its canonical bytes.
std::string EncodeEntry(const Entry& e);
// Fast path for the append pipeline: encodes into `out` (cleared first).
void EncodeEntryTo(uint64_t seq, const Hash& prev, int64_t recorded_at_micros, const AppendContext& ctx,
                   const EventDraft& draft, std::string* out);

// Decodes and checks canonical bytes (untrusted). Fails with Corruption naming what is wrong.
Result<Entry> DecodeEntry(std::string_view bytes);
// Cheaper check used by verify: canonical form, and the envelope fields verify needs.
struct EntryHead {
  uint64_t seq = 0;
  Hash prev_hash{};
  std::string idempotency_key;
};
Status CheckEntry(std::string_view bytes, EntryHead* head);

// JSON rendering of an entry (for `log --json` and humans): fields as in docs/format/jsonl.md plus seq,
// prev_hash, recorded_at (RFC 3339 with the recorded offset), actor.
std::string EntryToJson(const Entry& e);
// The JSON Lines input line that would produce this entry's draft (type, idempotency_key, data).
std::string DraftToJsonLine(const EventDraft& d);

// Parses JSON Lines input (untrusted). Empty lines are skipped. On any bad line returns
// InvalidArgument listing up to kJsonErrorsMax problems, each "line N: field 'x': expected ..., got ...".
Result<std::vector<EventDraft>> ParseJsonLines(std::string_view input);
// Parses one line; `line_no` is used in messages.
Result<EventDraft> ParseJsonLine(std::string_view line, size_t line_no);

// Formats microseconds since the epoch as RFC 3339 in the given offset, e.g. 2026-11-22T18:02:05.123456+07:00.
std::string FormatTimestamp(int64_t micros, int16_t offset_minutes);

}  // namespace minhbach
