// minhbach serve over real HTTP on loopback: every read endpoint, the tlog-tiles resources checked against the
// signed checkpoint, the write API's refusals (nothing written), readers beside a writer, rate limits, and a stop
// in the middle of a stream of appends that loses nothing acknowledged.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "minhbach/hash.h"
#include "minhbach/merkle.h"
#include "minhbach/note.h"
#include "minhbach/projections.h"
#include "minhbach/serve.h"
#include "minhbach/tokens.h"
#include "test_util.h"

namespace mb = minhbach;
using nlohmann::json;

namespace {

std::string Line(const std::string& key, const std::string& type, json data) {
  return json{{"type", type}, {"idempotency_key", key}, {"data", data}}.dump() + "\n";
}

// Two funds, a programme, a donor, two children, donations with bank references, payments.
std::string SetupEvents() {
  std::string s;
  s += Line("f1", "fund_opened", {{"fund", "F-A"}, {"name", "Quỹ A"}, {"organisation", "o"}, {"currency", "VND"}});
  s += Line("f2", "fund_opened", {{"fund", "F-B"}, {"name", "Quỹ B"}, {"organisation", "o"}, {"currency", "VND"}});
  s += Line("p1", "programme_opened", {{"programme", "P-1"}, {"fund", "F-A"}, {"name", "p"}, {"legal_basis", "b"}});
  s += Line("d1", "donor_registered", {{"donor", "D-1"}, {"name", "Nguyễn Văn An"}, {"kind", "individual"}});
  s += Line("c1", "child_registered", {{"child", "C-1"}, {"birth_month", "2012-01"}, {"area", "51"}, {"categories", {"abandoned"}}});
  s += Line("c2", "child_registered", {{"child", "C-2"}, {"birth_month", "2013-01"}, {"area", "51"}, {"categories", {"abandoned"}}});
  for (int i = 0; i < 300; ++i) {  // enough entries for a full level-0 tile and a partial one
    s += Line("don" + std::to_string(i), "donation_received",
              {{"fund", i % 2 ? "F-A" : "F-B"}, {"donor", "D-1"}, {"value_date", "2024-09-1" + std::to_string(i % 10)},
               {"cash", {{"channel", "bank"}, {"bank_ref", i == 7 ? "FT24123" : "REF" + std::to_string(i)}, {"amount", 1000000 + i}}}});
  }
  s += Line("pay1", "disbursement", {{"fund", "F-A"}, {"child", "C-1"}, {"kind", "gift"}, {"amount", 500000}, {"method", "cash"}});
  return s;
}

class ServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto l = mb::Ledger::Create(dir_.Sub("l"), "test.example/serve", mb::testing::NullLogger());
    ASSERT_TRUE(l.ok()) << l.status().ToString();
    ledger_ = std::move(l).value();
    auto drafts = mb::ParseJsonLines(SetupEvents());
    ASSERT_TRUE(drafts.ok()) << drafts.status().ToString();
    ASSERT_TRUE(ledger_->Append(*drafts, {}).ok());
    ASSERT_TRUE(ledger_->SignCheckpoint().ok());
    auto p = mb::Projections::Open(*ledger_, dir_.Sub("l/projections"), mb::testing::NullLogger());
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    projections_ = std::move(p).value();
    tokens_ = dir_.Sub("l/tokens.json");
    auto a = mb::serve::AddToken(tokens_, "an", "F-A");
    auto all = mb::serve::AddToken(tokens_, "root", "*");
    ASSERT_TRUE(a.ok() && all.ok());
    token_a_ = *a;
    token_all_ = *all;
  }

  void Start(mb::serve::ServeOptions o = {}) {
    o.port = 0;
    o.read_rate = o.read_rate == 100 ? 0 : o.read_rate;  // unlimited unless a test sets a limit
    o.write_rate = o.write_rate == 2 ? 0 : o.write_rate;
    server_ = std::make_unique<mb::serve::Server>(*ledger_, *projections_, tokens_, o, mb::testing::NullLogger());
    ASSERT_TRUE(server_->Bind().ok());
    thread_ = std::thread([this] { run_status_ = server_->Run(); });
  }

  void TearDown() override {
    if (server_) server_->Stop();
    if (thread_.joinable()) thread_.join();
    EXPECT_TRUE(run_status_.ok()) << run_status_.ToString();
  }

  httplib::Client Client() {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_read_timeout(30, 0);
    return c;
  }

  json Get(const std::string& path, int want = 200) {
    auto c = Client();
    auto r = c.Get(path);
    EXPECT_TRUE(r) << path;
    if (!r) return {};
    EXPECT_EQ(r->status, want) << path << ": " << r->body;
    json j = json::parse(r->body, nullptr, false);
    if (want != 200) {
      EXPECT_TRUE(j.contains("error") && j["error"].contains("message")) << path << ": " << r->body;
      EXPECT_EQ(j["error"]["status"], want);
    }
    return j;
  }

  httplib::Result Post(const std::string& body, const std::string& token) {
    auto c = Client();
    httplib::Headers h;
    if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
    return c.Post("/api/v1/append", h, body, "application/x-ndjson");
  }

  mb::testing::TempDir dir_;
  std::unique_ptr<mb::Ledger> ledger_;
  std::unique_ptr<mb::Projections> projections_;
  std::string tokens_, token_a_, token_all_;
  std::unique_ptr<mb::serve::Server> server_;
  std::thread thread_;
  mb::Status run_status_;
};

