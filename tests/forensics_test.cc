// Tamper forensics (docs/threat-model.md): build a ledger, export an audit bundle, attack the bundle, and show
// which check of minhbach-verify's AuditBundle catches each attack, and which attacks only a trusted earlier
// checkpoint or a witness catches.
//
// The forger here is as strong as the fund itself: it holds the fund's signing key and re-encodes entries with
// the ledger's own encoder, recomputes the hash chain, the Merkle roots, the reports and the manifest.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "minhbach/audit.h"
#include "minhbach/bundle.h"
#include "minhbach/export.h"
#include "minhbach/projections.h"
#include "minhbach/read_models.h"
#include "test_util.h"

namespace mb = minhbach;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int64_t kClock = 1'700'000'000'000'000;  // test_util's FixedClock

std::string Line(int* key, const std::string& type, json data) {
  return json{{"type", type}, {"idempotency_key", "k" + std::to_string(++*key)}, {"data", data}}.dump() + "\n";
}

// A small fund: donations, payments to children, one programme.
std::vector<std::string> FundLines() {
  int key = 0;
  std::vector<std::string> lines;
  lines.push_back(Line(&key, "fund_opened", {{"fund", "F"}, {"name", "Quỹ"}, {"organisation", "o"}, {"currency", "VND"}}));
  lines.push_back(Line(&key, "programme_opened", {{"programme", "P"}, {"fund", "F"}, {"name", "Tết"}, {"legal_basis", "b"}}));
  lines.push_back(Line(&key, "donor_registered", {{"donor", "D"}, {"display_name", "Công ty A"}, {"kind", "organisation"}}));
  for (int c = 0; c < 5; ++c) {
    lines.push_back(Line(&key, "child_registered", {{"child", "C" + std::to_string(c)}, {"birth_month", "2014-03"}, {"area", "51"},
                                                     {"categories", {"orphaned_both_parents"}}}));
  }
  lines.push_back(Line(&key, "donation_received", {{"fund", "F"}, {"donor", "D"}, {"value_date", "2023-11-01"}, {"restriction", "programme"},
                                                   {"restricted_to", "P"}, {"cash", {{"channel", "bank"}, {"bank_ref", "FT1"}, {"amount", 10'000'000}}}}));
  for (int c = 0; c < 5; ++c) {
    lines.push_back(Line(&key, "disbursement", {{"fund", "F"}, {"child", "C" + std::to_string(c)}, {"kind", "gift"}, {"paid_from", "programme"},
                                                {"programme", "P"}, {"amount", 1'000'000}, {"method", "cash"}}));
  }
  return lines;
}

std::vector<mb::EventDraft> Drafts(const std::vector<std::string>& lines) {
  std::string all;
  for (const auto& l : lines) all += l;
  auto d = mb::ParseJsonLines(all);
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return *d;
}



// Rewrites the manifest's sizes and hashes after files were changed (what any forger would do).
void Reseal(const fs::path& dir) {
  json m = json::parse(mb::testing::ReadFileBytes(dir / "manifest.json"));
  json files = json::array();
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::string rel = fs::relative(e.path(), dir).generic_string();
    if (rel == "manifest.json") continue;
    std::string data = mb::testing::ReadFileBytes(e.path());
    mb::Sha256 sha;
    files.push_back({{"path", rel}, {"bytes", data.size()}, {"sha256", mb::HexEncode(sha.Digest(data))}});
  }
  std::sort(files.begin(), files.end(), [](const json& a, const json& b) { return a["path"] < b["path"]; });
  m["files"] = files;
  mb::testing::WriteFileBytes(dir / "manifest.json", m.dump(2) + "\n");
}

