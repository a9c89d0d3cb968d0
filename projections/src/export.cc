#include "minhbach/export.h"

#include <nlohmann/json.hpp>

#include "minhbach/bundle.h"
#include "minhbach/projections.h"
#include "minhbach/read_models.h"
#include "schema_text.h"

namespace minhbach {

using nlohmann::json;

Result<std::string> ReportsAsOf(const Ledger& ledger, uint64_t size) {
  if (size == 0) return std::string("1970-01");
  MB_ASSIGN_OR_RETURN(std::string bytes, ledger.GetEntry(size - 1));
  MB_ASSIGN_OR_RETURN(EntryReader r, EntryReader::Open(bytes));
  return FormatTimestamp(r.root().getRecordedAtMicros(), r.root().getTzOffsetMinutes()).substr(0, 7);
}

Status ExportBundle(const Ledger& ledger, const std::string& dir, uint64_t from_size,
                    const std::function<void(uint64_t, uint64_t)>& progress, ExportSummary* summary) {
  MB_ASSIGN_OR_RETURN(auto cps, ledger.Checkpoints());
  if (cps.empty()) return Status::InvalidArgument("the ledger has no signed checkpoint: run `minhbach checkpoint` first");
  std::vector<Checkpoint> bodies;  // each stored checkpoint's body, parsed once
  for (const auto& c : cps) {
    auto n = ParseNote(c.note);
    if (!n.ok()) return n.status().WithContext("stored checkpoint #" + std::to_string(c.number));
    MB_ASSIGN_OR_RETURN(Checkpoint body, Checkpoint::Parse(n->text));
    bodies.push_back(std::move(body));
  }
  const StoredCheckpoint& latest = cps.back();
  const Checkpoint& cp = bodies.back();
  const uint64_t size = cp.size;
  if (from_size > 0) {
    bool known = false;
    std::string sizes;
    for (const Checkpoint& body : bodies) {
      known = known || body.size == from_size;
      sizes += (sizes.empty() ? "" : ", ") + std::to_string(body.size);
    }
    if (!known) {
      return Status::InvalidArgument("--from-size " + std::to_string(from_size) +
                                     " is not the size of a signed checkpoint (sizes: " + sizes + ")");
    }
    if (from_size > size) return Status::InvalidArgument("--from-size is beyond the latest checkpoint");
  }
  MB_ASSIGN_OR_RETURN(auto writer, BundleWriter::Create(dir));
  Status inner;
  MB_RETURN_IF_ERROR(ledger.ScanEntries(from_size, size - from_size, [&](uint64_t seq, std::string_view bytes) {
    inner = writer->AppendEntry(bytes);
    if (progress && (seq & 0xFFFF) == 0xFFFF) progress(seq + 1 - from_size, size - from_size);
    return inner.ok();
  }));
  MB_RETURN_IF_ERROR(inner);
  uint64_t n_cps = 0;
  for (size_t i = 0; i < cps.size(); ++i) {
    if (bodies[i].size > size) continue;
    char name[48];
    std::snprintf(name, sizeof name, "checkpoints/%06llu.note", static_cast<unsigned long long>(cps[i].number));
    MB_RETURN_IF_ERROR(writer->WriteFile(name, cps[i].WithCosignatures()));
    ++n_cps;
  }
  MB_RETURN_IF_ERROR(writer->WriteFile(kBundleCheckpoint, latest.WithCosignatures()));
  MB_RETURN_IF_ERROR(writer->WriteFile(kBundleSchema, kEntrySchemaText));
  MB_RETURN_IF_ERROR(writer->WriteFile(kBundleLogKey, ledger.verifier().ToString() + "\n"));
  if (from_size > 0) {
    MB_ASSIGN_OR_RETURN(std::vector<Hash> nodes, ledger.CompactRangeAt(from_size));
    MB_ASSIGN_OR_RETURN(Hash last, ledger.LeafHash(from_size - 1));
    MB_ASSIGN_OR_RETURN(std::vector<Hash> last_path, ledger.ProveInclusion(from_size - 1, from_size));
    MB_ASSIGN_OR_RETURN(std::vector<Hash> consistency, ledger.ProveConsistency(from_size, size));
    auto b64 = [](const std::vector<Hash>& v) {
      json a = json::array();
      for (const Hash& h : v) a.push_back(Base64Encode(h));
      return a;
    };
    MB_RETURN_IF_ERROR(writer->WriteFile(
        kBundleCompact, json{{"size", from_size}, {"nodes", b64(nodes)}, {"last_leaf", Base64Encode(last)},
                             {"last_leaf_proof", b64(last_path)}}.dump(2) + "\n"));
    MB_RETURN_IF_ERROR(writer->WriteFile(
        kBundleConsistency, json{{"from_size", from_size}, {"to_size", size}, {"proof", b64(consistency)}}.dump(2) + "\n"));
  }
  // The published reports, computed from the exported log prefix [0, size).
  MB_ASSIGN_OR_RETURN(std::string as_of, ReportsAsOf(ledger, size));
  MemoryKv kv;
  const ReadModels::Options reports_only{.reports_only = true};
  MB_RETURN_IF_ERROR(ReplayInto(ledger, size, kv, {}, reports_only));
  ReadModels models(kv, [&ledger](uint64_t seq) { return ledger.GetEntry(seq); }, reports_only);
  MB_ASSIGN_OR_RETURN(json reports, models.Reports(as_of));
  MB_RETURN_IF_ERROR(writer->WriteFile(kBundleReports, reports.dump(1, ' ', false, json::error_handler_t::replace) + "\n"));

  BundleManifest m;
  m.origin = cp.origin;
  m.from_size = from_size;
  m.size = size;
  m.root = Base64Encode(cp.root);
  m.reports_as_of = as_of;
  MB_RETURN_IF_ERROR(writer->Finish(m));
  if (progress) progress(size - from_size, size - from_size);
  if (summary) {
    summary->from_size = from_size;
    summary->size = size;
    summary->entries = size - from_size;
    summary->checkpoints = n_cps;
    summary->unsigned_entries = ledger.size() - size;
    summary->root = m.root;
    summary->reports_as_of = as_of;
  }
  return Status::Ok();
}

Result<std::string> ChildProofJson(const Ledger& l, const ReadModels& models, const std::string& child, uint64_t* later,
                                   uint64_t* covered, uint64_t* tree_size) {
  MB_ASSIGN_OR_RETURN(auto rows, models.ChildHistory(child));
  MB_ASSIGN_OR_RETURN(auto cps, l.Checkpoints());
  if (cps.empty()) return Status::InvalidArgument("the ledger has no signed checkpoint: run `minhbach checkpoint`");
  MB_ASSIGN_OR_RETURN(auto note, ParseNote(cps.back().note));
  MB_ASSIGN_OR_RETURN(auto cp, Checkpoint::Parse(note.text));
  std::vector<ProofEntry> entries;
  uint64_t newer = 0;
  for (const auto& r : rows) {
    if (r.seq >= cp.size) {
      ++newer;
      continue;
    }
    MB_ASSIGN_OR_RETURN(std::string bytes, l.GetEntry(r.seq));
    MB_ASSIGN_OR_RETURN(auto path, l.ProveInclusion(r.seq, cp.size));
    entries.push_back({r.seq, std::move(bytes), std::move(path)});
  }
  if (later) *later = newer;
  if (covered) *covered = entries.size();
  if (tree_size) *tree_size = cp.size;
  return FormatChildProof(child, cps.back().WithCosignatures(), l.verifier().ToString(), entries);
}

}  // namespace minhbach