mb::Hash H(std::string_view b64) {
  auto h = mb::HashFromBase64(b64);
  EXPECT_TRUE(h.ok()) << b64;
  return h.ok() ? *h : mb::Hash{};
}

TEST_F(ServeTest, ReadEndpointsAnswerAndUnknownIdsAre404) {
  Start();
  json log = Get("/api/v1/log");
  EXPECT_EQ(log["size"], ledger_->size());
  EXPECT_EQ(log["checkpoint_size"], ledger_->size());
  EXPECT_EQ(Get("/api/v1/funds")["funds"], json({"F-A", "F-B"}));
  EXPECT_FALSE(Get("/api/v1/balances?fund=F-A")["balances"].empty());
  json dash = Get("/api/v1/funds/F-A/dashboard");
  EXPECT_EQ(dash["disbursed"], 500000);
  EXPECT_EQ(dash["share_to_children_permille"], 1000);
  mb::Amount by_month = 0;
  for (const auto& m : dash["months"]) by_month += m["received"].get<mb::Amount>();
  EXPECT_EQ(by_month, dash["received"].get<mb::Amount>()) << "monthly receipts add up to the total";
  EXPECT_EQ(Get("/api/v1/programmes/P-1")["programme"], "P-1");
  EXPECT_EQ(Get("/api/v1/programmes")["programmes"].size(), 1u);
  json child = Get("/api/v1/children/C-1");
  EXPECT_EQ(child["totals"]["total"], 500000);
  EXPECT_EQ(Get("/api/v1/donors/D-1")["donations"].size(), 300u);
  EXPECT_EQ(Get("/api/v1/statement?fund=F-A&from=2024-09-11&to=2024-09-11")["rows"].size(), 30u);
  EXPECT_TRUE(Get("/api/v1/sponsorships?as_of=2024-09")["rows"].empty());
  json e = Get("/api/v1/entries?from=5&limit=3");
  ASSERT_EQ(e["entries"].size(), 3u);
  EXPECT_EQ(e["entries"][0]["seq"], 5);
  EXPECT_EQ(e["entries"][0]["entry"]["type"], "child_registered");

  Get("/api/v1/children/C-404", 404);
  Get("/api/v1/donors/D-404", 404);
  Get("/api/v1/programmes/P-404", 404);
  Get("/api/v1/funds/F-404/dashboard", 404);
  Get("/api/v1/statement?fund=F-404", 404);
  Get("/api/v1/nothing-here", 404);
  Get("/api/v1/entries?limit=0", 400);
  Get("/api/v1/entries?from=x", 400);
  Get("/api/v1/proof/inclusion?seq=abc", 400);
  Get("/api/v1/proof/consistency?from=0", 400);
  Get("/api/v1/statement?fund=F-A&from=2024-13-01", 400);
  Get("/api/v1/search?q=", 400);
}

