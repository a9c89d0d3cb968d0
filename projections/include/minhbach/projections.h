// The read side kept on disk: the read models of read_models.h in their own RocksDB instance
// (ledger_dir/projections), never in the ledger's store: they are disposable. See docs/projections.md.
//
// The store holds the log position it reflects (the next sequence number and the leaf hash of the entry
// before it); opening catches up from there, and read models whose position does not match the log, or that
// cannot be read, are rebuilt from genesis, never trusted. Incremental catch-up and a full rebuild produce the
// same bytes (a test compares them), and the same bytes as an in-memory replay (`verify --rebuild-compare`).
//
// Thread-safety: one thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "minhbach/ledger.h"
#include "minhbach/read_models.h"

namespace minhbach {

class Projections {
 public:
  ~Projections();
  // Opens (creating if needed) the read models of `ledger` and catches them up. `progress` is called
  // during that catch-up (or rebuild) with (entries done, total); it is not kept after Open returns.
  static Result<std::unique_ptr<Projections>> Open(const Ledger& ledger, const std::string& dir,
                                                   std::shared_ptr<spdlog::logger> log,
                                                   std::function<void(uint64_t, uint64_t)> progress = {});
  // Applies every entry appended since the last call.
  Status CatchUp(const Ledger& ledger);
  // Drops every read model and replays the whole log; `progress` as for Open.
  Status Rebuild(const Ledger& ledger, std::function<void(uint64_t, uint64_t)> progress = {});
  uint64_t position() const;

  // The queries (balances, child history, sponsorships, donor trace, programme reports, statements).
  const ReadModels& models() const;

  // Every stored read-model record (without the position and format records).
  std::map<std::string, std::string> Dump() const;

  class Impl;

 private:
  explicit Projections(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Replays entries [0, size) of `ledger` into `kv` with a fresh ReadModels (synced on return): the read models
// as of any earlier point of the log, and the reference a stored copy is compared with.
Status ReplayInto(const Ledger& ledger, uint64_t size, Kv& kv,
                  const std::function<void(uint64_t, uint64_t)>& progress = {}, ReadModels::Options options = {});

}  // namespace minhbach
