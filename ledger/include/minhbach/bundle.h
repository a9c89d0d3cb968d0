// Audit bundles (docs/format/bundle.md): a folder an inspector can verify offline, without RocksDB and
// without trusting the fund's software: the entries' canonical bytes, every checkpoint (with witness
// cosignatures), the schema, the log's verifier key, a manifest of sizes and SHA-256s, and the published reports.
// An incremental bundle (from size N > 0) carries only entries N.. plus the compact range of tree N and a
// consistency proof from N, so an inspector holding the older bundle needs only the new part.
//
// Also here: child proofs (docs/format/proof.md), inclusion proofs of a child's entries that anyone can
// check with an RFC 9162 implementation.
#pragma once

#include <cstdint>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "minhbach/hash.h"
#include "minhbach/merkle.h"
#include "minhbach/note.h"
#include "minhbach/status.h"

namespace minhbach {

inline constexpr const char* kBundleFormat = "minhbach-bundle-1";
inline constexpr const char* kBundleManifest = "manifest.json";
inline constexpr const char* kBundleEntries = "entries.bin";
inline constexpr const char* kBundleCheckpoint = "checkpoint.note";
inline constexpr const char* kBundleReports = "reports/reports.json";
inline constexpr const char* kBundleLogKey = "keys/log.vkey";
inline constexpr const char* kBundleSchema = "schema/entry.capnp";
inline constexpr const char* kBundleCompact = "proof/compact.json";
inline constexpr const char* kBundleConsistency = "proof/consistency.json";

struct BundleFile {
  std::string path;     // relative, '/'-separated
  uint64_t bytes = 0;
  std::string sha256;   // lowercase hex
};

struct BundleManifest {
  std::string format = kBundleFormat;
  std::string origin;
  uint64_t from_size = 0;      // first entry in entries.bin
  uint64_t size = 0;           // tree size of checkpoint.note
  std::string root;            // base64 root of that tree
  std::string reports_as_of;   // YYYY-MM the sponsorship compliance in the reports is computed as of
  std::vector<BundleFile> files;  // every file but the manifest, sorted by path
  std::string ToJson() const;
  static Result<BundleManifest> Parse(std::string_view json);
};

// Writes a bundle into `dir`.partial and renames it to `dir` on Finish, so a bundle folder is either complete
// or absent. `dir` must not exist.
class BundleWriter {
 public:
  static Result<std::unique_ptr<BundleWriter>> Create(const std::string& dir);
  ~BundleWriter();
  // Appends one entry to entries.bin: u32 big-endian length || canonical bytes.
  Status AppendEntry(std::string_view bytes);
  // Writes a whole file (relative path; folders are created).
  Status WriteFile(const std::string& path, std::string_view bytes);
  // Closes entries.bin, hashes every file into the manifest, writes manifest.json, syncs and renames.
  Status Finish(BundleManifest manifest);

 private:
  BundleWriter() = default;
  std::string dir_, tmp_;
  std::ofstream entries_;
  bool finished_ = false;
};

struct BundleVerifyOptions {
  // The log's verifier key. Default: the bundle's keys/log.vkey, which whoever made the bundle chose:
  // inspectors should pass the key they obtained independently.
  std::optional<Verifier> log_key;
  // A checkpoint note the inspector already trusts (from an earlier bundle, a witness, a newspaper): the bundle
  // must extend it (same root at its size). A different root at that size is a fork.
  std::optional<std::string> trusted_checkpoint;
  // Witness keys (cosignature/v1, type 0x04) and how many of them must have cosigned the bundle's checkpoint.
  std::vector<Verifier> witnesses;
  size_t min_witnesses = 0;
  // For an incremental bundle: a full bundle of the earlier size, whose entries are replayed first so that
  // every invariant can be checked. Without it only the log structure of the new part is checked.
  std::string base_dir;
  // Called every ~64k entries with (entries done, total).
  std::function<void(uint64_t, uint64_t)> progress;
  // Called for every entry in log order after it passed every check, with its leaf hash (read models use it).
  std::function<Status(uint64_t seq, std::string_view bytes, const Hash& leaf)> on_entry;
  // Called once the bundle's manifest and files are checked, before any entry.
  std::function<void(const BundleManifest&)> on_manifest;
};

struct BundleReport {
  std::string origin;
  uint64_t from_size = 0, size = 0, entries_checked = 0, checkpoints = 0;
  std::string root;
  bool domain_checked = false;        // every invariant replayed from genesis
  bool log_key_from_bundle = false;   // no --key given: the bundle's own key was used
  std::optional<uint64_t> trusted_size;  // size of the trusted checkpoint the bundle was shown to extend
  std::vector<std::string> witnesses_ok;  // names of the witnesses whose cosignature verified
  std::string reports_as_of;
  std::string checkpoint_note;       // checkpoint.note exactly as verified (a witness cosigns this text)
  std::string log_key;               // the log's verifier key the checks used
  std::vector<std::string> checks;   // what was checked, in order, for the report
  double seconds = 0;
};

class BundleVerifier {
 public:
  explicit BundleVerifier(BundleVerifyOptions options);
  ~BundleVerifier();
  // Checks everything; Corruption naming the first problem when the bundle is bad, InvalidArgument for a bad
  // option (e.g. an unreadable trusted checkpoint).
  Result<BundleReport> Run(const std::string& dir);
  // Canonical bytes of an entry already read (during on_entry and after Run).
  Result<std::string> Entry(uint64_t seq) const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// ---- child proofs ----

struct ProofEntry {
  uint64_t seq = 0;
  std::string entry;                 // canonical bytes
  std::vector<Hash> inclusion;       // RFC 9162 PATH(seq, D[0:size]) of the checkpoint
};

// The JSON document of docs/format/proof.md.
std::string FormatChildProof(const std::string& child, const std::string& checkpoint_note, const std::string& log_vkey,
                             const std::vector<ProofEntry>& entries);

struct ProofReport {
  std::string child, origin;
  uint64_t size = 0, entries = 0;
  bool key_from_proof = false;
};

// Checks a child proof: the checkpoint's signature (by `key`, else the key the proof names), and for every entry
// its leaf hash, its inclusion in the checkpoint's tree, that it decodes as a valid entry of the stated seq and
// that it concerns the child. Corruption naming the first entry that fails.
Result<ProofReport> VerifyChildProof(std::string_view json, const std::optional<Verifier>& key);

// True when the entry's payload names `child` (registration, child-restricted donation, sponsorship agreement,
// entitlement, disbursement). Reversals and sponsorship amendments/ends name an entry or a sponsorship instead.
bool PayloadNamesChild(std::string_view entry_bytes, const std::string& child);

}  // namespace minhbach