TEST_F(ServeTest, SearchFindsReferencesAmountsAndNames) {
  Start();
  json r = Get("/api/v1/search?q=FT24123");
  ASSERT_EQ(r["rows"].size(), 1u);
  EXPECT_EQ(r["rows"][0]["amount"], 1000007);
  EXPECT_EQ(r["rows"][0]["fund"], "F-A");
  for (const char* q : {"1000007", "1.000.007", "1,000,007"}) {
    json a = Get(std::string("/api/v1/search?q=") + httplib::detail::encode_query_param(q));
    ASSERT_EQ(a["rows"].size(), 1u) << q;
    EXPECT_EQ(a["rows"][0]["bank_ref"], "FT24123") << q;
  }
  json n = Get("/api/v1/search?q=" + httplib::detail::encode_query_param("Nguyễn Văn An") + "&fund=F-B&limit=5");
  EXPECT_EQ(n["rows"].size(), 5u);
  EXPECT_TRUE(n["truncated"].get<bool>());
}

TEST_F(ServeTest, ProofsAndTilesCheckAgainstTheSignedCheckpoint) {
  Start();
  auto c = Client();
  auto cp = c.Get("/checkpoint");
  ASSERT_TRUE(cp && cp->status == 200);
  auto note = mb::ParseNote(cp->body);
  ASSERT_TRUE(note.ok());
  ASSERT_TRUE(mb::VerifyNote(*note, ledger_->verifier()).ok());
  auto body = mb::Checkpoint::Parse(note->text);
  ASSERT_TRUE(body.ok());
  const uint64_t n = body->size;
  ASSERT_EQ(n, 307u);
  mb::Sha256 sha;

  // Inclusion and consistency proofs from the JSON API verify against the checkpoint.
  for (uint64_t seq : {0ull, 7ull, 255ull, 256ull, 306ull}) {
    json p = Get("/api/v1/proof/inclusion?seq=" + std::to_string(seq));
    std::vector<mb::Hash> path;
    for (const auto& h : p["inclusion"]) path.push_back(H(h.get<std::string>()));
    EXPECT_TRUE(mb::VerifyInclusion(sha, seq, n, H(p["leaf_hash"].get<std::string>()), path, body->root).ok()) << seq;
  }
  json cons = Get("/api/v1/proof/consistency?from=100");
  std::vector<mb::Hash> cpath;
  for (const auto& h : cons["proof"]) cpath.push_back(H(h.get<std::string>()));
  auto r100 = ledger_->RootAt(100);
  ASSERT_TRUE(r100.ok());
  EXPECT_TRUE(mb::VerifyConsistency(sha, 100, n, cpath, *r100, body->root).ok());
  Get("/api/v1/proof/inclusion?seq=307", 404);

  // tlog-tiles: a full level-0 tile (256 leaves) and the partial one of width 51; entry bundles hash to them;
  // the root recomputed from the tiles alone is the checkpoint's.
  auto full = c.Get("/tile/0/000");
  auto part = c.Get("/tile/0/001.p/51");
  auto up = c.Get("/tile/1/000.p/1");
  ASSERT_TRUE(full && part && up);
  ASSERT_EQ(full->status, 200);
  ASSERT_EQ(part->status, 200);
  ASSERT_EQ(up->status, 200);
  ASSERT_EQ(full->body.size(), 256u * 32);
  ASSERT_EQ(part->body.size(), 51u * 32);
  ASSERT_EQ(up->body.size(), 32u);
  auto b0 = c.Get("/tile/entries/000");
  auto b1 = c.Get("/tile/entries/001.p/51");
  ASSERT_TRUE(b0 && b1 && b0->status == 200 && b1->status == 200);
  auto check_bundle = [&](const std::string& bundle, const std::string& tile, size_t count) {
    size_t pos = 0, i = 0;
    while (pos < bundle.size()) {
      ASSERT_LE(pos + 2, bundle.size());
      size_t len = (static_cast<uint8_t>(bundle[pos]) << 8) | static_cast<uint8_t>(bundle[pos + 1]);
      mb::Hash leaf = sha.Leaf(std::string_view(bundle).substr(pos + 2, len));
      ASSERT_EQ(0, std::memcmp(leaf.data(), tile.data() + 32 * i, 32)) << "entry " << i;
      pos += 2 + len;
      ++i;
    }
    EXPECT_EQ(i, count);
  };
  check_bundle(b0->body, full->body, 256);
  check_bundle(b1->body, part->body, 51);
  // Root: MTH(256 leaves) is the level-1 tile's hash; the 51 remaining leaves fold in with a compact range.
  mb::Hash top;
  std::memcpy(top.data(), up->body.data(), 32);
  mb::CompactRange first;
  for (int i = 0; i < 256; ++i) {
    mb::Hash h;
    std::memcpy(h.data(), full->body.data() + 32 * i, 32);
    first.Append(sha, h);
  }
  EXPECT_EQ(first.Root(sha), top) << "the level-1 tile holds the root of the full level-0 tile";
  mb::CompactRange all = first;
  for (int i = 0; i < 51; ++i) {
    mb::Hash h;
    std::memcpy(h.data(), part->body.data() + 32 * i, 32);
    all.Append(sha, h);
  }
  EXPECT_EQ(all.Root(sha), body->root);

  // Not served: beyond the tree, widths that do not exist yet, non-canonical paths.
  for (const char* bad : {"/tile/0/002", "/tile/0/001", "/tile/0/001.p/52", "/tile/0/x000/000", "/tile/00/000",
                          "/tile/0/0", "/tile/0/000.p/0", "/tile/0/000.p/256", "/tile/9/000", "/tile/entries/002",
                          "/tile/entries/001.p/52"}) {
    auto r = c.Get(bad);
    ASSERT_TRUE(r) << bad;
    EXPECT_EQ(r->status, 404) << bad;
  }
}

