#include "minhbach/journal.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "minhbach/files.h"
#include "minhbach/hash.h"
#include "minhbach/text.h"

namespace minhbach {
namespace fs = std::filesystem;
namespace {

std::string ZeroHex() { return std::string(64, '0'); }

std::string NowUtc() {
  using namespace std::chrono;
  auto t = system_clock::to_time_t(system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string LineOf(const JournalRecord& r, const std::string& prev) {
  nlohmann::ordered_json j = {{"n", r.n}, {"at", r.at}, {"who", r.who}, {"role", r.role}, {"subject", r.subject},
                              {"what", r.what}, {"why", r.why}, {"prev", prev}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// The last line's number and hash, from the journal itself (checked as it is read).
struct Head {
  uint64_t next = 0;
  std::string hash = ZeroHex();
};

Result<Head> ReadChecked(const std::string& path, std::vector<JournalRecord>* out) {
  Head h;
  std::ifstream in(path, std::ios::binary);
  if (!in) return h;  // no journal yet
  std::string line;
  Sha256 sha;
  while (std::getline(in, line)) {
    const std::string where = "access journal line " + std::to_string(h.next + 1);
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return Status::Corruption(where + ": not a JSON object");
    JournalRecord r;
    try {
      r = JournalRecord{j.at("n"), j.at("at"), j.at("who"), j.at("role"), j.at("subject"), j.at("what"), j.at("why")};
      if (j.at("prev").get<std::string>() != h.hash) return Status::Corruption(where + ": breaks the chain (an earlier line was changed or removed)");
    } catch (const std::exception& e) {
      return Status::Corruption(where + ": " + e.what());
    }
    if (r.n != h.next) return Status::Corruption(where + ": numbered " + std::to_string(r.n));
    if (LineOf(r, h.hash) != line) return Status::Corruption(where + ": not in canonical form");
    h.hash = HexEncode(sha.Digest(line));
    ++h.next;
    if (out) out->push_back(std::move(r));
  }
  return h;
}

Status CheckHead(const std::string& ledger_dir, const Head& head) {
  std::ifstream hin(fs::path(ledger_dir) / kJournalHeadFile);
  std::string expect = head.next == 0 ? "" : std::to_string(head.next - 1) + " " + head.hash;
  std::string got;
  if (hin) std::getline(hin, got);
  if (got != expect) {
    return Status::Corruption("access journal: the head file says '" + got + "' but the journal ends with '" + expect +
                              "' (the last line was changed, or lines were removed)");
  }
  return Status::Ok();
}

}  // namespace

Status JournalAppend(const std::string& ledger_dir, JournalRecord r) {
  if (r.why.empty()) return Status::InvalidArgument("a reason is required to read personal data (--why)");
  for (const std::string* f : {&r.who, &r.role, &r.subject, &r.what, &r.why}) {
    if (f->size() > kJournalFieldBytesMax || !IsCleanUtf8(*f, false)) {
      return Status::InvalidArgument("access journal: a field is not one line of at most 512 bytes of UTF-8");
    }
  }
  const std::string path = (fs::path(ledger_dir) / kJournalFile).string();
  const std::shared_ptr<FileSystem> files = PosixFileSystem();
  MB_ASSIGN_OR_RETURN(auto file, files->Open(path, OpenMode::kAppend, 0600));
  MB_RETURN_IF_ERROR(file->LockExclusive());
  MB_ASSIGN_OR_RETURN(Head head, ReadChecked(path, nullptr));
  // The head file too: an edit of the last line must not be hidden by the next line's link.
  MB_RETURN_IF_ERROR(CheckHead(ledger_dir, head));
  r.n = head.next;
  r.at = NowUtc();
  const std::string line = LineOf(r, head.hash);
  MB_RETURN_IF_ERROR(file->Append(line + "\n"));
  MB_RETURN_IF_ERROR(file->Sync());
  Sha256 sha;
  const std::string head_path = (fs::path(ledger_dir) / kJournalHeadFile).string();
  MB_RETURN_IF_ERROR(ReplaceFileDurably(*files, head_path, std::to_string(r.n) + " " + HexEncode(sha.Digest(line)) + "\n", 0600));
  return Status::Ok();
}

Result<std::vector<JournalRecord>> JournalRead(const std::string& ledger_dir) {
  std::vector<JournalRecord> out;
  MB_ASSIGN_OR_RETURN(Head head, ReadChecked((fs::path(ledger_dir) / kJournalFile).string(), &out));
  MB_RETURN_IF_ERROR(CheckHead(ledger_dir, head));
  return out;
}

}  // namespace minhbach
