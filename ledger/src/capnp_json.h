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

#include "minhbach/status.h"

namespace minhbach::internal {

inline constexpr size_t kTextBytesMax = 256;
inline constexpr size_t kMultilineBytesMax = 2048;
inline constexpr size_t kListElementsMax = 64;

// Fills `out` from the JSON object `in`. Errors are InvalidArgument "line N: field 'path.x': ...".
Status StructFromJson(const nlohmann::json& in, capnp::DynamicStruct::Builder out, const std::string& path,
                      size_t line);
// Renders a struct as JSON (absent optional pointers are left out).
nlohmann::json StructToJson(capnp::DynamicStruct::Reader in);
// Checks the stored-data rules on a struct and everything under it (Corruption naming the field): no
// sections beyond the schema, unused data bits zero, union tag known, enumerants known, text non-empty
// clean UTF-8 within limits, Data 32 bytes, union members present.
Status CheckStructRules(capnp::DynamicStruct::Reader in, const std::string& path);

}  // namespace minhbach::internal
