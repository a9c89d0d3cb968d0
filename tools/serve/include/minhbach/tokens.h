// Administrators' write tokens (docs/api.md "Tokens"): `<ledger>/tokens.json` holds, per administrator, a name,
// the fund the token may write for ("*" = every fund), the SHA-256 of the token (never the token itself), when it
// was created and when it was revoked. The token is shown once, when it is created.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "minhbach/status.h"

namespace minhbach::serve {

inline constexpr const char* kTokensFile = "tokens.json";
inline constexpr const char* kTokensFormat = "minhbach-tokens-1";

struct TokenRecord {
  std::string name;     // administrator id, 1..64 of A-Z a-z 0-9 - _ .; recorded as the actor "admin:<name>"
  std::string fund;     // the fund it may write for, or "*"
  std::string sha256;   // hex SHA-256 of the token text
  std::string created;  // RFC 3339 UTC
  std::string revoked;  // RFC 3339 UTC, "" while valid
  std::string role = "administrator";  // "administrator" (appends, vault reads) or "inspector" (vault and journal
                                       // reads, no appends); docs/api.md "Roles"
};
inline constexpr const char* kRoleAdministrator = "administrator";
inline constexpr const char* kRoleInspector = "inspector";

Result<std::vector<TokenRecord>> LoadTokens(const std::string& path);  // a missing file is an empty list
// Writes the list atomically (temporary file, fsync, rename, fsync of the folder), mode 0600.
Status SaveTokens(const std::string& path, const std::vector<TokenRecord>& tokens);
// Creates a token for `name` (which must be new) and returns its text: "mbt_" + 43 base64url characters.
Result<std::string> AddToken(const std::string& path, const std::string& name, const std::string& fund,
                             const std::string& role = kRoleAdministrator);
// Marks the token of `name` revoked. NotFound for an unknown name; revoking twice is an error.
Status RevokeToken(const std::string& path, const std::string& name);

// What the server checks a bearer token against: the file, re-read when it changed (so `minhbach token revoke`
// takes effect on the next request, without a restart). Thread-safe.
class TokenAuth {
 public:
  explicit TokenAuth(std::string path) : path_(std::move(path)) {}
  // The valid (not revoked) record whose hash matches, or nullopt.
  Result<std::optional<TokenRecord>> Check(std::string_view token);

 private:
  std::string path_;
  std::mutex mu_;
  int64_t mtime_ns_ = -1;
  int64_t size_ = -1;
  std::vector<TokenRecord> tokens_;
};

}  // namespace minhbach::serve