// The forger: a complete bundle of `drafts`, encoded exactly as the ledger does, signed with `key`.
void Forge(const fs::path& dir, const std::vector<mb::EventDraft>& drafts, const mb::SigningKey& key,
           const std::string& origin) {
  std::vector<std::string> entries;
  mb::Sha256 sha;
  mb::Hash prev{};
  mb::CompactRange tree;
  for (size_t i = 0; i < drafts.size(); ++i) {
    std::string bytes;
    ASSERT_TRUE(mb::EncodeEntryTo(i, prev, kClock, mb::AppendContext{}, drafts[i], &bytes).ok());
    prev = sha.Leaf(bytes);
    tree.Append(sha, prev);
    entries.push_back(bytes);
  }
  mb::Checkpoint cp{origin, entries.size(), tree.Root(sha), {}};
  mb::SignedNote note{cp.Body(), {}};
  ASSERT_TRUE(mb::SignNote(note, key).ok());
  auto w = mb::BundleWriter::Create(dir.string());
  ASSERT_TRUE(w.ok());
  for (const auto& e : entries) ASSERT_TRUE((*w)->AppendEntry(e).ok());
  ASSERT_TRUE((*w)->WriteFile("checkpoints/000000.note", note.Format()).ok());
  ASSERT_TRUE((*w)->WriteFile(mb::kBundleCheckpoint, note.Format()).ok());
  ASSERT_TRUE((*w)->WriteFile(mb::kBundleLogKey, key.verifier().ToString() + "\n").ok());
  ASSERT_TRUE((*w)->WriteFile(mb::kBundleSchema, "(schema)").ok());
  mb::MemoryKv kv;
  mb::ReadModels models(kv, [&](uint64_t s) -> mb::Result<std::string> { return entries.at(s); });
  // Reports as the forged log gives them (a log that breaks the rules may give none: then "{}").
  bool applied = true;
  for (size_t i = 0; i < entries.size() && applied; ++i) applied = models.Apply(i, entries[i]).ok();
  mb::Result<json> reports = json::object();
  if (applied && models.Sync().ok()) reports = models.Reports("2023-11");
  ASSERT_TRUE(reports.ok());
  ASSERT_TRUE((*w)->WriteFile(mb::kBundleReports, reports->dump(1) + "\n").ok());
  mb::BundleManifest m;
  m.origin = origin;
  m.size = entries.size();
  m.root = mb::Base64Encode(cp.root);
  m.reports_as_of = "2023-11";
  ASSERT_TRUE((*w)->Finish(m).ok());
}

class Forensics : public ::testing::Test {
 protected:
  void SetUp() override {
    auto l = mb::Ledger::Create(dir_.Sub("ledger"), kOrigin, mb::testing::NullLogger(), mb::testing::FixedClock());
    ASSERT_TRUE(l.ok()) << l.status().ToString();
    ledger_ = std::move(*l);
    ASSERT_TRUE(ledger_->Append(Drafts(FundLines()), mb::AppendContext{}).ok());
    ASSERT_TRUE(ledger_->SignCheckpoint().ok());
    ASSERT_TRUE(mb::ExportBundle(*ledger_, Bundle(), 0, {}, nullptr).ok());
    auto key = mb::SigningKey::Parse(mb::testing::ReadFileBytes(dir_.Sub("ledger") + "/signing.key"));
    ASSERT_TRUE(key.ok());
    key_ = std::make_unique<mb::SigningKey>(*key);
  }

  std::string Bundle() const { return dir_.Sub("bundle"); }
  mb::BundleVerifyOptions Options() const {
    mb::BundleVerifyOptions o;
    o.log_key = ledger_->verifier();
    return o;
  }
  // The message of the failure, or "" when the audit passed.
  std::string Audit(const std::string& dir, mb::BundleVerifyOptions o) const {
    auto r = mb::AuditBundle(dir, std::move(o));
    if (r.ok()) return "";
    EXPECT_TRUE(r.status().IsCorruption()) << r.status().ToString();
    return r.status().message();
  }

  static constexpr const char* kOrigin = "test.example/forensics";
  mb::testing::TempDir dir_;
  std::unique_ptr<mb::Ledger> ledger_;
  std::unique_ptr<mb::SigningKey> key_;
};

TEST_F(Forensics, HonestBundlePassesAndTheForgersEncoderIsFaithful) {
  EXPECT_EQ(Audit(Bundle(), Options()), "");
  // Without changes, the forger reproduces the ledger byte for byte: so the attacks below differ only in what
  // they change.
  Forge(dir_.Sub("same"), Drafts(FundLines()), *key_, kOrigin);
  EXPECT_EQ(mb::testing::ReadFileBytes(fs::path(dir_.Sub("same")) / "entries.bin"), mb::testing::ReadFileBytes(fs::path(Bundle()) / "entries.bin"));
  EXPECT_EQ(Audit(dir_.Sub("same"), Options()), "");
}

