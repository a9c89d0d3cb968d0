#include "minhbach/bundle.h"

#include <openssl/evp.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "minhbach/domain.h"
#include "minhbach/entry.h"

namespace minhbach {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr uint64_t kSmallFileMax = 16u << 20;  // notes, proofs, proof files: read whole, bounded
constexpr uint64_t kManifestBytesMax = 4u << 20;

std::string Hex(const unsigned char* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out.push_back(d[p[i] >> 4]);
    out.push_back(d[p[i] & 15]);
  }
  return out;
}

struct MdCtx {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~MdCtx() { EVP_MD_CTX_free(ctx); }
};

// Size and SHA-256 (hex) of a file, streamed.
Status HashFile(const fs::path& path, uint64_t* bytes, std::string* hex) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Corruption("cannot read " + path.string());
  MdCtx md;
  if (!md.ctx || EVP_DigestInit_ex(md.ctx, EVP_sha256(), nullptr) != 1) return Status::Internal("OpenSSL SHA-256 init failed");
  std::vector<char> buf(1 << 20);
  *bytes = 0;
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    std::streamsize n = in.gcount();
    if (n <= 0) break;
    EVP_DigestUpdate(md.ctx, buf.data(), static_cast<size_t>(n));
    *bytes += static_cast<uint64_t>(n);
  }
  unsigned char out[32];
  unsigned int len = 0;
  EVP_DigestFinal_ex(md.ctx, out, &len);
  *hex = Hex(out, 32);
  return Status::Ok();
}

Result<std::string> ReadSmall(const fs::path& path, uint64_t limit = kSmallFileMax) {
  std::error_code ec;
  if (!fs::is_regular_file(fs::symlink_status(path, ec))) {
    return Status::Corruption(path.string() + " is missing or not a regular file (symlinks are refused)");
  }
  uint64_t size = fs::file_size(path, ec);
  if (ec) return Status::Corruption("cannot read " + path.string() + ": " + ec.message());
  if (size > limit) return Status::Corruption(path.string() + " is larger than " + std::to_string(limit) + " bytes");
  std::ifstream in(path, std::ios::binary);
  std::string data(size, '\0');
  if (!in.read(data.data(), static_cast<std::streamsize>(size))) return Status::Corruption("cannot read " + path.string());
  return data;
}

Status SyncPath(const fs::path& p, bool dir) {
  int fd = ::open(p.c_str(), dir ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) return Status::IOError("cannot open " + p.string() + " to sync it");
  int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? Status::Ok() : Status::IOError("fsync of " + p.string() + " failed");
}

uint32_t ReadBE32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

std::vector<Hash> HashesFromJson(const json& a, const std::string& what) {
  std::vector<Hash> out;
  for (const auto& h : a) {
    auto v = HashFromBase64(h.get<std::string>());
    if (!v.ok()) throw std::runtime_error(what + ": " + v.status().message());
    out.push_back(*v);
  }
  return out;
}

}  // namespace

// ---- manifest ----

std::string BundleManifest::ToJson() const {
  json files_json = json::array();
  for (const auto& f : files) files_json.push_back({{"path", f.path}, {"bytes", f.bytes}, {"sha256", f.sha256}});
  json j = {{"format", format}, {"origin", origin}, {"from_size", from_size}, {"size", size}, {"root", root},
            {"reports_as_of", reports_as_of}, {"files", files_json}};
  return j.dump(2) + "\n";
}

Result<BundleManifest> BundleManifest::Parse(std::string_view text) {
  try {
    json j = json::parse(text);
    BundleManifest m;
    m.format = j.at("format");
    if (m.format != kBundleFormat) {
      return Status::Corruption("manifest: format '" + m.format + "', expected '" + kBundleFormat + "'");
    }
    auto unsigned_at = [&](const json& o, const char* k) -> uint64_t {
      const json& v = o.at(k);
      if (!v.is_number_unsigned()) throw std::runtime_error(std::string("'") + k + "' must be an unsigned integer");
      return v.get<uint64_t>();
    };
    m.origin = j.at("origin");
    m.from_size = unsigned_at(j, "from_size");
    m.size = unsigned_at(j, "size");
    m.root = j.at("root");
    m.reports_as_of = j.at("reports_as_of");
    for (const auto& f : j.at("files")) {
      BundleFile bf{f.at("path"), unsigned_at(f, "bytes"), f.at("sha256")};
      if (!m.files.empty() && bf.path <= m.files.back().path) {
        return Status::Corruption("manifest: files must be listed once each, sorted by path ('" + bf.path + "')");
      }
      if (bf.path.empty() || bf.path[0] == '/' || bf.path.find("..") != std::string::npos) {
        return Status::Corruption("manifest: file path '" + bf.path + "' is not a plain relative path");
      }
      m.files.push_back(std::move(bf));
    }
    if (m.from_size > m.size) return Status::Corruption("manifest: from_size is beyond size");
    return m;
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("manifest.json is not a valid manifest: ") + e.what());
  }
}