TEST_F(ServeTest, WriteRefusalsLeaveTheLedgerExactlyAsItWas) {
  mb::serve::ServeOptions o;
  o.max_body_bytes = 64 * 1024;
  o.max_batch_events = 5;
  Start(o);
  const uint64_t size0 = ledger_->size();
  const mb::Hash root0 = ledger_->root();
  const std::string good = Line("w1", "donation_received", {{"fund", "F-A"}, {"donor", "D-1"}, {"value_date", "2024-10-01"},
                                                             {"cash", {{"channel", "bank"}, {"amount", 42}}}});
  auto expect = [&](const httplib::Result& r, int status, const std::string& code) {
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, status) << r->body;
    json j = json::parse(r->body, nullptr, false);
    ASSERT_TRUE(j.contains("error")) << r->body;
    EXPECT_EQ(j["error"]["code"], code) << r->body;
    EXPECT_EQ(ledger_->size(), size0);
    EXPECT_EQ(ledger_->root(), root0);
  };
  expect(Post(good, ""), 401, "unauthorized");
  expect(Post(good, "mbt_not-a-token"), 401, "unauthorized");
  // Fund scope: F-B is not the token's fund; a province-wide rate table needs '*'; a reversal of an F-B entry too.
  expect(Post(Line("w2", "donation_received", {{"fund", "F-B"}, {"donor", "D-1"}, {"value_date", "2024-10-01"},
                                               {"cash", {{"channel", "bank"}, {"amount", 42}}}}), token_a_), 403, "forbidden");
  expect(Post(Line("w3", "allowance_rate_set", {{"table", "ND20"}, {"effective_from", "2024-01"}, {"base_amount", 360000},
                                                {"legal_basis", "x"}}), token_a_), 403, "forbidden");
  expect(Post(Line("w4", "reversal", {{"seq", 6}, {"reason", "x"}}), token_a_), 403, "forbidden");  // entry 6: F-B
  expect(Post(good + "{not json\n", token_a_), 400, "bad_batch");
  expect(Post("", token_a_), 400, "bad_batch");
  std::string six;
  for (int i = 0; i < 6; ++i) {
    six += Line("m" + std::to_string(i), "donation_received", {{"fund", "F-A"}, {"donor", "D-1"}, {"value_date", "2024-10-01"},
                                                              {"cash", {{"channel", "bank"}, {"amount", 1}}}});
  }
  expect(Post(six, token_a_), 413, "too_large");
  expect(Post(std::string(70 * 1024, ' '), token_a_), 413, "too_large");
  // An invariant: paying more than the fund holds.
  expect(Post(Line("w5", "disbursement", {{"fund", "F-A"}, {"child", "C-2"}, {"kind", "gift"}, {"amount", 999'000'000'000},
                                          {"method", "cash"}}), token_a_), 422, "rejected");
  // Revoked: refused from the next request on.
  ASSERT_TRUE(mb::serve::RevokeToken(tokens_, "an").ok());
  expect(Post(good, token_a_), 401, "unauthorized");

  // And a good batch by the '*' token is written, recorded as its administrator, and signed.
  auto ok = Post(good, token_all_);
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->status, 200) << ok->body;
  json j = json::parse(ok->body);
  EXPECT_EQ(j["appended"], 1);
  EXPECT_EQ(ledger_->size(), size0 + 1);
  auto e = ledger_->GetEntry(size0);
  ASSERT_TRUE(e.ok());
  auto d = mb::DecodeEntry(*e);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->actor, "admin:root");
  EXPECT_EQ(Get("/api/v1/log")["checkpoint_size"], size0 + 1);
  // The same batch again: a duplicate, nothing appended.
  auto again = Post(good, token_all_);
  ASSERT_TRUE(again && again->status == 200);
  EXPECT_EQ(json::parse(again->body)["appended"], 0);
  EXPECT_EQ(ledger_->size(), size0 + 1);
}