TEST_F(Forensics, FlippedByteIsCaughtByTheManifest) {
  fs::path e = fs::path(Bundle()) / "entries.bin";
  std::string data = mb::testing::ReadFileBytes(e);
  data[data.size() / 2] ^= 0x01;
  mb::testing::WriteFileBytes(e, data);
  EXPECT_NE(Audit(Bundle(), Options()).find("SHA-256 of entries.bin does not match the manifest"), std::string::npos);
}

TEST_F(Forensics, ExtraFileIsCaught) {
  mb::testing::WriteFileBytes(fs::path(Bundle()) / "reports" / "extra.json", "{}");
  EXPECT_NE(Audit(Bundle(), Options()).find("not in the manifest"), std::string::npos);
}

TEST_F(Forensics, DroppedEntryIsCaughtByTheSequenceAndChain) {
  fs::path e = fs::path(Bundle()) / "entries.bin";
  std::string data = mb::testing::ReadFileBytes(e);
  // Cut the 4th entry (u32 length prefixes).
  size_t off = 0;
  for (int i = 0; i < 3; ++i) off += 4 + ((uint8_t(data[off]) << 24) | (uint8_t(data[off + 1]) << 16) | (uint8_t(data[off + 2]) << 8) | uint8_t(data[off + 3]));
  size_t len = 4 + ((uint8_t(data[off]) << 24) | (uint8_t(data[off + 1]) << 16) | (uint8_t(data[off + 2]) << 8) | uint8_t(data[off + 3]));
  data.erase(off, len);
  mb::testing::WriteFileBytes(e, data);
  Reseal(Bundle());
  std::string msg = Audit(Bundle(), Options());
  EXPECT_NE(msg.find("entry 3: holds seq 4"), std::string::npos) << msg;
}

TEST_F(Forensics, ChangedAmountWithTheChainRecomputedIsCaughtByTheSignedRoot) {
  // The forger changes a payment and recomputes every later chain link, but cannot sign.
  std::vector<std::string> lines = FundLines();
  lines[9] = lines[9].replace(lines[9].find("1000000"), 7, "1500000");
  Forge(dir_.Sub("forged"), Drafts(lines), *key_, kOrigin);
  // Put back the honest checkpoint (the forger lacks the key in this attack).
  for (const char* f : {"checkpoint.note", "checkpoints/000000.note"}) {
    mb::testing::WriteFileBytes(fs::path(dir_.Sub("forged")) / f, mb::testing::ReadFileBytes(fs::path(Bundle()) / f));
  }
  json m = json::parse(mb::testing::ReadFileBytes(fs::path(dir_.Sub("forged")) / "manifest.json"));
  m["root"] = json::parse(mb::testing::ReadFileBytes(fs::path(Bundle()) / "manifest.json"))["root"];
  mb::testing::WriteFileBytes(fs::path(dir_.Sub("forged")) / "manifest.json", m.dump(2));
  Reseal(dir_.Sub("forged"));
  std::string msg = Audit(dir_.Sub("forged"), Options());
  EXPECT_NE(msg.find("the signed checkpoint says"), std::string::npos) << msg;
}

