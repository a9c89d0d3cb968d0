// Auditing a bundle end to end, without RocksDB (minhbach-verify): the log checks of BundleVerifier plus the
// read models replayed from the bundle's entries and compared with the bundle's published reports.
#pragma once

#include <string>

#include "minhbach/bundle.h"

namespace minhbach {

struct AuditReport {
  BundleReport bundle;
  bool reports_checked = false;  // false when the bundle is incremental and no base was given
  std::string reports_note;      // why they were not checked
};

// Corruption naming the first problem: the log (see BundleVerifier) or the first report that differs from
// the recomputation ("reports.balances[3].balance: published 5000000, recomputed 4000000").
Result<AuditReport> AuditBundle(const std::string& dir, BundleVerifyOptions options);

}  // namespace minhbach