TEST_F(ServeTest, ReadRateLimitIs429WithRetryAfter) {
  mb::serve::ServeOptions o;
  o.read_rate = 0.5;
  o.read_burst = 3;
  Start(o);
  auto c = Client();
  int ok = 0, limited = 0;
  for (int i = 0; i < 6; ++i) {
    auto r = c.Get("/api/v1/funds");
    ASSERT_TRUE(r);
    if (r->status == 200) ++ok;
    if (r->status == 429) {
      ++limited;
      EXPECT_TRUE(r->has_header("Retry-After"));
      EXPECT_NE(r->body.find("rate_limited"), std::string::npos);
    }
  }
  EXPECT_EQ(ok, 3);
  EXPECT_EQ(limited, 3);
}

// Readers see every checkpoint verify and the log only grow while a writer appends; afterwards the log verifies
// and holds exactly the acknowledged batches.
TEST_F(ServeTest, ConcurrentReadersBesideAWriter) {
  Start();
  const uint64_t size0 = ledger_->size();
  std::atomic<bool> done{false};
  std::atomic<int> reads{0}, bad{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      auto c = Client();
      uint64_t last = 0;
      mb::Sha256 sha;
      while (!done) {
        auto r = c.Get("/api/v1/log");
        if (!r || r->status != 200) {
          ++bad;
          continue;
        }
        json j = json::parse(r->body);
        auto note = mb::ParseNote(j["checkpoint"].get<std::string>());
        if (!note.ok() || !mb::VerifyNote(*note, ledger_->verifier()).ok()) ++bad;
        uint64_t size = j["checkpoint_size"];
        if (size < last) ++bad;
        last = size;
        auto p = c.Get("/api/v1/proof/inclusion?seq=7&size=" + std::to_string(size));
        if (!p || p->status != 200) ++bad;
        ++reads;
      }
    });
  }
  int acked = 0;
  for (int b = 0; b < 20; ++b) {
    std::string batch;
    for (int i = 0; i < 5; ++i) {
      batch += Line("c" + std::to_string(b) + "-" + std::to_string(i), "donation_received",
                    {{"fund", "F-A"}, {"donor", "D-1"}, {"value_date", "2024-10-02"}, {"cash", {{"channel", "bank"}, {"amount", 7}}}});
    }
    auto r = Post(batch, token_a_);
    if (r && r->status == 200) ++acked;
  }
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad, 0);
  EXPECT_GT(reads, 0);
  EXPECT_EQ(acked, 20);
  EXPECT_EQ(ledger_->size(), size0 + 100);
  mb::VerifyReport rep;
  EXPECT_TRUE(ledger_->Verify({}, &rep).ok());
}

// A stop in the middle of a stream of appends: every batch that got a 200 is in the log after reopening.
TEST_F(ServeTest, StopLosesNoAcknowledgedAppend) {
  Start();
  const uint64_t size0 = ledger_->size();
  std::atomic<int> acked{0};
  std::thread writer([&] {
    for (int b = 0; b < 200; ++b) {
      auto r = Post(Line("s" + std::to_string(b), "donation_received",
                         {{"fund", "F-A"}, {"donor", "D-1"}, {"value_date", "2024-10-03"}, {"cash", {{"channel", "bank"}, {"amount", 3}}}}),
                    token_a_);
      if (!r) break;  // the server is gone
      if (r->status == 200) ++acked;
    }
  });
  while (acked < 5) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  server_->Stop();
  thread_.join();
  writer.join();
  const int n = acked;
  projections_.reset();
  ledger_.reset();
  auto l = mb::Ledger::Open(dir_.Sub("l"), mb::testing::NullLogger());
  ASSERT_TRUE(l.ok());
  EXPECT_GE((*l)->size(), size0 + n);
  EXPECT_LE((*l)->size(), size0 + n + 1);  // at most the one batch whose answer was cut off
  mb::VerifyReport rep;
  EXPECT_TRUE((*l)->Verify({}, &rep).ok());
  server_.reset();
  ledger_ = std::move(l).value();
}

}  // namespace