TEST_F(Forensics, HistoryRewrittenAndResignedPassesAloneButNotAgainstATrustedCheckpointOrAWitness) {
  std::vector<std::string> lines = FundLines();
  lines[9] = lines[9].replace(lines[9].find("1000000"), 7, "1500000");  // still within the programme's money
  Forge(dir_.Sub("forged"), Drafts(lines), *key_, kOrigin);
  // With the fund's key, a rewritten history verifies on its own: nothing inside a bundle can tell.
  EXPECT_EQ(Audit(dir_.Sub("forged"), Options()), "");
  // An inspector who kept the honest checkpoint sees the fork.
  auto o = Options();
  o.trusted_checkpoint = mb::testing::ReadFileBytes(fs::path(Bundle()) / "checkpoint.note");
  std::string msg = Audit(dir_.Sub("forged"), o);
  EXPECT_NE(msg.find("FORK"), std::string::npos) << msg;
  // A witness cosigned the honest checkpoint; the forged one has no cosignature by it.
  auto witness = mb::SigningKey::Generate("witness.example/w1", mb::kSigTypeCosignatureV1);
  ASSERT_TRUE(witness.ok());
  auto honest = mb::ParseNote(mb::testing::ReadFileBytes(fs::path(Bundle()) / "checkpoint.note"));
  ASSERT_TRUE(honest.ok());
  auto cosig = mb::Cosign(honest->text, *witness, 1'700'000'100);
  ASSERT_TRUE(cosig.ok());
  honest->signatures.push_back(*cosig);
  ASSERT_TRUE(ledger_->AddCosignatures(honest->Format(), {witness->verifier()}).ok());
  auto w = Options();
  w.witnesses = {witness->verifier()};
  w.min_witnesses = 1;
  fs::remove_all(Bundle());
  ASSERT_TRUE(mb::ExportBundle(*ledger_, Bundle(), 0, {}, nullptr).ok());
  EXPECT_EQ(Audit(Bundle(), w), "");  // the honest bundle carries the witness's cosignature
  msg = Audit(dir_.Sub("forged"), w);
  EXPECT_NE(msg.find("cosigned by 0 of the 1 given witnesses"), std::string::npos) << msg;
}

TEST_F(Forensics, RewrittenHistoryThatBreaksAnInvariantIsCaughtEvenWhenResigned) {
  std::vector<std::string> lines = FundLines();
  lines[9] = lines[9].replace(lines[9].find("1000000"), 7, "9000000");  // more than the programme holds
  Forge(dir_.Sub("forged"), Drafts(lines), *key_, kOrigin);
  std::string msg = Audit(dir_.Sub("forged"), Options());
  EXPECT_NE(msg.find("breaks a domain invariant"), std::string::npos) << msg;
}

TEST_F(Forensics, DoctoredReportIsCaughtByRecomputation) {
  fs::path r = fs::path(Bundle()) / "reports" / "reports.json";
  json j = json::parse(mb::testing::ReadFileBytes(r));
  j["programmes"][0]["disbursed"] = 4'000'000;  // hides a payment
  mb::testing::WriteFileBytes(r, j.dump(1));
  Reseal(Bundle());
  std::string msg = Audit(Bundle(), Options());
  EXPECT_NE(msg.find("reports.programmes[0].disbursed: published 4000000, recomputed 5000000"), std::string::npos) << msg;
}

TEST_F(Forensics, BundleSignedByAnotherKeyIsCaught) {
  auto other = mb::SigningKey::Generate(kOrigin);
  ASSERT_TRUE(other.ok());
  Forge(dir_.Sub("forged"), Drafts(FundLines()), *other, kOrigin);
  std::string msg = Audit(dir_.Sub("forged"), Options());
  EXPECT_NE(msg.find("not signed by the log key"), std::string::npos) << msg;
  // ... which is why the key must come from the inspector, not from the bundle: with the bundle's own key it passes.
  EXPECT_EQ(Audit(dir_.Sub("forged"), mb::BundleVerifyOptions{}), "");
}

TEST_F(Forensics, ForkShownToTwoInspectorsIsCaughtOnlyByComparingCheckpoints) {
  // Two logs of the same size from the same key: each verifies alone.
  std::vector<std::string> a = FundLines(), b = FundLines();
  b[12] = b[12].replace(b[12].find("1000000"), 7, "1200000");
  Forge(dir_.Sub("a"), Drafts(a), *key_, kOrigin);
  Forge(dir_.Sub("b"), Drafts(b), *key_, kOrigin);
  EXPECT_EQ(Audit(dir_.Sub("a"), Options()), "");
  EXPECT_EQ(Audit(dir_.Sub("b"), Options()), "");
  // Inspector A's checkpoint shown to inspector B's verifier (or a witness holding A's): a fork.
  auto o = Options();
  o.trusted_checkpoint = mb::testing::ReadFileBytes(fs::path(dir_.Sub("a")) / "checkpoint.note");
  EXPECT_NE(Audit(dir_.Sub("b"), o).find("FORK"), std::string::npos);
}

TEST_F(Forensics, IncrementalBundleChecksItsCompactRangeAndExtendsTheBase) {
  int key = 100;
  std::string more = Line(&key, "donation_received", {{"fund", "F"}, {"donor", "D"}, {"value_date", "2023-11-05"},
                                                      {"cash", {{"channel", "bank"}, {"amount", 3'000'000}}}});
  auto drafts = mb::ParseJsonLines(more);
  ASSERT_TRUE(drafts.ok());
  const uint64_t old_size = ledger_->size();
  ASSERT_TRUE(ledger_->Append(*drafts, mb::AppendContext{}).ok());
  ASSERT_TRUE(ledger_->SignCheckpoint().ok());
  ASSERT_TRUE(mb::ExportBundle(*ledger_, dir_.Sub("inc"), old_size, {}, nullptr).ok());
  auto o = Options();
  EXPECT_EQ(Audit(dir_.Sub("inc"), o), "");  // structure only
  o.base_dir = Bundle();
  o.trusted_checkpoint = mb::testing::ReadFileBytes(fs::path(Bundle()) / "checkpoint.note");
  auto r = mb::AuditBundle(dir_.Sub("inc"), o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->reports_checked);
  EXPECT_TRUE(r->bundle.domain_checked);
  // A tampered compact range does not hash to the signed root of the older size.
  fs::path c = fs::path(dir_.Sub("inc")) / "proof" / "compact.json";
  json j = json::parse(mb::testing::ReadFileBytes(c));
  std::string node = j["nodes"][0];
  node[0] = node[0] == 'A' ? 'B' : 'A';
  j["nodes"][0] = node;
  mb::testing::WriteFileBytes(c, j.dump());
  Reseal(dir_.Sub("inc"));
  EXPECT_NE(Audit(dir_.Sub("inc"), Options()).find("compact.json does not hash to the signed root"), std::string::npos);
  // --from-size must be a signed checkpoint size.
  EXPECT_TRUE(mb::ExportBundle(*ledger_, dir_.Sub("bad"), 3, {}, nullptr).IsInvalidArgument());
}

TEST_F(Forensics, ChildProofChecksEveryEntryAndRefusesTampering) {
  std::vector<mb::ProofEntry> entries;
  auto cps = ledger_->Checkpoints();
  ASSERT_TRUE(cps.ok());
  for (uint64_t seq : {uint64_t{3}, uint64_t{9}}) {  // C0's registration and payment
    auto bytes = ledger_->GetEntry(seq);
    auto path = ledger_->ProveInclusion(seq, ledger_->size());
    ASSERT_TRUE(bytes.ok() && path.ok());
    entries.push_back({seq, *bytes, *path});
  }
  std::string doc = mb::FormatChildProof("C0", cps->back().note, ledger_->verifier().ToString(), entries);
  auto ok = mb::VerifyChildProof(doc, ledger_->verifier());
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->entries, 2u);
  // Claimed for another child: refused.
  std::string other = mb::FormatChildProof("C1", cps->back().note, ledger_->verifier().ToString(), entries);
  EXPECT_NE(mb::VerifyChildProof(other, ledger_->verifier()).status().message().find("does not concern child C1"), std::string::npos);
  // A changed proof node: not included.
  json j = json::parse(doc);
  std::string h = j["entries"][1]["inclusion"][0];
  h[0] = h[0] == 'A' ? 'B' : 'A';
  j["entries"][1]["inclusion"][0] = h;
  EXPECT_NE(mb::VerifyChildProof(j.dump(), ledger_->verifier()).status().message().find("not included"), std::string::npos);
  // A changed entry: its leaf hash no longer matches.
  j = json::parse(doc);
  j["entries"][0]["entry"] = j["entries"][1]["entry"];
  EXPECT_FALSE(mb::VerifyChildProof(j.dump(), ledger_->verifier()).ok());
  // Another key: the checkpoint signature fails.
  auto stranger = mb::SigningKey::Generate(kOrigin);
  EXPECT_NE(mb::VerifyChildProof(doc, stranger->verifier()).status().message().find("not signed"), std::string::npos);
}

