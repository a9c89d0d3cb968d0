// Internal: the JSON <-> Cap'n Proto mapping of event payloads, driven by the schema (reflection), and the
// field rules every stored payload must satisfy. See docs/format/jsonl.md and docs/format/entry.md.
//
// Field names are the schema's camelCase names in snake_case ("bankRef" <-> "bank_ref"); enumerants
// likewise. Integers must be JSON integers within the field's type; text is clean UTF-8, one line of at
// most 256 bytes (2048 with newlines for $multiline fields), never empty (omit an $optional field instead);
// Data is 64 hex digits (a SHA-256). Every field without $optional is required.
#pragma once

#include <capnp/dynamic.h>

#include <nlohmann/json.hpp>
#include <string>

#include "minhbach/privacy.h"
#include "minhbach/status.h"

namespace minhbach::internal {

inline constexpr size_t kTextBytesMax = 256;
inline constexpr size_t kMultilineBytesMax = 2048;
inline constexpr size_t kListElementsMax = 64;
inline constexpr size_t kDataListElementsMax = 256;  // lists of commitments (an erasure's)

// Where the plaintexts of $vaulted fields go while a line is parsed.
struct SealContext {
  std::string event_type;                  // e.g. "donation_received": the first part of each field name
  std::vector<std::string> public_names;   // the line's "public" list: free texts kept in the log
  std::vector<std::string> public_used;    // those that named a free text (the rest are an error)
  std::vector<SealedField>* sealed = nullptr;
};

// Fills `out` from the JSON object `in`. Errors are InvalidArgument "line N: field 'path.x': ...".
// A key naming a $vaulted field's plaintext sets that field to a random marker and adds the plaintext to
// `seal->sealed` (docs/format/jsonl.md "Personal data").
Status StructFromJson(const nlohmann::json& in, capnp::DynamicStruct::Builder out, const std::string& path,
                      size_t line, SealContext* seal);
// The free texts of a struct (and the structs under it) that are set as public Text beside a $vaulted twin, as
// JSON paths ("reason", "in_kind.valuation_basis"): what a JSON line lists in "public" to produce them.
std::vector<std::string> PublicFreeTexts(capnp::DynamicStruct::Reader in, const std::string& prefix);
// The commitments ($vaulted Data fields that are set) of a struct and the structs under it, each named
// `prefix` + the JSON path of its plaintext ("donation_received." + "in_kind.valuation_basis").
void CollectCommitments(capnp::DynamicStruct::Reader in, const std::string& prefix, std::vector<CommitmentRef>* out);
// Renders a struct as JSON (absent optional pointers are left out).
nlohmann::json StructToJson(capnp::DynamicStruct::Reader in);
// Checks the stored-data rules on a struct and everything under it (Corruption naming the field): no
// sections beyond the schema, unused data bits zero, union tag known, enumerants known, text non-empty
// clean UTF-8 within limits, Data 32 bytes, union members present.
Status CheckStructRules(capnp::DynamicStruct::Reader in, const std::string& path);

}  // namespace minhbach::internal
