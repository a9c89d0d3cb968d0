// The scan test of issue 13: a ledger holding the demo and a generated bank statement of 10,000 rows (layout B:
// senders' names with and without diacritics, account numbers in the details and in OffsetAccount, phone numbers,
// some grouped by spaces), imported through the statement importer. Then every file of the log's store (and what
// its blocks decode to), an exported audit bundle, every served tile and entry bundle and the answer of every
// public endpoint are searched for each name, account and phone number: zero hits (the read models behind the
// server too). The vault holds every one.
//
// Prints the seed (MINHBACH_SCAN_SEED=N repeats a run) and the figures. Runs in well under a minute.
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "../tools/bench/statement_gen.h"
#include "../tools/minhbach/demo.h"
#include "minhbach/export.h"
#include "minhbach/import.h"
#include "minhbach/ledger.h"
#include "minhbach/tile_path.h"
#include "minhbach/privacy.h"
#include "minhbach/projections.h"
#include "minhbach/serve.h"
#include "minhbach/text.h"
#include "minhbach/vault.h"
#include "scan_util.h"
#include "test_util.h"

namespace mb = minhbach;
namespace imp = minhbach::import;
using nlohmann::json;

namespace {

#if defined(__SANITIZE_ADDRESS__)
// Under AddressSanitizer (scripts/test.sh's second stage, about 20x slower) a smaller statement keeps the test within
// CI's time; the full 10,000 rows run in the first stage.
constexpr uint64_t kRows = 1'500;
constexpr size_t kSearchesPerKind = 20;
constexpr size_t kChildProofs = 5;
#else
constexpr uint64_t kRows = 10'000;
constexpr size_t kSearchesPerKind = 150;  // /api/v1/search queries per kind (names, accounts, phones)
constexpr size_t kChildProofs = 25;
#endif

uint64_t Seed() {
  if (const char* s = std::getenv("MINHBACH_SCAN_SEED"); s && *s) return std::strtoull(s, nullptr, 10);
  return std::random_device{}() % 1'000'000'000;
}

// What is looked for: the values as written in the statement, account and phone numbers as digits as well, and
// names folded (lower case, without diacritics).
struct Needles {
  mb::testing::NeedleScanner scan;
  size_t as_written = 0;  // needles [0, as_written) are the values as the statement wrote them
  size_t names = 0, accounts = 0, phones = 0;
};

void MakeNeedles(const mb::bench::StatementGenResult& gen, Needles* n) {
  std::set<std::string> extra;
  for (const auto& v : gen.names) {
    n->scan.Add(v);
    extra.insert(mb::NormalizeName(v));
  }
  for (const auto& v : gen.accounts) n->scan.Add(v);
  for (const auto& v : gen.phones) {
    n->scan.Add(v);
    extra.insert(mb::NormalizeDigits(v));
  }
  n->as_written = n->scan.size();
  for (const auto& v : gen.names) extra.erase(v);
  for (const auto& v : gen.phones) extra.erase(v);
  for (const auto& v : extra) n->scan.Add(v);
  n->scan.Build();
  n->names = gen.names.size();
  n->accounts = gen.accounts.size();
  n->phones = gen.phones.size();
}

// Hits and volume of one place scanned (the log's store, the bundle, the server).
struct Place {
  explicit Place(std::string n) : name(std::move(n)) {}
  std::string name;
  uint64_t items = 0, bytes = 0, hits = 0;
  std::vector<uint64_t> per_needle;
  std::vector<std::string> where;  // the first few items with a hit
  void Scan(const Needles& n, const std::string& item, std::string_view bytes_) {
    const uint64_t h = n.scan.Scan(bytes_, &per_needle);
    ++items;
    bytes += bytes_.size();
    hits += h;
    if (h && where.size() < 10) where.push_back(item);
  }
};

// The demo (one batch and its correction), as `minhbach demo` appends it.
void AppendDemo(mb::Ledger& l) {
  auto events = mb::demo::DemoEvents();
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  uint64_t mistake = 0;
  for (size_t i = 0; i < events->size(); ++i) {
    if ((*events)[i].idempotency_key == mb::demo::kDemoMistakeKey) mistake = i;
  }
  auto r = l.Append(*events, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto fix = mb::demo::DemoCorrection(r->first_seq + mistake);
  ASSERT_TRUE(fix.ok());
  ASSERT_TRUE(l.Append(*fix, {}).ok());
}

// `minhbach import statement FILE --layout B --fund F-QNG`: scan, plan, one atomic append.
imp::StatementSummary ImportStatement(mb::Ledger& l, const std::string& path) {
  auto digest = imp::FileSha256(path);
  EXPECT_TRUE(digest.ok());
  imp::StatementOptions o;
  o.fund = "F-QNG";
  o.vault = &l.vault();
  auto prior = imp::ScanPriorLines(l, o.fund, mb::HexEncode(*digest), imp::PublicDonorId(o.fund), {});
  EXPECT_TRUE(prior.ok()) << prior.status().ToString();
  auto plan = imp::PlanStatement(path, *digest, imp::LayoutB(), o, *prior, {});
  EXPECT_TRUE(plan.ok()) << plan.status().ToString();
  if (!plan.ok()) return {};
  auto r = l.Append(plan->events, {});
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r.ok() ? r->appended : 0, plan->events.size());
  return plan->summary;
}

// The ids the public endpoints take, from the log itself.
struct Ids {
  std::set<std::string> funds, programmes, donors, children, months;
};
Ids CollectIds(const mb::Ledger& l) {
  Ids ids;
  EXPECT_TRUE(l.ScanEntries(0, l.size(), [&](uint64_t, std::string_view bytes) {
    auto e = mb::DecodeEntry(bytes);
    if (!e.ok()) return false;
    json j = json::parse(mb::EntryToJson(*e));
    const json& d = j["data"];
    const std::string type = j["type"];
    if (type == "fund_opened") ids.funds.insert(d["fund"]);
    if (type == "programme_opened") ids.programmes.insert(d["programme"]);
    if (type == "donor_registered") ids.donors.insert(d["donor"]);
    if (type == "child_registered") ids.children.insert(d["child"]);
    if (d.contains("month") && d["month"].is_string()) ids.months.insert(d["month"]);
    return true;
  }).ok());
  return ids;
}

// Every tile of every level and every entry bundle of a tree of `size` leaves (full ones and the partial one).
std::vector<std::string> TilePaths(uint64_t size) {
  std::vector<std::string> paths;
  for (int level = 0; (size >> (8 * level)) > 0; ++level) {
    const uint64_t width = size >> (8 * level);  // hashes at this level
    for (uint64_t n = 0; n < width / 256; ++n) {
      paths.push_back("/tile/" + std::to_string(level) + "/" + mb::TileIndexPath(n));
      if (level == 0) paths.push_back("/tile/entries/" + mb::TileIndexPath(n));
    }
    if (width % 256) {
      const std::string partial = mb::TileIndexPath(width / 256) + ".p/" + std::to_string(width % 256);
      paths.push_back("/tile/" + std::to_string(level) + "/" + partial);
      if (level == 0) paths.push_back("/tile/entries/" + partial);
    }
  }
  return paths;
}

// Every read endpoint, with every id the log holds (a sample of child proofs and searches).
std::vector<std::string> PublicPaths(const Ids& ids, uint64_t size, const mb::bench::StatementGenResult& gen) {
  std::vector<std::string> p = {"/checkpoint", "/api/v1/log", "/api/v1/funds", "/api/v1/programmes",
                                "/api/v1/proof/consistency?from=1", "/api/v1/proof/inclusion?seq=0"};
  for (uint64_t from = 0; from < size; from += 1000) p.push_back("/api/v1/entries?from=" + std::to_string(from) + "&limit=1000");
  for (uint64_t seq = 0; seq < size; seq += 997) p.push_back("/api/v1/proof/inclusion?seq=" + std::to_string(seq));
  for (const auto& f : ids.funds) {
    for (const char* q : {"/api/v1/balances?fund=", "/api/v1/statement?fund="}) p.push_back(q + f);
    p.push_back("/api/v1/funds/" + f + "/dashboard");
  }
  for (const auto& x : ids.programmes) p.push_back("/api/v1/programmes/" + x);
  for (const auto& x : ids.donors) p.push_back("/api/v1/donors/" + x);
  for (const auto& x : ids.children) p.push_back("/api/v1/children/" + x);
  size_t proofs = 0;
  for (auto it = ids.children.begin(); it != ids.children.end() && proofs < kChildProofs; ++it, ++proofs) {
    p.push_back("/api/v1/children/" + *it + "/proof");
  }
  for (const auto& m : ids.months) p.push_back("/api/v1/sponsorships?as_of=" + m);
  for (const auto* list : {&gen.names, &gen.accounts, &gen.phones}) {
    const size_t step = std::max<size_t>(1, list->size() / kSearchesPerKind);
    for (size_t i = 0; i < list->size(); i += step) {
      p.push_back("/api/v1/search?q=" + httplib::detail::encode_query_param((*list)[i]));
    }
  }
  for (const auto& t : TilePaths(size)) p.push_back(t);
  return p;
}

// Fetches every public path without a token; the answer's echo of a search query is not part of the scan.
void ScanServer(mb::Ledger& l, const std::string& dir, const std::vector<std::string>& paths, const Needles& n,
                Place* place) {
  auto projections = mb::Projections::Open(l, dir + "/projections", mb::testing::NullLogger());
  ASSERT_TRUE(projections.ok()) << projections.status().ToString();
  mb::serve::ServeOptions o;
  o.port = 0;
  o.read_rate = 0;
  o.write_rate = 0;
  o.global_rate = 0;  // thousands of requests in a few seconds, from one test
  o.threads = 4;
  mb::serve::Server server(l, **projections, dir + "/tokens.json", o, mb::testing::NullLogger());
  ASSERT_TRUE(server.Bind().ok());
  mb::Status run;
  std::thread t([&] { run = server.Run(); });
  httplib::Client c("127.0.0.1", server.port());
  c.set_read_timeout(60, 0);
  c.set_keep_alive(true);
  for (const auto& path : paths) {
    auto r = c.Get(path);
    EXPECT_TRUE(r && r->status == 200) << path << ": " << (r ? std::to_string(r->status) + " " + r->body.substr(0, 200) : "no answer");
    if (!r) continue;
    std::string body = r->body;
    if (path.rfind("/api/v1/search?", 0) == 0) {
      json j = json::parse(body, nullptr, false);
      if (j.is_object()) j.erase("q");
      body = j.dump();
    }
    place->Scan(n, path, body);
  }
  server.Stop();
  t.join();
  EXPECT_TRUE(run.ok()) << run.ToString();
}

void ScanFolder(const std::string& dir, const Needles& n, Place* place) {
  mb::testing::ForEachFile(dir, [&](const std::string& path, const std::string& bytes) { place->Scan(n, path, bytes); });
}

void Print(const Place& p) {
  std::printf("  %-44s %7llu items %12llu bytes   hits %llu\n", p.name.c_str(), static_cast<unsigned long long>(p.items),
              static_cast<unsigned long long>(p.bytes), static_cast<unsigned long long>(p.hits));
  for (const auto& w : p.where) std::printf("    hit in %s\n", w.c_str());
}

void PrintFigures(uint64_t size, uint64_t demo_entries, const imp::StatementSummary& s, const Needles& n,
                  std::initializer_list<const Place*> places, const Place& vault, size_t missing) {
  using ull = unsigned long long;
  std::printf("ledger: %llu entries (demo %llu; statement %llu rows: %llu credits, %llu debits; %llu new donor "
              "pseudonyms, %llu credits to the public donor)\n",
              ull(size), ull(demo_entries), ull(s.rows), ull(s.credits), ull(s.debits), ull(s.donors_new),
              ull(s.public_credits));
  std::printf("looked for: %zu names, %zu account numbers, %zu phone numbers as written, %zu needles in all "
              "(+ names folded, phones as digits)\n",
              n.names, n.accounts, n.phones, n.scan.size());
  for (const Place* p : places) Print(*p);
  std::printf("  %-44s %7llu items %12llu bytes   %zu of %zu values found, %zu missing\n", vault.name.c_str(),
              ull(vault.items), ull(vault.bytes), n.as_written - missing, n.as_written, missing);
}

void ExpectNoHits(const Place& p, const Needles& n) {
  EXPECT_EQ(p.hits, 0u) << p.name;
  for (size_t i = 0; i < p.per_needle.size(); ++i) EXPECT_EQ(p.per_needle[i], 0u) << p.name << ": '" << n.scan.needle(i) << "'";
}

TEST(Scan, NoPersonalDataInTheLogBundlesTilesOrPublicAnswers) {
  const auto t0 = std::chrono::steady_clock::now();
  const uint64_t seed = Seed();
  std::printf("scan test: seed %llu (MINHBACH_SCAN_SEED=%llu repeats this run)\n", static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(seed));
  mb::testing::TempDir dir;
  const std::string ledger_dir = dir.Sub("l");
  mb::bench::StatementGenOptions g;
  g.layout = 'B';
  g.rows = kRows;
  g.seed = seed;
  mb::bench::StatementGenResult gen;
  ASSERT_TRUE(mb::bench::WriteStatement(dir.Sub("statement.csv"), g, &gen));
  Needles needles;
  MakeNeedles(gen, &needles);
  // Control: the scanner finds every value in the statement it was written into.
  Place control("(control) the statement file itself");
  ScanFolder(dir.path(), needles, &control);
  for (size_t i = 0; i < needles.as_written; ++i) ASSERT_GT(control.per_needle[i], 0u) << needles.scan.needle(i);

  auto l = mb::Ledger::Create(ledger_dir, "scan.example/csf", mb::testing::NullLogger());
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  AppendDemo(**l);
  const uint64_t demo_entries = (*l)->size();
  const imp::StatementSummary s = ImportStatement(**l, dir.Sub("statement.csv"));
  ASSERT_TRUE((*l)->SignCheckpoint().ok());
  const uint64_t size = (*l)->size();
  mb::ExportSummary exported;
  ASSERT_TRUE(mb::ExportBundle(**l, dir.Sub("bundle"), 0, {}, &exported).ok());
  const Ids ids = CollectIds(**l);
  const std::vector<std::string> paths = PublicPaths(ids, size, gen);

  Place served("(c) served answers, tiles and entry bundles"), bundle("(b) exported audit bundle, every file"),
      store("(a) LEDGER/db, every file"), decoded("(a) LEDGER/db, every key and value decoded");
  ScanServer(**l, ledger_dir, paths, needles, &served);
  l->reset();  // closed: the store's files are complete
  ScanFolder(ledger_dir + "/" + mb::kDbDirName, needles, &store);
  decoded.Scan(needles, "store", mb::testing::StoreContents(ledger_dir + "/" + mb::kDbDirName));
  ScanFolder(dir.Sub("bundle"), needles, &bundle);
  Place projections("(d) LEDGER/projections (read models), decoded");
  projections.Scan(needles, "projections", mb::testing::StoreContents(ledger_dir + "/projections"));

  // The vault holds every value, as written.
  auto vault = mb::Vault::Open(ledger_dir, mb::testing::NullLogger(), /*read_only=*/true);
  ASSERT_TRUE(vault.ok()) << vault.status().ToString();
  Place in_vault("vault records (Vault::Scan)");
  ASSERT_TRUE((*vault)->Scan([&](const mb::VaultRecord& r) {
    in_vault.Scan(needles, r.subject, r.value);
    return true;
  }).ok());
  size_t missing = 0;
  for (size_t i = 0; i < needles.as_written; ++i) {
    if (in_vault.per_needle[i] == 0) {
      ++missing;
      ADD_FAILURE() << "not in the vault: '" << needles.scan.needle(i) << "'";
    }
  }

  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  PrintFigures(size, demo_entries, s, needles, {&control, &store, &decoded, &bundle, &served, &projections}, in_vault,
               missing);
  std::printf("requests: %zu; time %.1f s\n", paths.size(), secs);
  for (const Place* p : {&store, &decoded, &bundle, &served, &projections}) ExpectNoHits(*p, needles);
  EXPECT_EQ(s.rows, kRows);
  EXPECT_GT(store.items, 0u);
  EXPECT_GT(bundle.items, 0u);
}

}  // namespace