TEST(Cosignature, FormatFollowsTlogCosignatureV1) {
  auto w = mb::SigningKey::Generate("witness.example/w", mb::kSigTypeCosignatureV1);
  ASSERT_TRUE(w.ok());
  // Key ID = SHA-256(name || "\n" || 0x04 || public key)[:4]
  mb::Sha256 sha;
  std::string pub(reinterpret_cast<const char*>(w->verifier().public_key().data()), 32);
  EXPECT_EQ(w->key_id(), mb::ComputeKeyId(sha, "witness.example/w", 0x04, pub));
  auto v = mb::Verifier::Parse(w->verifier().ToString());
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->type(), mb::kSigTypeCosignatureV1);
  const std::string text = "example.com/log\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
  auto sig = mb::Cosign(text, *w, 1679315147);
  ASSERT_TRUE(sig.ok());
  ASSERT_EQ(sig->signature.size(), 72u);  // u64 timestamp || Ed25519 signature
  // The signed message is "cosignature/v1\ntime <t>\n" || body.
  EXPECT_TRUE(v->Verify("cosignature/v1\ntime 1679315147\n" + text, sig->signature.substr(8)));
  mb::SignedNote note{text, {*sig}};
  auto t = mb::VerifyCosignature(note, *v);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, 1679315147u);
  note.text[0] = 'E';
  EXPECT_TRUE(mb::VerifyCosignature(note, *v).status().IsCorruption());
  // A note key cannot cosign, a cosignature key cannot sign notes.
  auto log_key = mb::SigningKey::Generate("example.com/log");
  EXPECT_FALSE(mb::Cosign(text, *log_key, 1).ok());
  mb::SignedNote n2{text, {}};
  EXPECT_FALSE(mb::SignNote(n2, *w).ok());
}

}  // namespace