// ---- writer ----

Result<std::unique_ptr<BundleWriter>> BundleWriter::Create(const std::string& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec)) return Status::InvalidArgument("bundle folder " + dir + " already exists");
  std::unique_ptr<BundleWriter> w(new BundleWriter());
  w->dir_ = dir;
  w->tmp_ = dir + ".partial";
  fs::remove_all(w->tmp_, ec);
  if (!fs::create_directories(w->tmp_, ec) || ec) return Status::IOError("cannot create " + w->tmp_ + ": " + ec.message());
  w->entries_.open(fs::path(w->tmp_) / kBundleEntries, std::ios::binary | std::ios::trunc);
  if (!w->entries_) return Status::IOError("cannot create " + w->tmp_ + "/" + kBundleEntries);
  return w;
}

BundleWriter::~BundleWriter() {
  if (!finished_) {
    entries_.close();
    std::error_code ec;
    fs::remove_all(tmp_, ec);
  }
}

Status BundleWriter::AppendEntry(std::string_view bytes) {
  unsigned char len[4] = {static_cast<unsigned char>(bytes.size() >> 24), static_cast<unsigned char>(bytes.size() >> 16),
                          static_cast<unsigned char>(bytes.size() >> 8), static_cast<unsigned char>(bytes.size())};
  entries_.write(reinterpret_cast<const char*>(len), 4);
  entries_.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!entries_) return Status::IOError("writing " + tmp_ + "/" + kBundleEntries);
  return Status::Ok();
}

Status BundleWriter::WriteFile(const std::string& path, std::string_view bytes) {
  fs::path p = fs::path(tmp_) / path;
  std::error_code ec;
  fs::create_directories(p.parent_path(), ec);
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) return Status::IOError("writing " + p.string());
  return Status::Ok();
}

Status BundleWriter::Finish(BundleManifest manifest) {
  entries_.close();
  if (!entries_) return Status::IOError("closing " + tmp_ + "/" + kBundleEntries);
  manifest.files.clear();
  std::vector<fs::path> all;
  for (const auto& e : fs::recursive_directory_iterator(tmp_)) {
    if (e.is_regular_file()) all.push_back(e.path());
  }
  for (const fs::path& p : all) {
    BundleFile f;
    f.path = fs::relative(p, tmp_).generic_string();
    MB_RETURN_IF_ERROR(HashFile(p, &f.bytes, &f.sha256));
    MB_RETURN_IF_ERROR(SyncPath(p, false));
    manifest.files.push_back(std::move(f));
  }
  std::sort(manifest.files.begin(), manifest.files.end(), [](const BundleFile& a, const BundleFile& b) { return a.path < b.path; });
  MB_RETURN_IF_ERROR(WriteFile(kBundleManifest, manifest.ToJson()));
  MB_RETURN_IF_ERROR(SyncPath(fs::path(tmp_) / kBundleManifest, false));
  for (const auto& e : fs::recursive_directory_iterator(tmp_)) {
    if (e.is_directory()) MB_RETURN_IF_ERROR(SyncPath(e.path(), true));
  }
  MB_RETURN_IF_ERROR(SyncPath(tmp_, true));
  std::error_code ec;
  fs::rename(tmp_, dir_, ec);
  if (ec) return Status::IOError("renaming " + tmp_ + " to " + dir_ + ": " + ec.message());
  fs::path parent = fs::absolute(dir_).parent_path();
  MB_RETURN_IF_ERROR(SyncPath(parent, true));
  finished_ = true;
  return Status::Ok();
}

// ---- verifier ----

class BundleVerifier::Impl {
 public:
  explicit Impl(BundleVerifyOptions o) : options(std::move(o)) {}

  BundleVerifyOptions options;
  BundleReport report;
  Sha256 sha;
  Verifier log_key{"unset", {}};
  // Where each entry's bytes are: (file index, offset of the bytes).
  std::vector<std::string> files;
  uint64_t first_seq = 0;  // where[0] is entry first_seq (an incremental bundle without its base)
  std::vector<std::pair<uint32_t, uint64_t>> where;
  std::vector<uint32_t> lengths;
  std::vector<uint64_t> leaf_prefix;  // first 8 bytes of each entry's leaf hash: bytes read back are re-checked
  std::string last_month;             // recording month of the last entry seen
  mutable std::vector<std::unique_ptr<std::ifstream>> readers;
  // Hashes of idempotency keys (first 16 bytes of SHA-256), sorted and checked for duplicates at the end.
  std::vector<std::pair<uint64_t, uint64_t>> key_hashes;
  std::map<uint64_t, Hash> checkpoint_roots;  // size -> root, from every signed checkpoint of the bundle
  CompactRange tree;
  Hash prev{};
  std::unique_ptr<DomainState> domain;
  std::optional<Checkpoint> trusted;
  uint64_t total = 0;

