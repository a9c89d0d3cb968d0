// Helpers for ledger tests: temporary ledgers, synthetic events, raw store access for tampering.
#pragma once

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "minhbach/ledger.h"

namespace minhbach::testing {

std::shared_ptr<spdlog::logger> NullLogger();

// A fresh directory under the system temp dir, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// n synthetic note events with keys "<prefix>-<i>", realistic sizes (~230-byte entries).
std::vector<EventDraft> Events(size_t n, const std::string& prefix, std::mt19937_64* rng = nullptr);

LedgerOptions FixedClock();
// Options of a read-only open.
LedgerOptions ReadOnly();

// Every key/value of every column family of the store in `dir`, for byte-for-byte comparison.
std::string DumpStore(const std::string& ledger_dir);

// A whole file's bytes, and a file replaced by bytes (for tampering and crash states).
std::string ReadFileBytes(const std::filesystem::path& p);
void WriteFileBytes(const std::filesystem::path& p, const std::string& bytes);

}  // namespace minhbach::testing