namespace {

class HostileBundle : public Forensics {};

}  // namespace

// Found by review: hostile bundles must give a clear failure, never a crash, a hang or a pass.
TEST_F(HostileBundle, ReportKeysThatLookLikePathsDoNotCrash) {
  fs::path r = fs::path(Bundle()) / "reports" / "reports.json";
  json j = json::parse(mb::testing::ReadFileBytes(r));
  j["balances["] = 1;
  mb::testing::WriteFileBytes(r, j.dump());
  Reseal(Bundle());
  EXPECT_NE(Audit(Bundle(), Options()).find("published report differs"), std::string::npos);
}

TEST_F(HostileBundle, DeeplyNestedReportsAreRefused) {
  fs::path r = fs::path(Bundle()) / "reports" / "reports.json";
  json j = json::parse(mb::testing::ReadFileBytes(r));
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  std::string text = j.dump();
  text.insert(text.size() - 1, ",\"x\":" + deep);
  mb::testing::WriteFileBytes(r, text);
  Reseal(Bundle());
  EXPECT_FALSE(Audit(Bundle(), Options()).empty());
}

TEST_F(HostileBundle, SymlinksAreRefused) {
  fs::create_symlink("/etc", fs::path(Bundle()) / "proof");
  EXPECT_NE(Audit(Bundle(), Options()).find("symbolic link"), std::string::npos);
}

TEST_F(HostileBundle, ReportsAsOfFollowsTheLogNotTheManifest) {
  // An earlier month (before any arrears) with reports recomputed for it: refused all the same.
  json m = json::parse(mb::testing::ReadFileBytes(fs::path(Bundle()) / "manifest.json"));
  m["reports_as_of"] = "2000-01";
  mb::testing::WriteFileBytes(fs::path(Bundle()) / "manifest.json", m.dump(2));
  Reseal(Bundle());
  EXPECT_NE(Audit(Bundle(), Options()).find("reports_as_of"), std::string::npos);
}

TEST_F(HostileBundle, CheckpointBeyondTheBundleIsRefused) {
  mb::Checkpoint cp{kOrigin, ledger_->size() + 5, mb::Hash{}, {}};
  mb::SignedNote note{cp.Body(), {}};
  ASSERT_TRUE(mb::SignNote(note, *key_).ok());
  mb::testing::WriteFileBytes(fs::path(Bundle()) / "checkpoints" / "000009.note", note.Format());
  Reseal(Bundle());
  EXPECT_NE(Audit(Bundle(), Options()).find("in a bundle of size"), std::string::npos);
}

TEST_F(HostileBundle, DuplicateManifestEntriesAreRefused) {
  json m = json::parse(mb::testing::ReadFileBytes(fs::path(Bundle()) / "manifest.json"));
  m["files"].push_back(m["files"][0]);
  mb::testing::WriteFileBytes(fs::path(Bundle()) / "manifest.json", m.dump(2));
  EXPECT_NE(Audit(Bundle(), Options()).find("listed once each"), std::string::npos);
}

TEST_F(HostileBundle, ACosignatureKeyIsNotALogKey) {
  auto w = mb::SigningKey::Generate(kOrigin, mb::kSigTypeCosignatureV1);
  ASSERT_TRUE(w.ok());
  mb::BundleVerifyOptions o;
  o.log_key = w->verifier();
  auto r = mb::AuditBundle(Bundle(), o);
  EXPECT_TRUE(r.status().IsInvalidArgument()) << r.status().ToString();
}
