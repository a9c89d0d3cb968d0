// minhbach-vaultbench: durable append with personal data sealed into the vault, against the same events
// without personal data, interleaved in one run (these machines drift: only the ratio in one run counts).
//
//   minhbach-vaultbench [--dir DIR] [--rounds 6] [--batches-per-round 20]
//
// Each batch is 1,000 events: 100 individual donors registered with a name and an account number, and 900 bank
// donations with the bank's text of the line (about 70 bytes, naming the sender and an account). Both runs
// append the same entries, byte for byte in size: "plain" hands over commitments made beforehand (no vault),
// "vault" hands over the plaintexts, which Append seals (a fresh salt and a commitment for each) and stores
// in the vault with one more synced write per batch. The ratio is the vault's whole cost.
// Ends with one JSON line: {"bench":"vault","append_eps_plain":…,"append_eps_vault":…,"ratio":…}.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "minhbach/entry.h"
#include "minhbach/hash.h"
#include "minhbach/ledger.h"
#include "minhbach/privacy.h"
#include "minhbach/vault.h"

namespace mb = minhbach;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kBatch = 1000, kDonorsPerBatch = 100;

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// A commitment made outside the ledger, as a JSON field: what "plain" appends instead of the plaintext.
std::string Committed(const char* field, const std::string& name, const std::string& value) {
  return "\"" + std::string(name) + "_commitment\":\"" + mb::HexEncode(mb::Commitment(field, mb::RandomSalt(), value)) + "\"";
}

std::vector<mb::EventDraft> Batch(bool vault, size_t b) {
  std::string text;
  for (size_t i = 0; i < kDonorsPerBatch; ++i) {
    const std::string id = "D-" + std::to_string(b) + "-" + std::to_string(i);
    const std::string n = std::to_string(b * kDonorsPerBatch + i);
    text += R"({"type":"donor_registered","idempotency_key":"d)" + id + R"(","data":{"donor":")" + id + "\",";
    const std::string name = "Nguyễn Văn Nhà Hảo Tâm " + n;
    const std::string account = "01010012" + std::string(5 - std::min<size_t>(5, n.size()), '0') + n;
    text += R"("kind":"individual",)";
    text += vault ? "\"name\":\"" + name + "\",\"account\":\"" + account + "\"}}\n"
                  : Committed("donor_registered.name", "name", name) + "," +
                        Committed("donor_registered.account", "account", account) + "}}\n";
  }
  for (size_t i = 0; i < kBatch - kDonorsPerBatch; ++i) {
    const std::string donor = "D-" + std::to_string(b) + "-" + std::to_string(i % kDonorsPerBatch);
    const std::string key = "g" + std::to_string(b) + "-" + std::to_string(i);
    text += R"({"type":"donation_received","idempotency_key":")" + key + R"(","data":{"fund":"F","donor":")" + donor +
            R"(","value_date":"2024-09-12","cash":{"channel":"bank","bank_ref":"FT)" + key + R"(","amount":)" +
            std::to_string(100000 + i) + "}";
    const std::string details = "MBVCB." + key + ".CT tu 0101001222009 NGUYEN VAN AN ung ho dong bao bao Yagi";
    text += vault ? ",\"details\":\"" + details + "\"" : "," + Committed("donation_received.details", "details", details);
    text += "}}\n";
  }
  auto drafts = mb::ParseJsonLines(text);
  if (!drafts.ok()) {
    std::fprintf(stderr, "%s\n", drafts.status().ToString().c_str());
    std::exit(3);
  }
  return std::move(drafts).value();
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/tmp/minhbach-vaultbench";
  int rounds = 6;
  size_t per_round = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--dir") dir = v;
    else if (k == "--rounds") rounds = std::stoi(v);
    else if (k == "--batches-per-round") per_round = std::stoul(v);
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  fs::remove_all(dir);
  auto log = std::make_shared<spdlog::logger>("bench", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  log->set_level(std::getenv("MINHBACH_BENCH_DEBUG") ? spdlog::level::debug : spdlog::level::warn);
  std::unique_ptr<mb::Ledger> ledgers[2];
  for (int v = 0; v < 2; ++v) {
    auto l = mb::Ledger::Create(dir + (v ? "/vault" : "/plain"), "bench.example/vault", log);
    if (!l.ok()) return 3;
    ledgers[v] = std::move(*l);
    auto f = mb::ParseJsonLines(R"({"type":"fund_opened","idempotency_key":"f","data":{"fund":"F","name":"Quỹ","organisation":"Sở","currency":"VND"}})");
    if (!f.ok() || !ledgers[v]->Append(*f, {}).ok()) return 3;
  }
  std::vector<double> rates[2], ratios;
  size_t b = 0;
  std::printf("vault bench: batches of %zu events (%zu donors + %zu donations), %zu batches per round, %d rounds\n",
              kBatch, kDonorsPerBatch, kBatch - kDonorsPerBatch, per_round, rounds);
  for (int r = 0; r < rounds; ++r) {
    double rate[2];
    for (int v : {r % 2, 1 - r % 2}) {  // alternate which goes first
      std::vector<std::vector<mb::EventDraft>> batches;
      for (size_t i = 0; i < per_round; ++i) batches.push_back(Batch(v == 1, b + i));
      auto t0 = Clock::now();
      for (auto& batch : batches) {
        auto res = ledgers[v]->Append(batch, {});
        if (!res.ok()) {
          std::fprintf(stderr, "%s\n", res.status().ToString().c_str());
          return 3;
        }
      }
      rate[v] = per_round * kBatch / std::chrono::duration<double>(Clock::now() - t0).count();
      rates[v].push_back(rate[v]);
    }
    b += per_round;
    ratios.push_back(rate[1] / rate[0]);
    std::printf("  round %d: plain %8.0f ev/s   vault %8.0f ev/s   ratio %.3f\n", r, rate[0], rate[1], rate[1] / rate[0]);
  }
  // Opening: a read-write open reads the whole vault file (its indexes live in memory); the plain ledger's open
  // is the baseline of the same run. Then a read-only open's first question that needs the indexes.
  ledgers[0].reset();
  ledgers[1].reset();
  double open_ms[2];
  for (int v = 0; v < 2; ++v) {
    auto t0 = Clock::now();
    auto l = mb::Ledger::Open(dir + (v ? "/vault" : "/plain"), log);
    open_ms[v] = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (!l.ok()) return 3;
  }
  mb::LedgerOptions read_only;
  read_only.read_only = true;
  auto ro = mb::Ledger::Open(dir + "/vault", log, read_only);
  if (!ro.ok()) return 3;
  auto t0 = Clock::now();
  auto found = (*ro)->vault().FindByName(mb::NormalizeName("Nguyễn Văn Nhà Hảo Tâm 7"), 5);
  const double first_question_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  if (!found.ok() || found->size() != 1) return 3;
  const size_t entries = b * kBatch;
  std::printf("open with %zu entries' personal data: %.1f ms (without a vault: %.1f ms); a read-only open's first "
              "name search: %.1f ms\n", entries, open_ms[1], open_ms[0], first_question_ms);
  std::printf("{\"bench\":\"vault\",\"append_eps_plain\":%.0f,\"append_eps_vault\":%.0f,\"ratio\":%.3f,"
              "\"vault_entries\":%zu,\"open_ms_plain\":%.1f,\"open_ms_vault\":%.1f,\"first_search_ms\":%.1f}\n",
              Median(rates[0]), Median(rates[1]), Median(ratios), entries, open_ms[0], open_ms[1], first_question_ms);
  fs::remove_all(dir);
  return 0;
}