  Result<BundleManifest> CheckFiles(const fs::path& dir, const std::string& label);
  Status CheckCheckpoints(const fs::path& dir, const BundleManifest& m, const std::string& label);
  Status ReadEntries(const fs::path& dir, uint64_t from, uint64_t to, const std::string& label);
  Status CheckEntry(uint64_t seq, std::string_view bytes);
  Status AtSize(uint64_t size);
  Result<std::string> Read(uint64_t seq) const;
  Result<BundleReport> Run(const std::string& dir);
};

BundleVerifier::BundleVerifier(BundleVerifyOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
BundleVerifier::~BundleVerifier() = default;

Result<BundleReport> BundleVerifier::Run(const std::string& dir) {
  try {
    return impl_->Run(dir);
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("bundle: ") + e.what());
  }
}

Result<std::string> BundleVerifier::Entry(uint64_t seq) const { return impl_->Read(seq); }

Result<std::string> BundleVerifier::Impl::Read(uint64_t seq) const {
  if (seq < first_seq || seq - first_seq >= where.size()) {
    return Status::NotFound("entry " + std::to_string(seq) + " is not in the bundle");
  }
  const uint64_t i = seq - first_seq;
  auto [file, offset] = where[i];
  if (readers.size() <= file) readers.resize(file + 1);
  if (!readers[file]) readers[file] = std::make_unique<std::ifstream>(files[file], std::ios::binary);
  std::ifstream& in = *readers[file];
  in.clear();
  in.seekg(static_cast<std::streamoff>(offset));
  std::string out(lengths[i], '\0');
  if (!in.read(out.data(), static_cast<std::streamsize>(out.size()))) {
    return Status::Corruption("cannot read entry " + std::to_string(seq) + " back from " + files[file]);
  }
  Sha256 sha2;
  Hash leaf = sha2.Leaf(out);
  uint64_t prefix = 0;
  std::memcpy(&prefix, leaf.data(), 8);
  if (prefix != leaf_prefix[i]) {
    return Status::Corruption("entry " + std::to_string(seq) + " changed on disk while being verified");
  }
  return out;
}

// The manifest, and every file it lists with its size and SHA-256; no file outside it.
Result<BundleManifest> BundleVerifier::Impl::CheckFiles(const fs::path& dir, const std::string& label) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return Status::InvalidArgument(label + " " + dir.string() + " is not a folder");
  MB_ASSIGN_OR_RETURN(std::string text, ReadSmall(dir / kBundleManifest, kManifestBytesMax));
  MB_ASSIGN_OR_RETURN(BundleManifest m, BundleManifest::Parse(text));
  std::set<std::string> listed;
  for (const BundleFile& f : m.files) {
    listed.insert(f.path);
    uint64_t bytes = 0;
    std::string hex;
    if (!fs::is_regular_file(fs::symlink_status(dir / f.path, ec))) {
      return Status::Corruption(label + ": file " + f.path + " listed in the manifest is missing or not a regular file");
    }
    MB_RETURN_IF_ERROR(HashFile(dir / f.path, &bytes, &hex));
    if (bytes != f.bytes) {
      return Status::Corruption(label + ": " + f.path + " is " + std::to_string(bytes) + " bytes, the manifest says " +
                                std::to_string(f.bytes));
    }
    if (hex != f.sha256) return Status::Corruption(label + ": SHA-256 of " + f.path + " does not match the manifest");
  }
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    std::string rel = fs::relative(e.path(), dir).generic_string();
    if (e.is_symlink()) return Status::Corruption(label + ": " + rel + " is a symbolic link (not allowed in a bundle)");
    if (e.is_directory()) continue;
    if (!e.is_regular_file()) return Status::Corruption(label + ": " + rel + " is not a regular file");
    if (rel != kBundleManifest && !listed.count(rel)) return Status::Corruption(label + ": file " + rel + " is not in the manifest");
  }
  for (const char* need : {kBundleEntries, kBundleCheckpoint, kBundleLogKey}) {
    if (!listed.count(need)) return Status::Corruption(label + ": the manifest lists no " + std::string(need));
  }
  report.checks.push_back(label + ": manifest lists " + std::to_string(m.files.size()) + " files; sizes and SHA-256 match");
  return m;
}

