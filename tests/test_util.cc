#include "test_util.h"

#include <fstream>
#include <sstream>

#include <rocksdb/db.h>
#include <unistd.h>

#include <cstdlib>

namespace minhbach::testing {

std::shared_ptr<spdlog::logger> NullLogger() {
  return std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
}

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "minhbach-test-XXXXXX").string();
  char* p = ::mkdtemp(tmpl.data());
  if (p == nullptr) std::abort();
  path_ = p;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::vector<EventDraft> Events(size_t n, const std::string& prefix, std::mt19937_64* rng) {
  static const char* kSubjects[] = {"Donation received: Cong ty TNHH Minh Phat", "Sponsorship instalment: child C-0001",
                                    "One-off support (Resolution 68/NQ-CP): child C-0102", "Expense: bank fees"};
  std::vector<EventDraft> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    uint64_t r = rng ? (*rng)() : i;
    EventDraft d = NoteDraft(prefix + "-" + std::to_string(i), kSubjects[r % 4], static_cast<int64_t>(1000 * (1 + r % 5000)),
                             "Bank transfer ref FT24-" + std::to_string(100000 + r % 900000) + ", evidence on file");
    d.line = i + 1;
    out.push_back(std::move(d));
  }
  return out;
}

LedgerOptions FixedClock() {
  LedgerOptions o;
  o.clock = [] { return int64_t{1'700'000'000'000'000}; };
  return o;
}

std::string DumpStore(const std::string& ledger_dir) {
  std::vector<std::string> names;
  std::string db_path = ledger_dir + "/" + kDbDirName;
  if (!rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), db_path, &names).ok()) return "<no store>";
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  // A live writer may delete compacted files while the MANIFEST is read: retry, as the ledger does.
  rocksdb::Status st;
  for (int attempt = 0; attempt < 20; ++attempt) {
    st = rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), db_path, cfs, &handles, &db);
    if (st.ok() || st.ToString().find("No such file") == std::string::npos) break;
  }
  if (!st.ok()) return "<open failed: " + st.ToString() + ">";
  std::string out;
  for (size_t i = 0; i < handles.size(); ++i) {
    out += "[" + names[i] + "]\n";
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), handles[i]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      out += it->key().ToString(true) + "=" + it->value().ToString(true) + "\n";
    }
  }
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  delete db;
  return out;
}

LedgerOptions ReadOnly() {
  LedgerOptions o;
  o.read_only = true;
  return o;
}

std::string ReadFileBytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFileBytes(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
}

}  // namespace minhbach::testing
