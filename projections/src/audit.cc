#include "minhbach/audit.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "minhbach/read_models.h"

namespace minhbach {

using nlohmann::json;

namespace {

// The first place two JSON values differ, as a path ("balances[3].balance"); "" when equal.
std::string FirstDifference(const json& a, const json& b, const std::string& path) {
  if (a.is_number() && b.is_number()) return a == b ? "" : path;  // 0 read back is unsigned, computed is signed
  if (a.type() != b.type()) return path;
  if (a.is_object()) {
    for (auto it = a.begin(); it != a.end(); ++it) {
      if (!b.contains(it.key())) return path + "." + it.key();
      std::string d = FirstDifference(it.value(), b.at(it.key()), path + "." + it.key());
      if (!d.empty()) return d;
    }
    for (auto it = b.begin(); it != b.end(); ++it) {
      if (!a.contains(it.key())) return path + "." + it.key();
    }
    return "";
  }
  if (a.is_array()) {
    for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
      std::string d = FirstDifference(a[i], b[i], path + "[" + std::to_string(i) + "]");
      if (!d.empty()) return d;
    }
    return a.size() == b.size() ? "" : path + " (length " + std::to_string(a.size()) + " vs " + std::to_string(b.size()) + ")";
  }
  return a == b ? "" : path;
}

const json* At(const json& j, const std::string& path) {
  // Resolves the simple paths FirstDifference builds, for the message.
  const json* cur = &j;
  size_t i = 0;
  while (i < path.size() && cur) {
    if (path[i] == '.') {
      size_t e = path.find_first_of(".[ ", i + 1);
      std::string k = path.substr(i + 1, e == std::string::npos ? std::string::npos : e - i - 1);
      cur = cur->is_object() && cur->contains(k) ? &cur->at(k) : nullptr;
      i = e == std::string::npos ? path.size() : e;
    } else if (path[i] == '[') {
      size_t e = path.find(']', i);
      size_t idx = std::stoul(path.substr(i + 1, e - i - 1));
      cur = cur->is_array() && idx < cur->size() ? &(*cur)[idx] : nullptr;
      i = e + 1;
    } else {
      break;
    }
  }
  return cur;
}

}  // namespace

Result<AuditReport> AuditBundle(const std::string& dir, BundleVerifyOptions options) {
  AuditReport out;
  MemoryKv kv;
  BundleVerifier* verifier_ptr = nullptr;
  ReadModels models(kv, [&verifier_ptr](uint64_t seq) { return verifier_ptr->Entry(seq); },
                    ReadModels::Options{.reports_only = true});
  bool replaying = true;
  auto user_on_entry = options.on_entry;
  options.on_entry = [&](uint64_t seq, std::string_view bytes) -> Status {
    if (user_on_entry) MB_RETURN_IF_ERROR(user_on_entry(seq, bytes));
    return replaying ? models.Apply(seq, bytes) : Status::Ok();
  };
  BundleVerifier verifier(options);
  verifier_ptr = &verifier;
  // An incremental bundle without its base: the read models cannot be replayed from genesis.
  {
    std::ifstream in(std::filesystem::path(dir) / kBundleManifest);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto m = BundleManifest::Parse(text);
    if (m.ok() && m->from_size > 0 && options.base_dir.empty()) replaying = false;
  }
  MB_ASSIGN_OR_RETURN(out.bundle, verifier.Run(dir));
  if (!replaying || !out.bundle.domain_checked) {
    out.reports_note = "reports not checked: this bundle starts at entry " + std::to_string(out.bundle.from_size) +
                       "; pass the earlier full bundle with --base to recompute them";
    return out;
  }
  MB_RETURN_IF_ERROR(models.Sync());
  MB_ASSIGN_OR_RETURN(json mine, models.Reports(out.bundle.reports_as_of));
  std::ifstream in(std::filesystem::path(dir) / kBundleReports, std::ios::binary);
  if (!in) return Status::Corruption("the bundle has no " + std::string(kBundleReports));
  json published;
  try {
    published = json::parse(in);
  } catch (const json::exception& e) {
    return Status::Corruption(std::string(kBundleReports) + " is not valid JSON: " + e.what());
  }
  std::string diff = FirstDifference(published, mine, "reports");
  if (!diff.empty()) {
    std::string inner = diff.substr(7);  // without "reports"
    const json* p = At(published, inner);
    const json* r = At(mine, inner);
    return Status::Corruption("published report differs from the recomputation at " + diff + ": published " +
                              (p ? p->dump() : "(absent)") + ", recomputed " + (r ? r->dump() : "(absent)"));
  }
  out.reports_checked = true;
  out.bundle.checks.push_back("published reports (balances, " + std::to_string(mine.at("programmes").size()) +
                              " programme reports, sponsorship compliance as of " + out.bundle.reports_as_of +
                              ") equal their recomputation from the entries");
  return out;
}

}  // namespace minhbach