Status BundleVerifier::Impl::CheckCheckpoints(const fs::path& dir, const BundleManifest& m, const std::string& label) {
  auto check_note = [&](const std::string& rel) -> Result<std::pair<Checkpoint, SignedNote>> {
    MB_ASSIGN_OR_RETURN(std::string text, ReadSmall(dir / rel, kNoteBytesMax));
    auto note = ParseNote(text);
    if (!note.ok()) return Status::Corruption(label + ": " + rel + ": " + note.status().message());
    if (Status s = VerifyNote(*note, log_key); !s.ok()) {
      return Status::Corruption(label + ": " + rel + ": not signed by the log key " + log_key.ToString() + " (" + s.message() + ")");
    }
    auto cp = Checkpoint::Parse(note->text);
    if (!cp.ok()) return Status::Corruption(label + ": " + rel + ": " + cp.status().message());
    if (cp->origin != m.origin) return Status::Corruption(label + ": " + rel + ": origin '" + cp->origin + "', expected '" + m.origin + "'");
    if (cp->size > m.size) {
      return Status::Corruption(label + ": " + rel + ": a checkpoint of size " + std::to_string(cp->size) +
                                " in a bundle of size " + std::to_string(m.size));
    }
    auto it = checkpoint_roots.find(cp->size);
    if (it != checkpoint_roots.end() && it->second != cp->root) {
      return Status::Corruption(label + ": " + rel + ": two signed checkpoints of size " + std::to_string(cp->size) +
                                " with different roots (a fork signed by the log key)");
    }
    checkpoint_roots[cp->size] = cp->root;
    return std::make_pair(*cp, *note);
  };
  size_t n = 0;
  for (const BundleFile& f : m.files) {
    if (f.path.rfind("checkpoints/", 0) != 0) continue;
    MB_RETURN_IF_ERROR(check_note(f.path).status());
    ++n;
  }
  MB_ASSIGN_OR_RETURN(auto latest, check_note(kBundleCheckpoint));
  if (latest.first.size != m.size || Base64Encode(latest.first.root) != m.root) {
    return Status::Corruption(label + ": checkpoint.note (size " + std::to_string(latest.first.size) +
                              ") does not match the manifest's size and root");
  }
  report.checkpoints += n;
  if (label == "bundle") report.checkpoint_note = latest.second.Format();
  report.checks.push_back(label + ": " + std::to_string(n) + " checkpoints and checkpoint.note signed by " + log_key.name());
  if (label == "bundle") {
    std::set<std::string> seen;  // a key given twice counts once
    for (const Verifier& w : options.witnesses) {
      if (!seen.insert(w.ToString()).second) continue;
      auto t = VerifyCosignature(latest.second, w);
      if (t.ok()) report.witnesses_ok.push_back(w.name());
      else if (!t.status().IsNotFound()) return Status::Corruption("checkpoint.note: " + t.status().message());
    }
    if (report.witnesses_ok.size() < options.min_witnesses) {
      return Status::Corruption("checkpoint.note is cosigned by " + std::to_string(report.witnesses_ok.size()) + " of the " +
                                std::to_string(options.witnesses.size()) + " given witnesses; " +
                                std::to_string(options.min_witnesses) + " required");
    }
    if (!options.witnesses.empty()) {
      report.checks.push_back("checkpoint cosigned by " + std::to_string(report.witnesses_ok.size()) + " of " +
                              std::to_string(options.witnesses.size()) + " witnesses (" +
                              std::to_string(options.min_witnesses) + " required)");
    }
  }
  return Status::Ok();
}

// Checks run when the tree reaches `size` leaves.
Status BundleVerifier::Impl::AtSize(uint64_t size) {
  auto it = checkpoint_roots.find(size);
  if (it != checkpoint_roots.end() && tree.Root(sha) != it->second) {
    return Status::Corruption("the entries give root " + Base64Encode(tree.Root(sha)) + " at size " + std::to_string(size) +
                              ", the signed checkpoint says " + Base64Encode(it->second) + " (entries altered, dropped or added)");
  }
  if (trusted && trusted->size == size) {
    if (tree.Root(sha) != trusted->root) {
      return Status::Corruption("FORK: the checkpoint you trust (size " + std::to_string(size) + ", root " +
                                Base64Encode(trusted->root) + ") is not a prefix of this log (root " +
                                Base64Encode(tree.Root(sha)) + " at that size): history was rewritten or split");
    }
    report.trusted_size = size;
  }
  return Status::Ok();
}

