// Whole-process benchmark: durable append vs the raw RocksDB limit (interleaved A B A B), full verify,
// and proof latency. Figures go to docs/performance.md. Usage:
//   minhbach-bench [--dir DIR] [--rounds R] [--batches-per-round B] [--verify-entries N] [--proofs P]
//                  [--events note|domain]
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>

#include "minhbach/ledger.h"
#include "minhbach/projections.h"
#include "synth.h"

namespace mb = minhbach;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kBatch = 1000;

double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

std::string SeqKey(uint64_t s) {
  std::string k(8, '\0');
  for (int i = 0; i < 8; ++i) k[i] = static_cast<char>(s >> (56 - 8 * i));
  return k;
}

struct Raw {
  std::unique_ptr<rocksdb::DB> db;
  uint64_t next = 0;
  explicit Raw(const std::string& path) {
    rocksdb::Options o;
    o.create_if_missing = true;
    o.write_buffer_size = 64 << 20;
    rocksdb::DB* d = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(o, path, &d);
    if (!s.ok()) {
      std::fprintf(stderr, "raw open: %s\n", s.ToString().c_str());
      std::exit(3);
    }
    db.reset(d);
  }
  // `batches` WriteBatches of 1,000 values of `value_bytes`, each written with sync=true.
  double Run(size_t batches, size_t value_bytes, std::mt19937_64& rng) {
    std::string value(value_bytes, 'x');
    rocksdb::WriteOptions wo;
    wo.sync = true;
    auto t0 = Clock::now();
    for (size_t b = 0; b < batches; ++b) {
      rocksdb::WriteBatch wb;
      for (size_t i = 0; i < kBatch; ++i) {
        std::memcpy(value.data(), &next, 8);  // distinct values, like distinct events
        value[8 + rng() % (value_bytes - 8)] = static_cast<char>(rng());
        wb.Put(SeqKey(next++), value);
      }
      if (!db->Write(wo, &wb).ok()) std::exit(3);
    }
    return batches * kBatch / Seconds(t0, Clock::now());
  }
};

