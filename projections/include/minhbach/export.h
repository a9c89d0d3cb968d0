// `minhbach export`: writes an audit bundle (docs/format/bundle.md) of a ledger up to its latest checkpoint.
#pragma once

#include <functional>
#include <string>

#include "minhbach/ledger.h"
#include "minhbach/read_models.h"

namespace minhbach {

struct ExportSummary {
  uint64_t from_size = 0, size = 0, entries = 0, checkpoints = 0, bytes = 0;
  uint64_t unsigned_entries = 0;  // entries after the latest checkpoint, not exported
  std::string root, reports_as_of;
};

// Exports entries [from_size, size of the latest checkpoint). `from_size` must be 0 or the size of a signed
// checkpoint (the one the inspector's earlier bundle ended at). The folder `dir` must not exist.
Status ExportBundle(const Ledger& ledger, const std::string& dir, uint64_t from_size,
                    const std::function<void(uint64_t, uint64_t)>& progress, ExportSummary* summary);

// The month (YYYY-MM) reports of a log of `size` entries are computed as of: the recording month of its
// last entry ("1970-01" for an empty log).
Result<std::string> ReportsAsOf(const Ledger& ledger, uint64_t size);

// The child proof of docs/format/proof.md: every entry of the child's history covered by the latest signed
// checkpoint, with its inclusion proof. `later` (if given) receives how many newer entries are not yet in a signed
// checkpoint. NotFound for an unknown child; InvalidArgument when the ledger has no checkpoint.
Result<std::string> ChildProofJson(const Ledger& ledger, const ReadModels& models, const std::string& child,
                                   uint64_t* later = nullptr, uint64_t* covered = nullptr, uint64_t* tree_size = nullptr);

}  // namespace minhbach