Status BundleVerifier::Impl::CheckEntry(uint64_t seq, std::string_view bytes) {
  auto where = [seq] { return "entry " + std::to_string(seq); };
  auto reader = EntryReader::Open(bytes);
  if (!reader.ok()) return Status::Corruption(where() + ": " + reader.status().message());
  auto root = reader->root();
  if (root.getSeq() != seq) {
    return Status::Corruption(where() + ": holds seq " + std::to_string(root.getSeq()) + " (entries dropped, moved or swapped)");
  }
  if (std::memcmp(root.getPrevHash().begin(), prev.data(), kHashSize) != 0) {
    return Status::Corruption(where() + ": chain link (prevHash) does not match the leaf hash of entry " +
                              std::to_string(seq == 0 ? 0 : seq - 1));
  }
  Hash leaf = sha.Leaf(bytes);
  uint64_t prefix = 0;
  std::memcpy(&prefix, leaf.data(), 8);
  leaf_prefix.push_back(prefix);
  last_month = FormatTimestamp(root.getRecordedAtMicros(), root.getTzOffsetMinutes()).substr(0, 7);
  if (domain) {
    Hash k = sha.Leaf(std::string_view(root.getIdempotencyKey().cStr(), root.getIdempotencyKey().size()));
    uint64_t a = 0, b = 0;
    std::memcpy(&a, k.data(), 8);
    std::memcpy(&b, k.data() + 8, 8);
    key_hashes.emplace_back(a, b);
    EntryLookup lookup = [this](uint64_t s) { return Read(s); };
    if (Status st = domain->Apply(seq, root.getPayload(), lookup); !st.ok()) {
      return Status::Corruption(where() + ": breaks a domain invariant: " + st.message());
    }
  }
  tree.Append(sha, leaf);
  prev = leaf;
  MB_RETURN_IF_ERROR(AtSize(seq + 1));
  if (options.on_entry) MB_RETURN_IF_ERROR(options.on_entry(seq, bytes, leaf).WithContext(where()));
  ++report.entries_checked;
  if (options.progress && (seq & 0xFFFF) == 0xFFFF) options.progress(seq + 1, total);
  return Status::Ok();
}

// Streams entries [from, to) of one bundle's entries.bin.
Status BundleVerifier::Impl::ReadEntries(const fs::path& dir, uint64_t from, uint64_t to, const std::string& label) {
  const std::string path = (dir / kBundleEntries).string();
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Corruption(label + ": cannot read " + path);
  files.push_back(path);
  const uint32_t file = static_cast<uint32_t>(files.size() - 1);
  std::vector<char> buf(1 << 20);
  in.rdbuf()->pubsetbuf(buf.data(), static_cast<std::streamsize>(buf.size()));
  uint64_t offset = 0;
  std::string bytes;
  for (uint64_t seq = from; seq < to; ++seq) {
    unsigned char len[4];
    if (!in.read(reinterpret_cast<char*>(len), 4)) {
      return Status::Corruption(label + ": entries.bin ends after " + std::to_string(seq - from) + " entries; " +
                                std::to_string(to - from) + " expected (entries dropped)");
    }
    uint32_t n = ReadBE32(len);
    if (n == 0 || n > kEntryBytesMax) {
      return Status::Corruption(label + ": entry " + std::to_string(seq) + " has length " + std::to_string(n) + " (limit " +
                                std::to_string(kEntryBytesMax) + ")");
    }
    bytes.resize(n);
    if (!in.read(bytes.data(), n)) return Status::Corruption(label + ": entry " + std::to_string(seq) + " is truncated");
    where.emplace_back(file, offset + 4);
    lengths.push_back(n);
    offset += 4 + n;
    MB_RETURN_IF_ERROR(CheckEntry(seq, bytes));
  }
  if (in.peek() != std::char_traits<char>::eof()) {
    return Status::Corruption(label + ": entries.bin holds more than the " + std::to_string(to - from) + " entries of the manifest");
  }
  return Status::Ok();
}