struct Args {
  std::string dir = "/tmp/minhbach-bench";
  int rounds = 6;
  size_t batches_per_round = 40;
  uint64_t verify_entries = 1'000'000;
  int proofs = 2000;
  bool domain = false;  // realistic domain events (donations, disbursements) instead of generic notes
};

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--dir") a.dir = v;
    else if (k == "--rounds") a.rounds = std::stoi(v);
    else if (k == "--batches-per-round") a.batches_per_round = std::stoul(v);
    else if (k == "--verify-entries") a.verify_entries = std::stoull(v);
    else if (k == "--proofs") a.proofs = std::stoi(v);
    else if (k == "--events") a.domain = v == "domain";
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  fs::remove_all(a.dir);
  fs::create_directories(a.dir);
  auto log = std::make_shared<spdlog::logger>("bench", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  log->set_level(std::getenv("MINHBACH_BENCH_DEBUG") ? spdlog::level::debug : spdlog::level::warn);
  std::mt19937_64 rng(42);

  // ---- 1. Append: minhbach vs raw RocksDB, interleaved ----
  auto ledger = mb::Ledger::Create(a.dir + "/ledger", "bench.example/log", log);
  if (!ledger.ok()) {
    std::fprintf(stderr, "%s\n", ledger.status().ToString().c_str());
    return 3;
  }
  mb::Ledger& l = **ledger;
  mb::bench::DomainStream stream(10'000);
  if (a.domain) {
    auto setup = l.Append(stream.Setup(), mb::AppendContext{});
    if (!setup.ok()) {
      std::fprintf(stderr, "%s\n", setup.status().ToString().c_str());
      return 3;
    }
  }
  auto next_batch = [&](uint64_t first, size_t n) {
    return a.domain ? stream.Batch(n, rng) : mb::bench::SyntheticEvents(first, n, rng);
  };
  // Average canonical entry size, so the raw loop writes values of the same size.
  size_t bytes_total = 0;
  {
    mb::bench::DomainStream sample_stream(10'000);  // its own stream: the main one tracks the real balance
    auto sample = a.domain ? sample_stream.Batch(1000, rng) : mb::bench::SyntheticEvents(0, 1000, rng);
    std::string out;
    for (auto& e : sample) {
      (void)mb::EncodeEntryTo(123456, mb::Hash{}, 1, mb::AppendContext{}, e, &out);
      bytes_total += out.size();
    }
  }
  const size_t value_bytes = bytes_total / 1000;
  Raw raw(a.dir + "/raw");
  std::vector<double> raw_rates, mb_rates;
  uint64_t seq = 0;
  std::printf("append (%s events): batches of %zu, %zu batches per round, %d rounds, value size %zu bytes\n",
              a.domain ? "domain" : "note", kBatch, a.batches_per_round, a.rounds, value_bytes);
  for (int r = 0; r < a.rounds; ++r) {
    double rr = raw.Run(a.batches_per_round, value_bytes, rng);
    // Events are generated outside the timed region, as a caller would hand them over parsed.
    std::vector<std::vector<mb::EventDraft>> batches;
    for (size_t b = 0; b < a.batches_per_round; ++b, seq += kBatch) batches.push_back(next_batch(seq, kBatch));
    auto t0 = Clock::now();
    for (auto& b : batches) {
      auto res = l.Append(b, mb::AppendContext{});
      if (!res.ok()) {
        std::fprintf(stderr, "%s\n", res.status().ToString().c_str());
        return 3;
      }
    }
    double mr = a.batches_per_round * kBatch / Seconds(t0, Clock::now());
    raw_rates.push_back(rr);
    mb_rates.push_back(mr);
    std::printf("  round %d: raw %9.0f rec/s   minhbach %9.0f ev/s   ratio %.2f\n", r, rr, mr, mr / rr);
  }
  std::vector<double> ratios;
  for (size_t i = 0; i < raw_rates.size(); ++i) ratios.push_back(mb_rates[i] / raw_rates[i]);
  std::printf("append median: raw %.0f rec/s, minhbach %.0f ev/s, median ratio %.3f\n", Median(raw_rates),
              Median(mb_rates), Median(ratios));

  // ---- 2. Grow to verify_entries and verify ----
  while (l.size() < a.verify_entries) {
    size_t n = std::min<uint64_t>(10 * kBatch, a.verify_entries - l.size());
    auto res = l.Append(next_batch(l.size() + 1'000'000'000ull, n), mb::AppendContext{});
    if (!res.ok()) return 3;
  }
  if (!l.SignCheckpoint().ok()) return 3;
  ledger->reset();
  mb::LedgerOptions ro_opts;
  ro_opts.read_only = true;
  auto ro = mb::Ledger::Open(a.dir + "/ledger", log, ro_opts);
  if (!ro.ok()) return 3;
  mb::VerifyReport rep;
  auto t0 = Clock::now();
  mb::Status vs = (*ro)->Verify({}, &rep);
  double vsec = Seconds(t0, Clock::now());
  if (!vs.ok()) {
    std::fprintf(stderr, "verify failed: %s\n", vs.ToString().c_str());
    return 1;
  }
  std::printf("verify: %llu entries in %.2f s = %.0f entries/s\n", static_cast<unsigned long long>(rep.entries), vsec,
              rep.entries / vsec);

  // ---- 3. Read models: a full build from genesis (what `minhbach rebuild` does) ----
  {
    auto r0 = Clock::now();
    auto proj = mb::Projections::Open(**ro, a.dir + "/projections", log);
    double rsec = Seconds(r0, Clock::now());
    if (!proj.ok()) {
      std::fprintf(stderr, "read models: %s\n", proj.status().ToString().c_str());
      return 3;
    }
    std::printf("read models rebuild: %llu entries in %.2f s = %.0f entries/s\n",
                static_cast<unsigned long long>((*ro)->size()), rsec, (*ro)->size() / rsec);
  }

  // ---- 4. Proof latency on the full log (fresh read-only open: tiles come from RocksDB) ----
  const uint64_t n = (*ro)->size();
  std::vector<double> incl, cons;
  for (int i = 0; i < a.proofs; ++i) {
    uint64_t idx = rng() % n;
    auto p0 = Clock::now();
    auto p = (*ro)->ProveInclusion(idx, n);
    auto p1 = Clock::now();
    if (!p.ok()) return 3;
    incl.push_back(Seconds(p0, p1) * 1e6);
    uint64_t old = 1 + rng() % (n - 1);
    auto c0 = Clock::now();
    auto c = (*ro)->ProveConsistency(old, n);
    auto c1 = Clock::now();
    if (!c.ok()) return 3;
    cons.push_back(Seconds(c0, c1) * 1e6);
  }
  std::printf("proofs on %llu entries: inclusion median %.1f us, consistency median %.1f us (%d each)\n",
              static_cast<unsigned long long>(n), Median(incl), Median(cons), a.proofs);
  fs::remove_all(a.dir);
  return 0;
}