// Roles (issue 13): token-less requests never receive vault data; an inspector's read is journaled; the journal
// is an inspector's to read; an inspector cannot append.
TEST_F(ServeTest, RolesGuardPersonalDataAndJournalEveryRead) {
  auto inspector = mb::serve::AddToken(tokens_, "lan", "*", mb::serve::kRoleInspector);
  ASSERT_TRUE(inspector.ok());
  Start();
  auto c = Client();
  // Public: the name is never in a public answer; individuals are shown as initials.
  for (const std::string path : {"/api/v1/donors/D-1", "/api/v1/statement?fund=F-A", "/api/v1/search?q=FT24123",
                                 "/api/v1/entries?from=0&limit=400"}) {
    auto r = c.Get(path);
    ASSERT_TRUE(r && r->status == 200) << path;
    EXPECT_EQ(r->body.find("Nguyễn Văn An"), std::string::npos) << path;
  }
  EXPECT_EQ(Get("/api/v1/donors/D-1")["display_name"], "Nguyễn V. A.");
  Get("/api/v1/vault/subjects/D-1?why=x", 401);
  Get("/api/v1/journal", 401);
  httplib::Headers insp = {{"Authorization", "Bearer " + *inspector}}, admin = {{"Authorization", "Bearer " + token_all_}};
  auto no_why = c.Get("/api/v1/vault/subjects/D-1", insp);
  ASSERT_TRUE(no_why);
  EXPECT_EQ(no_why->status, 400);
  auto read = c.Get("/api/v1/vault/subjects/D-1?why=thanh%20tra%202026", insp);
  ASSERT_TRUE(read);
  ASSERT_EQ(read->status, 200) << read->body;
  EXPECT_NE(read->body.find("Nguyễn Văn An"), std::string::npos);
  auto by_admin = c.Get("/api/v1/vault/subjects/D-1?why=support%20call", admin);
  ASSERT_TRUE(by_admin && by_admin->status == 200);
  auto journal_by_admin = c.Get("/api/v1/journal", admin);
  ASSERT_TRUE(journal_by_admin);
  EXPECT_EQ(journal_by_admin->status, 403);
  auto journal = c.Get("/api/v1/journal", insp);
  ASSERT_TRUE(journal && journal->status == 200) << (journal ? journal->body : "");
  json j = json::parse(journal->body);
  ASSERT_EQ(j["records"].size(), 2u);
  EXPECT_EQ(j["records"][0]["who"], "token:lan");
  EXPECT_EQ(j["records"][0]["role"], "inspector");
  EXPECT_EQ(j["records"][0]["subject"], "D-1");
  EXPECT_EQ(j["records"][0]["why"], "thanh tra 2026");
  EXPECT_EQ(j["records"][1]["who"], "token:root");
  // An inspector's token cannot append; the ledger is unchanged.
  const uint64_t size = ledger_->size();
  auto post = Post(Line("x1", "note", {{"subject", "s"}, {"amount", 1}}), *inspector);
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 403);
  EXPECT_EQ(ledger_->size(), size);
  // The publication policy is recorded in the log and followed: F-A shows individuals as anonymous from now on.
  auto statement_counterparty = [&](const std::string& fund) {
    json st = Get("/api/v1/statement?fund=" + fund);
    for (const auto& r : st["rows"]) {
      if (r["type"] == "donation_received") return r["counterparty"].get<std::string>();
    }
    return std::string();
  };
  EXPECT_EQ(statement_counterparty("F-A"), "Nguyễn V. A.");
  auto policy = Post(Line("pp1", "publication_policy_set", {{"fund", "F-A"}, {"organisations", "name"}, {"individuals", "anonymous"}}),
                     token_all_);
  ASSERT_TRUE(policy);
  ASSERT_EQ(policy->status, 200) << policy->body;
  EXPECT_EQ(statement_counterparty("F-A"), "anonymous");
  EXPECT_EQ(statement_counterparty("F-B"), "Nguyễn V. A.");
  auto never = Post(Line("pp2", "publication_policy_set", {{"fund", "F-B"}, {"organisations", "name"}, {"individuals", "name"}}),
                    token_all_);
  ASSERT_TRUE(never);
  EXPECT_EQ(never->status, 400) << never->body;  // individuals' names are never published
}