Result<BundleReport> BundleVerifier::Impl::Run(const std::string& dir_text) {
  const auto t0 = std::chrono::steady_clock::now();
  const fs::path dir(dir_text);
  MB_ASSIGN_OR_RETURN(BundleManifest m, CheckFiles(dir, "bundle"));
  report.origin = m.origin;
  report.from_size = m.from_size;
  report.size = m.size;
  report.root = m.root;
  report.reports_as_of = m.reports_as_of;
  if (options.on_manifest) options.on_manifest(m);
  // The log key: the inspector's, else the bundle's own (reported as such).
  if (options.log_key) {
    log_key = *options.log_key;
  } else {
    MB_ASSIGN_OR_RETURN(std::string vkey, ReadSmall(dir / kBundleLogKey, 4096));
    while (!vkey.empty() && (vkey.back() == '\n' || vkey.back() == '\r')) vkey.pop_back();
    auto v = Verifier::Parse(vkey);
    if (!v.ok()) return Status::Corruption("keys/log.vkey: " + v.status().message());
    log_key = *v;
    report.log_key_from_bundle = true;
  }
  if (log_key.type() != kSigTypeEd25519) {
    return Status::InvalidArgument("the log key " + log_key.name() + " is not a signed-note key (type 0x01)");
  }
  report.log_key = log_key.ToString();
  if (log_key.name() != m.origin) {
    return Status::Corruption("the log key is named '" + log_key.name() + "' but the bundle's origin is '" + m.origin + "'");
  }
  if (options.trusted_checkpoint) {
    auto note = ParseNote(*options.trusted_checkpoint);
    if (!note.ok()) return Status::InvalidArgument("trusted checkpoint: " + note.status().message());
    if (Status s = VerifyNote(*note, log_key); !s.ok()) {
      return Status::InvalidArgument("trusted checkpoint is not signed by the log key: " + s.message());
    }
    auto cp = Checkpoint::Parse(note->text);
    if (!cp.ok()) return Status::InvalidArgument("trusted checkpoint: " + cp.status().message());
    if (cp->origin != m.origin) {
      return Status::Corruption("the trusted checkpoint is of log '" + cp->origin + "', the bundle of '" + m.origin + "'");
    }
    if (cp->size > m.size) {
      return Status::Corruption("the bundle (size " + std::to_string(m.size) + ") is older than the checkpoint you trust (size " +
                                std::to_string(cp->size) + "): it cannot show that the log only grew; ask for a newer bundle");
    }
    trusted = *cp;
  }
  MB_RETURN_IF_ERROR(CheckCheckpoints(dir, m, "bundle"));
  total = m.size;

  uint64_t start = m.from_size;
  if (m.from_size > 0 && !options.base_dir.empty()) {
    // Replay the base bundle first: then everything, invariants included, is checked from genesis.
    MB_ASSIGN_OR_RETURN(BundleManifest base, CheckFiles(options.base_dir, "base bundle"));
    if (base.origin != m.origin) return Status::Corruption("the base bundle is of another log ('" + base.origin + "')");
    if (base.from_size != 0) return Status::InvalidArgument("the base bundle must start at size 0 (a full bundle)");
    if (base.size != m.from_size) {
      return Status::InvalidArgument("the base bundle has size " + std::to_string(base.size) + "; this bundle continues from " +
                                     std::to_string(m.from_size));
    }
    MB_RETURN_IF_ERROR(CheckCheckpoints(options.base_dir, base, "base bundle"));
    domain = std::make_unique<DomainState>();
    MB_RETURN_IF_ERROR(AtSize(0));
    MB_RETURN_IF_ERROR(ReadEntries(options.base_dir, 0, base.size, "base bundle"));
    start = 0;
  } else if (m.from_size > 0) {
    // Only the new part: start from the compact range of tree from_size, which must hash to a signed root.
    if (trusted && trusted->size < m.from_size) {
      return Status::InvalidArgument("the trusted checkpoint (size " + std::to_string(trusted->size) +
                                     ") is older than this incremental bundle's start (" + std::to_string(m.from_size) +
                                     "): pass the earlier bundle with --base");
    }
    MB_ASSIGN_OR_RETURN(std::string text, ReadSmall(dir / kBundleCompact, 1 << 20));
    json c = json::parse(text);
    if (c.at("size").get<uint64_t>() != m.from_size) return Status::Corruption("proof/compact.json is for another size");
    auto range = CompactRange::FromNodes(m.from_size, HashesFromJson(c.at("nodes"), "proof/compact.json"));
    if (!range.ok()) return Status::Corruption("proof/compact.json: " + range.status().message());
    tree = std::move(*range);
    auto root_n = checkpoint_roots.find(m.from_size);
    if (root_n == checkpoint_roots.end()) {
      return Status::Corruption("no signed checkpoint of size " + std::to_string(m.from_size) + " (where this bundle starts)");
    }
    if (tree.Root(sha) != root_n->second) {
      return Status::Corruption("proof/compact.json does not hash to the signed root of size " + std::to_string(m.from_size));
    }
    auto last = HashFromBase64(c.at("last_leaf").get<std::string>());
    if (!last.ok()) return Status::Corruption("proof/compact.json: last_leaf: " + last.status().message());
    std::vector<Hash> path = HashesFromJson(c.at("last_leaf_proof"), "proof/compact.json last_leaf_proof");
    if (Status s = VerifyInclusion(sha, m.from_size - 1, m.from_size, *last, path, root_n->second); !s.ok()) {
      return Status::Corruption("proof/compact.json: the last leaf is not in tree " + std::to_string(m.from_size) + ": " + s.message());
    }
    prev = *last;
    MB_RETURN_IF_ERROR(AtSize(m.from_size));
    first_seq = m.from_size;  // entries before from_size are not in this bundle
    report.checks.push_back("compact range of tree " + std::to_string(m.from_size) + " hashes to its signed root");
    size_t older = 0;
    for (const auto& [sz, root] : checkpoint_roots) older += sz < m.from_size ? 1 : 0;
    if (older) {
      report.checks.push_back(std::to_string(older) + " signed checkpoints before size " + std::to_string(m.from_size) +
                              " are signed but not compared with entries (pass --base)");
    }
  } else {
    domain = std::make_unique<DomainState>();
    MB_RETURN_IF_ERROR(AtSize(0));
  }
  MB_RETURN_IF_ERROR(ReadEntries(dir, m.from_size, m.size, "bundle"));
  if (options.progress) options.progress(m.size, m.size);
  report.checks.push_back("entries " + std::to_string(start) + ".." + std::to_string(m.size) +
                          ": canonical encoding, field rules, sequence numbers and hash chain");
  report.checks.push_back("Merkle root recomputed and equal to every signed checkpoint in range");
  if (m.from_size > 0) {
    MB_ASSIGN_OR_RETURN(std::string text, ReadSmall(dir / kBundleConsistency, 1 << 20));
    json c = json::parse(text);
    std::vector<Hash> proof = HashesFromJson(c.at("proof"), "proof/consistency.json");
    if (c.at("from_size").get<uint64_t>() != m.from_size || c.at("to_size").get<uint64_t>() != m.size) {
      return Status::Corruption("proof/consistency.json is for other sizes");
    }
    if (Status s = VerifyConsistency(sha, m.from_size, m.size, proof, checkpoint_roots.at(m.from_size), checkpoint_roots.at(m.size));
        !s.ok()) {
      return Status::Corruption("proof/consistency.json: " + s.message());
    }
    report.checks.push_back("RFC 9162 consistency proof from size " + std::to_string(m.from_size) + " to " + std::to_string(m.size));
  }
  // The month the published sponsorship compliance is counted up to follows from the log (its last entry's
  // recording month), not from the unsigned manifest.
  if (m.size == 0 || m.size > m.from_size) {
    const std::string want = m.size == 0 ? "1970-01" : last_month;
    if (m.reports_as_of != want) {
      return Status::Corruption("manifest: reports_as_of is '" + m.reports_as_of + "', but this log's reports are as of " + want +
                                " (the recording month of its last entry)");
    }
  }
  if (domain) {
    if (Status c = domain->CheckConservation(); !c.ok()) return Status::Corruption("domain state: " + c.message());
    std::sort(key_hashes.begin(), key_hashes.end());
    if (std::adjacent_find(key_hashes.begin(), key_hashes.end()) != key_hashes.end()) {
      return Status::Corruption("two entries share an idempotency key");
    }
    report.domain_checked = true;
    report.checks.push_back("every domain invariant replayed from genesis; conservation holds for every fund");
  }
  if (trusted && !report.trusted_size) {
    return Status::InvalidArgument("the trusted checkpoint (size " + std::to_string(trusted->size) + ") could not be compared");
  }
  if (trusted) {
    report.checks.push_back("extends the checkpoint you trust (size " + std::to_string(*report.trusted_size) + ")");
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return report;
}

// ---- child proofs ----

std::string FormatChildProof(const std::string& child, const std::string& checkpoint_note, const std::string& log_vkey,
                             const std::vector<ProofEntry>& entries) {
  json a = json::array();
  Sha256 sha;
  for (const ProofEntry& e : entries) {
    json path = json::array();
    for (const Hash& h : e.inclusion) path.push_back(Base64Encode(h));
    a.push_back({{"seq", e.seq}, {"entry", Base64Encode(e.entry)}, {"leaf_hash", Base64Encode(sha.Leaf(e.entry))},
                 {"inclusion", path}});
  }
  json j = {{"format", "minhbach-child-proof-1"}, {"child", child}, {"log_key", log_vkey},
            {"checkpoint", checkpoint_note}, {"entries", a}};
  return j.dump(2) + "\n";
}

bool PayloadNamesChild(std::string_view entry_bytes, const std::string& child) {
  auto r = EntryReader::Open(entry_bytes);
  if (!r.ok()) return false;
  using P = schema::Entry::Payload;
  auto p = r->payload();
  auto is = [&](capnp::Text::Reader t) { return std::string_view(t.cStr(), t.size()) == child; };
  switch (p.which()) {
    case P::CHILD_REGISTERED: return is(p.getChildRegistered().getChild());
    case P::DONATION_RECEIVED:
      return p.getDonationReceived().getRestriction() == schema::Restriction::CHILD && is(p.getDonationReceived().getRestrictedTo());
    case P::SPONSORSHIP_AGREED: return is(p.getSponsorshipAgreed().getChild());
    case P::ENTITLEMENT_DETERMINED: return is(p.getEntitlementDetermined().getChild());
    case P::DISBURSEMENT: return is(p.getDisbursement().getChild());
    default: return false;
  }
}

Result<ProofReport> VerifyChildProof(std::string_view text, const std::optional<Verifier>& key) {
  if (text.size() > kSmallFileMax) return Status::InvalidArgument("proof file is too large");
  try {
    json j = json::parse(text);
    if (j.at("format") != "minhbach-child-proof-1") return Status::Corruption("proof: unknown format");
    ProofReport rep;
    rep.child = j.at("child");
    Verifier v{"unset", {}};
    if (key) {
      v = *key;
    } else {
      auto parsed = Verifier::Parse(j.at("log_key").get<std::string>());
      if (!parsed.ok()) return Status::Corruption("proof: log_key: " + parsed.status().message());
      v = *parsed;
      rep.key_from_proof = true;
    }
    auto note = ParseNote(j.at("checkpoint").get<std::string>());
    if (!note.ok()) return Status::Corruption("proof: checkpoint: " + note.status().message());
    if (Status s = VerifyNote(*note, v); !s.ok()) return Status::Corruption("proof: checkpoint is not signed by " + v.name() + ": " + s.message());
    auto cp = Checkpoint::Parse(note->text);
    if (!cp.ok()) return Status::Corruption("proof: checkpoint: " + cp.status().message());
    if (v.type() != kSigTypeEd25519) return Status::InvalidArgument("the log key is not a signed-note key (type 0x01)");
    if (cp->origin != v.name()) {
      return Status::Corruption("proof: the checkpoint is of log '" + cp->origin + "', the key is named '" + v.name() + "'");
    }
    rep.origin = cp->origin;
    std::set<uint64_t> seen;
    rep.size = cp->size;
    Sha256 sha;
    for (const auto& e : j.at("entries")) {
      if (!e.at("seq").is_number_unsigned()) return Status::Corruption("proof: an entry's seq is not an unsigned integer");
      uint64_t seq = e.at("seq");
      const std::string where = "proof: entry " + std::to_string(seq);
      if (!seen.insert(seq).second) return Status::Corruption(where + ": listed twice");
      auto bytes = Base64Decode(e.at("entry").get<std::string>());
      if (!bytes.ok()) return Status::Corruption(where + ": entry: " + bytes.status().message());
      Hash leaf = sha.Leaf(*bytes);
      if (Base64Encode(leaf) != e.at("leaf_hash").get<std::string>()) {
        return Status::Corruption(where + ": leaf_hash is not SHA-256(0x00 || entry)");
      }
      std::vector<std::string> path;
      for (const auto& h : e.at("inclusion")) {
        auto raw = Base64Decode(h.get<std::string>());
        if (!raw.ok()) return Status::Corruption(where + ": inclusion: " + raw.status().message());
        path.push_back(*raw);
      }
      if (seq >= cp->size) return Status::Corruption(where + ": beyond the checkpoint's tree size " + std::to_string(cp->size));
      std::string leaf_raw(reinterpret_cast<const char*>(leaf.data()), leaf.size());
      std::string root_raw(reinterpret_cast<const char*>(cp->root.data()), cp->root.size());
      if (Status s = VerifyInclusionRaw(sha, seq, cp->size, leaf_raw, path, root_raw); !s.ok()) {
        return Status::Corruption(where + ": not included in the checkpoint's tree: " + s.message());
      }
      auto reader = EntryReader::Open(*bytes);
      if (!reader.ok()) return Status::Corruption(where + ": " + reader.status().message());
      if (reader->root().getSeq() != seq) return Status::Corruption(where + ": the entry holds seq " + std::to_string(reader->root().getSeq()));
      using P = schema::Entry::Payload;
      auto which = reader->payload().which();
      bool names_other = which != P::REVERSAL && which != P::SPONSORSHIP_AMENDED && which != P::SPONSORSHIP_ENDED;
      if (names_other && !PayloadNamesChild(*bytes, rep.child)) {
        return Status::Corruption(where + ": does not concern child " + rep.child);
      }
      ++rep.entries;
    }
    return rep;
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("proof is not valid JSON of the documented form: ") + e.what());
  }
}

}  // namespace minhbach
