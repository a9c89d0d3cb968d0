#include "minhbach/tokens.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "minhbach/hash.h"
#include "minhbach/entry.h"

namespace minhbach::serve {
namespace {

using nlohmann::json;

std::string NowUtc() {
  auto now = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch());
  return FormatTimestamp(now.count(), 0).substr(0, 19) + "Z";
}

bool ValidName(const std::string& n) {
  if (n.empty() || n.size() > 64) return false;
  for (char c : n) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  }
  return true;
}

std::string HashToken(std::string_view token) {
  Sha256 sha;
  return HexEncode(sha.Digest(token));
}

}  // namespace

Result<std::vector<TokenRecord>> LoadTokens(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return std::vector<TokenRecord>{};
  MB_ASSIGN_OR_RETURN(std::string text, cli::ReadTextFile(path, "token file"));
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("format", "") != kTokensFormat || !j.contains("tokens") ||
      !j["tokens"].is_array()) {
    return Status::Corruption(path + ": not a " + std::string(kTokensFormat) + " token file");
  }
  std::vector<TokenRecord> out;
  for (const auto& t : j["tokens"]) {
    if (!t.is_object()) return Status::Corruption(path + ": a token record is not an object");
    TokenRecord r;
    try {
      r.name = t.at("name").get<std::string>();
      r.fund = t.at("fund").get<std::string>();
      r.sha256 = t.at("sha256").get<std::string>();
      r.created = t.at("created").get<std::string>();
      r.revoked = t.value("revoked", "");
      r.role = t.value("role", kRoleAdministrator);
    } catch (const json::exception& e) {
      return Status::Corruption(path + ": token record: " + e.what());
    }
    if (!ValidName(r.name) || r.sha256.size() != 64 || r.fund.empty() ||
        (r.role != kRoleAdministrator && r.role != kRoleInspector)) {
      return Status::Corruption(path + ": bad token record '" + r.name + "'");
    }
    out.push_back(std::move(r));
  }
  return out;
}

Status SaveTokens(const std::string& path, const std::vector<TokenRecord>& tokens) {
  json a = json::array();
  for (const auto& t : tokens) {
    a.push_back({{"name", t.name}, {"fund", t.fund}, {"sha256", t.sha256}, {"created", t.created},
                 {"revoked", t.revoked}, {"role", t.role}});
  }
  return cli::WriteFileAtomically(path, json{{"format", kTokensFormat}, {"tokens", a}}.dump(2) + "\n", 0600);
}

Result<std::string> AddToken(const std::string& path, const std::string& name, const std::string& fund,
                             const std::string& role) {
  if (role != kRoleAdministrator && role != kRoleInspector) {
    return Status::InvalidArgument("--role: expected administrator or inspector, got '" + role + "'");
  }
  if (!ValidName(name)) {
    return Status::InvalidArgument("administrator name '" + name + "': expected 1..64 of A-Z a-z 0-9 - _ .");
  }
  if (fund.empty() || fund.size() > 64) return Status::InvalidArgument("--fund: expected a fund id or '*'");
  MB_ASSIGN_OR_RETURN(auto tokens, LoadTokens(path));
  for (const auto& t : tokens) {
    if (t.name == name) {
      return Status::InvalidArgument("administrator '" + name + "' already has a token" +
                                     (t.revoked.empty() ? "" : " (revoked; choose a new name)"));
    }
  }
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1) return Status::Internal("RAND_bytes failed");
  std::string b64 = Base64Encode(std::string_view(reinterpret_cast<const char*>(raw), sizeof raw));
  std::string token = "mbt_";
  for (char c : b64) {
    if (c == '=') continue;
    token += c == '+' ? '-' : c == '/' ? '_' : c;
  }
  tokens.push_back({name, fund, HashToken(token), NowUtc(), "", role});
  MB_RETURN_IF_ERROR(SaveTokens(path, tokens));
  return token;
}

Status RevokeToken(const std::string& path, const std::string& name) {
  MB_ASSIGN_OR_RETURN(auto tokens, LoadTokens(path));
  for (auto& t : tokens) {
    if (t.name != name) continue;
    if (!t.revoked.empty()) return Status::InvalidArgument("the token of '" + name + "' was revoked at " + t.revoked);
    t.revoked = NowUtc();
    return SaveTokens(path, tokens);
  }
  return Status::NotFound("no token for administrator '" + name + "'");
}

Result<std::optional<TokenRecord>> TokenAuth::Check(std::string_view token) {
  std::lock_guard lk(mu_);
  struct stat st;
  int64_t mtime = -2, size = -2;
  if (::stat(path_.c_str(), &st) == 0) {
    mtime = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
    size = st.st_size;
  }
  if (mtime != mtime_ns_ || size != size_) {
    MB_ASSIGN_OR_RETURN(tokens_, LoadTokens(path_));
    mtime_ns_ = mtime;
    size_ = size;
  }
  const std::string h = HashToken(token);
  std::optional<TokenRecord> found;
  for (const auto& t : tokens_) {
    // Compare every record in constant time: the hash of a guess leaks nothing about which record is near.
    if (CRYPTO_memcmp(t.sha256.data(), h.data(), h.size()) == 0 && t.revoked.empty()) found = t;
  }
  return found;
}

}  // namespace minhbach::serve
