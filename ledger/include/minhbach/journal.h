// The access journal: every read of vault data by a non-public role (an inspector, an auditor, an
// administrator), through the CLI or the server, is recorded before the data is handed out.
//
// LEDGER/access.journal (mode 0600) holds one JSON object per line, append-only and hash-chained:
//   {"n":N,"at":"RFC 3339","who":"...","role":"...","subject":"...","what":"...","why":"...","prev":"<hex>"}
// where "prev" is the SHA-256 of the previous line's bytes (without its newline), 64 zeros for line 0.
// LEDGER/access.journal.head holds "N <hex SHA-256 of line N>" for the last line, so that an edit of the last
// line is caught too. See docs/format/storage.md "Access journal".
//
// Appends take an exclusive flock and fsync the file before returning: a read is never answered without its
// journal line on disk.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "minhbach/status.h"

namespace minhbach {

inline constexpr const char* kJournalFile = "access.journal";
inline constexpr const char* kJournalHeadFile = "access.journal.head";
inline constexpr size_t kJournalFieldBytesMax = 512;

struct JournalRecord {
  uint64_t n = 0;
  std::string at;       // RFC 3339, UTC
  std::string who;      // "cli:<user>", "token:<name>"
  std::string role;     // "administrator", "inspector"
  std::string subject;  // the subject read, or a description of a set ("entries 0..99")
  std::string what;     // "vault show", "vault extract", "GET /api/v1/vault/subjects/D-1"
  std::string why;      // the reason given
};

// Appends one record (its n and at are filled in). InvalidArgument for a missing reason or an oversize field.
Status JournalAppend(const std::string& ledger_dir, JournalRecord record);
// Reads and checks the whole journal: every line well-formed, numbered in order and chained, the head file
// matching the last line. Corruption naming the first bad line.
Result<std::vector<JournalRecord>> JournalRead(const std::string& ledger_dir);

}  // namespace minhbach
