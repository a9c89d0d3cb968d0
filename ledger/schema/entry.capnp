# minhbach log entry: the envelope that is hashed, chained and put in the Merkle tree.
# The bytes that are hashed are this struct's Cap'n Proto canonical form (single segment, no segment
# table, trailing zero words truncated); see docs/format/entry.md.
#
# Evolution rules: fields and union members are only ever added with new ordinals; nothing is renamed
# in meaning, removed or renumbered. Old entries keep their canonical bytes (and so their hashes).
# The schema has no field that could hold a child's personal data: children are pseudonymous ids.

@0x88ba18ab67ff06bb;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("minhbach::schema");

struct Entry {
  seq @0 :UInt64;                # = Merkle leaf index, from 0
  prevHash @1 :Data;             # 32 bytes: RFC 9162 leaf hash of entry seq-1; 32 zero bytes for seq 0
  recordedAtMicros @2 :Int64;    # when the ledger recorded it: UTC, microseconds since 1970-01-01T00:00:00Z
  tzOffsetMinutes @3 :Int16;     # the recording user's UTC offset at that instant, e.g. +420 for UTC+07:00
  tzName @4 :Text;               # the recording user's IANA time zone, e.g. "Asia/Ho_Chi_Minh"
  actor @5 :Text;                # who recorded it (an administrator id), never a child
  idempotencyKey @6 :Text;       # unique over the whole log; a retry with the same key appends nothing

  payload :union {               # the event type is the union member
    note @7 :Note;
    reversal @8 :Reversal;
  }
}

# A generic event: free text and one amount. The domain catalogue adds typed events beside it.
struct Note {
  subject @0 :Text;
  amount @1 :Int64;              # integer minor units (VND has none); >= 0
  memo @2 :Text;
}

# Cancels an earlier entry. A correction is a reversal followed by a new event.
struct Reversal {
  seq @0 :UInt64;                # the entry reversed; must be earlier than this one
  reason @1 :Text;
}
