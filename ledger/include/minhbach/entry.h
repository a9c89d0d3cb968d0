// Log entries: schema/entry.capnp, canonical encoding, checked decoding, and the JSON Lines input format.
// See docs/format/entry.md, docs/format/jsonl.md and docs/events.md.
//
// Encoding builds the Cap'n Proto message and takes its canonical form (capnp::canonicalize): those
// bytes are what is stored, hashed and proven. Decoding treats bytes as untrusted: it bounds traversal
// and nesting, requires the canonical form plus the field rules (one entry, one encoding), and returns
// Corruption rather than throwing.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "entry.capnp.h"
#include "minhbach/hash.h"
#include "minhbach/privacy.h"
#include "minhbach/status.h"

namespace minhbach {

// ---- Limits (TigerBeetle style: every input has a named bound) ----
inline constexpr size_t kJsonLineBytesMax = 64 * 1024;     // one JSON Lines input line
inline constexpr size_t kBatchEventsMax = 1'000'000;       // events in one atomic append
inline constexpr size_t kIdempotencyKeyBytesMax = 128;
inline constexpr size_t kActorBytesMax = 128;
inline constexpr size_t kTzNameBytesMax = 64;
inline constexpr size_t kEntryBytesMax = 16 * 1024;        // canonical bytes of one entry
inline constexpr size_t kJsonErrorsMax = 50;               // bad lines reported per rejected batch
// The largest payload (Disbursement): 8 one-line texts of 256 bytes, one multiline of 2048, scalars.
static_assert(8 * 256 + 2048 + kIdempotencyKeyBytesMax + kActorBytesMax + kTzNameBytesMax + 1024 < kEntryBytesMax,
              "a maximal entry must fit in kEntryBytesMax");

// What a caller asks to append: the ledger fills in seq, prevHash, time and actor.
//   payload: canonical bytes of a schema::Entry in which only the payload union is set ("draft form").
//   sealed: plaintexts for the vault. The payload holds each one's marker where its commitment goes;
//           Ledger::Append stores the value and a fresh salt in the vault and puts the commitment in its
//           place (docs/format/commitment.md). Drafts with sealed fields need a ledger with a vault.
struct EventDraft {
  std::string idempotency_key;
  std::string payload;
  size_t line = 0;  // 1-based input line, for error messages (0 when not from a file)
  std::vector<SealedField> sealed;
  bool operator==(const EventDraft& o) const {
    return idempotency_key == o.idempotency_key && payload == o.payload && sealed == o.sealed;
  }
};

// Who records a batch, and where: the same for every entry of an append.
struct AppendContext {
  std::string actor = "cli";
  std::string tz_name = "Asia/Ho_Chi_Minh";
  int16_t tz_offset_minutes = 7 * 60;
};
Status ValidateContext(const AppendContext& ctx);

// A checked, word-aligned reader over canonical bytes. Move-only; the reader stays valid while it lives.
class EntryReader {
 public:
  // Full entry: canonical form and every field rule, envelope included.
  static Result<EntryReader> Open(std::string_view bytes);
  // Draft form (only the payload set): canonical form and the payload's field rules.
  static Result<EntryReader> OpenDraft(std::string_view bytes);
  // Bytes this process produced and already checked (the append path): no checks at all.
  static EntryReader OpenTrusted(std::string_view bytes);
  schema::Entry::Reader root() const { return root_; }
  schema::Entry::Payload::Reader payload() const { return root_.getPayload(); }

  EntryReader(EntryReader&&) noexcept;
  EntryReader& operator=(EntryReader&&) noexcept;
  ~EntryReader();

 private:
  EntryReader();
  static Result<EntryReader> OpenImpl(std::string_view bytes, int mode);
  struct State;
  std::unique_ptr<State> state_;
  schema::Entry::Reader root_;
};

// A decoded entry, for display and comparison.
struct Entry {
  uint64_t seq = 0;
  Hash prev_hash{};
  int64_t recorded_at_micros = 0;
  int16_t tz_offset_minutes = 0;
  std::string tz_name;
  std::string actor;
  std::string idempotency_key;
  std::string type;     // JSON event type, e.g. "donation_received"
  std::string payload;  // draft form (see EventDraft)
};

// Encodes entry `seq` from a draft into `out` (cleared first): the append hot path.
Status EncodeEntryTo(uint64_t seq, const Hash& prev, int64_t recorded_at_micros, const AppendContext& ctx,
                     const EventDraft& draft, std::string* out);
// The same, in two steps so that encoding can run in parallel while the chain (which needs the previous
// entry's hash) stays sequential: encode with a zero prevHash, noting where its 32 bytes are, then patch
// them in. The patched bytes equal EncodeEntryTo's output (a Data object's bytes do not affect layout).
Status EncodeEntryUnchained(uint64_t seq, int64_t recorded_at_micros, const AppendContext& ctx, const EventDraft& draft,
                            std::string* out, size_t* prev_hash_offset);
inline void PatchPrevHash(std::string* bytes, size_t prev_hash_offset, const Hash& prev) {
  std::memcpy(bytes->data() + prev_hash_offset, prev.data(), kHashSize);
}
// Decodes and checks canonical bytes (untrusted). Fails with Corruption naming what is wrong.
Result<Entry> DecodeEntry(std::string_view bytes);
// Re-encodes a decoded entry (the exact stored bytes, since decoding accepts one encoding per entry).
Result<std::string> EncodeEntry(const Entry& e);

// Cheaper check used by verify: canonical form, field rules, and the envelope fields verify needs.
struct EntryHead {
  uint64_t seq = 0;
  Hash prev_hash{};
  std::string idempotency_key;
};
Status CheckEntry(std::string_view bytes, EntryHead* head);

// The event type ("note", "donation_received", ...) and JSON data of a draft-form payload.
std::string PayloadTypeName(schema::Entry::Payload::Reader p);
std::string PayloadDataJson(schema::Entry::Payload::Reader p);
// JSON rendering of an entry (for `log --json` and humans): seq, prev_hash, recorded_at (RFC 3339 with the
// recorded offset), tz, actor, type, idempotency_key, data.
std::string EntryToJson(const Entry& e);
// The JSON Lines input line that would produce this draft.
std::string DraftToJsonLine(const EventDraft& d);

// Parses JSON Lines input (untrusted). Empty lines are skipped. On any bad line returns
// InvalidArgument listing up to kJsonErrorsMax problems, each "line N: field 'x': expected ..., got ...".
Result<std::vector<EventDraft>> ParseJsonLines(std::string_view input);
// Parses one line; `line_no` is used in messages.
Result<EventDraft> ParseJsonLine(std::string_view line, size_t line_no);

// Drafts built in code (demo, tests, benchmarks).
EventDraft NoteDraft(std::string key, std::string_view subject, int64_t amount, std::string_view memo = {});
EventDraft ReversalDraft(std::string key, uint64_t seq, std::string_view reason);

// Formats microseconds since the epoch as RFC 3339 in the given offset, e.g. 2026-11-22T18:02:05.123456+07:00.
std::string FormatTimestamp(int64_t micros, int16_t offset_minutes);

}  // namespace minhbach
