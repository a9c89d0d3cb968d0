#include "minhbach/audit.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "minhbach/read_models.h"

namespace minhbach {

using nlohmann::json;

namespace {

// The first place two JSON values differ: its path ("balances[3].balance") and the two values there; an
// empty path when equal. Numbers must both be integers and equal (reports hold integer VND only).
struct Difference {
  std::string path;
  const json* published = nullptr;
  const json* recomputed = nullptr;
};

bool FirstDifference(const json& a, const json& b, const std::string& path, Difference* d) {
  auto differ = [&](const std::string& p) {
    *d = Difference{p, &a, &b};
    return true;
  };
  if (a.is_number() || b.is_number()) {
    if (!a.is_number_integer() || !b.is_number_integer()) return differ(path);
    return a == b ? false : differ(path);
  }
  if (a.type() != b.type()) return differ(path);
  if (a.is_object()) {
    for (auto it = a.begin(); it != a.end(); ++it) {
      if (!b.contains(it.key())) return differ(path + "." + it.key());
      if (FirstDifference(it.value(), b.at(it.key()), path + "." + it.key(), d)) return true;
    }
    for (auto it = b.begin(); it != b.end(); ++it) {
      if (!a.contains(it.key())) return differ(path + "." + it.key());
    }
    return false;
  }
  if (a.is_array()) {
    for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
      if (FirstDifference(a[i], b[i], path + "[" + std::to_string(i) + "]", d)) return true;
    }
    if (a.size() == b.size()) return false;
    return differ(path + " (length " + std::to_string(a.size()) + " vs " + std::to_string(b.size()) + ")");
  }
  return a == b ? false : differ(path);
}

// A value for a message: short, and never deep (the published document's nesting is bounded at parse time).
std::string Show(const json* v) {
  if (!v) return "(absent)";
  if (v->is_structured()) return v->is_array() ? "[... " + std::to_string(v->size()) + " items]" : "{...}";
  std::string t = v->dump(-1, ' ', false, json::error_handler_t::replace);
  return t.size() > 200 ? t.substr(0, 200) + "..." : t;
}

constexpr uint64_t kReportsBytesMax = 64u << 20;
constexpr int kReportsDepthMax = 16;

}  // namespace

Result<AuditReport> AuditBundle(const std::string& dir, BundleVerifyOptions options) {
  try {
    AuditReport out;
    MemoryKv kv;
    BundleVerifier* verifier_ptr = nullptr;
    ReadModels models(kv, [&verifier_ptr](uint64_t seq) { return verifier_ptr->Entry(seq); },
                      ReadModels::Options{.reports_only = true});
    // An incremental bundle without its base cannot replay the read models from genesis: decided from the
    // manifest the verifier itself checked.
    bool replaying = false;
    const bool has_base = !options.base_dir.empty();
    auto user_on_manifest = options.on_manifest;
    options.on_manifest = [&](const BundleManifest& m) {
      replaying = m.from_size == 0 || has_base;
      if (user_on_manifest) user_on_manifest(m);
    };
    auto user_on_entry = options.on_entry;
    options.on_entry = [&](uint64_t seq, std::string_view bytes, const Hash& leaf) -> Status {
      if (user_on_entry) MB_RETURN_IF_ERROR(user_on_entry(seq, bytes, leaf));
      return replaying ? models.ApplyChecked(seq, bytes, leaf) : Status::Ok();
    };
    BundleVerifier verifier(options);
    verifier_ptr = &verifier;
    MB_ASSIGN_OR_RETURN(out.bundle, verifier.Run(dir));
    if (!replaying || !out.bundle.domain_checked) {
      out.reports_note = "reports not checked: this bundle starts at entry " + std::to_string(out.bundle.from_size) +
                         "; pass the earlier full bundle with --base to recompute them";
      return out;
    }
    MB_RETURN_IF_ERROR(models.Sync());
    MB_ASSIGN_OR_RETURN(json mine, models.Reports(out.bundle.reports_as_of));
    const std::filesystem::path path = std::filesystem::path(dir) / kBundleReports;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(std::filesystem::symlink_status(path, ec))) {
      return Status::Corruption("the bundle has no regular file " + std::string(kBundleReports));
    }
    if (std::filesystem::file_size(path, ec) > kReportsBytesMax) {
      return Status::Corruption(std::string(kBundleReports) + " is larger than " + std::to_string(kReportsBytesMax) + " bytes");
    }
    std::ifstream in(path, std::ios::binary);
    json published;
    bool too_deep = false;
    json::parser_callback_t limit = [&](int d, json::parse_event_t, json&) {

      if (d > kReportsDepthMax) too_deep = true;
      return !too_deep;
    };
    try {
      published = json::parse(in, limit);
    } catch (const json::exception& e) {
      return Status::Corruption(std::string(kBundleReports) + " is not valid JSON: " + e.what());
    }
    if (too_deep) return Status::Corruption(std::string(kBundleReports) + " is nested deeper than the reports can be");
    Difference diff;
    if (FirstDifference(published, mine, "reports", &diff)) {
      return Status::Corruption("published report differs from the recomputation at " + diff.path + ": published " +
                                Show(diff.published) + ", recomputed " + Show(diff.recomputed));
    }
    out.reports_checked = true;
    out.bundle.checks.push_back("published reports (balances, " + std::to_string(mine.at("programmes").size()) +
                                " programme reports, sponsorship compliance as of " + out.bundle.reports_as_of +
                                ") equal their recomputation from the entries");
    return out;
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("bundle: ") + e.what());
  }
}

}  // namespace minhbach
