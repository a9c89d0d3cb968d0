// The read side and the audit at scale, on a realistic synthetic log (realistic.h):
//   1. build (or reuse) a ledger of N events, sign a checkpoint;
//   2. rebuild all read models from the log (what `minhbach rebuild` does): entries/s and peak RSS;
//   3. one child's history: median and p99 latency over random children;
//   4. export an audit bundle and audit it as minhbach-verify does (log checks, invariants, reports): entries/s,
//      peak RSS.
//
//   minhbach-readbench --dir DIR [--events N] [--children C] [--donations-per-month K] [--lookups L]
//                      [--skip rebuild|audit]
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "minhbach/audit.h"
#include "minhbach/export.h"
#include "minhbach/ledger.h"
#include "minhbach/projections.h"
#include "realistic.h"

namespace mb = minhbach;
using Clock = std::chrono::steady_clock;

namespace {

double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// Peak resident set size since the last reset, in MiB (VmHWM; reset via /proc/self/clear_refs).
double PeakRssMiB() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return -1;
}
void ResetPeakRss() {
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
}

void Progress(const char* what, uint64_t done, uint64_t total) {
  static auto last = Clock::now();
  if (Seconds(last, Clock::now()) < 2 && done != total) return;
  last = Clock::now();
  std::fprintf(stderr, "  %s: %llu / %llu\n", what, static_cast<unsigned long long>(done), static_cast<unsigned long long>(total));
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/tmp/minhbach-readbench", skip;
  uint64_t events = 1'000'000;
  int lookups = 2000;
  mb::bench::RealisticStream::Shape shape;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--dir") dir = v;
    else if (k == "--events") events = std::stoull(v);
    else if (k == "--children") shape.children = std::stoi(v);
    else if (k == "--donations-per-month") shape.donations_per_month = std::stoi(v);
    else if (k == "--lookups") lookups = std::stoi(v);
    else if (k == "--skip") skip = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  auto log = std::make_shared<spdlog::logger>("bench", std::make_shared<spdlog::sinks::null_sink_mt>());
  namespace fs = std::filesystem;
  const std::string ledger_dir = dir + "/ledger";
  if (!fs::exists(ledger_dir + "/" + mb::kDbDirName)) {
    auto l = mb::Ledger::Create(ledger_dir, "bench.minhbach.vn/realistic", log);
    if (!l.ok()) {
      std::fprintf(stderr, "%s\n", l.status().ToString().c_str());
      return 3;
    }
    mb::bench::RealisticStream stream(shape);
    auto t0 = Clock::now();
    double in_append = 0;
    while ((*l)->size() < events) {
      auto batch = stream.Next(std::min<uint64_t>(10'000, events - (*l)->size()));
      if (batch.empty()) break;
      auto a0 = Clock::now();
      auto r = (*l)->Append(batch, mb::AppendContext{});
      in_append += Seconds(a0, Clock::now());
      if (!r.ok()) {
        std::fprintf(stderr, "append: %s\n", r.status().ToString().c_str());
        return 3;
      }
      Progress("build", (*l)->size(), events);
    }
    auto cp = (*l)->SignCheckpoint();
    if (!cp.ok()) return 3;
    std::printf("built %llu events (%d months) in %.1f s; append %.0f events/s\n",
                static_cast<unsigned long long>((*l)->size()), stream.month_index(), Seconds(t0, Clock::now()),
                (*l)->size() / in_append);
  }
  mb::LedgerOptions ro;
  ro.read_only = true;
  auto l = mb::Ledger::Open(ledger_dir, log, ro);
  if (!l.ok()) {
    std::fprintf(stderr, "%s\n", l.status().ToString().c_str());
    return 3;
  }
  const uint64_t n = (*l)->size();
  std::printf("log: %llu entries\n", static_cast<unsigned long long>(n));

  if (skip != "rebuild") {
    fs::remove_all(dir + "/projections");
    ResetPeakRss();
    auto t0 = Clock::now();
    auto p = mb::Projections::Open(**l, dir + "/projections", log, [](uint64_t d, uint64_t t) { Progress("rebuild", d, t); });
    double secs = Seconds(t0, Clock::now());
    if (!p.ok()) {
      std::fprintf(stderr, "rebuild: %s\n", p.status().ToString().c_str());
      return 3;
    }
    std::printf("rebuild of all read models: %.1f s = %.0f entries/s, peak RSS %.0f MiB\n", secs, n / secs, PeakRssMiB());
    // Child history latency.
    std::mt19937_64 rng(7);
    std::vector<double> us;
    size_t rows = 0;
    for (int i = 0; i < lookups; ++i) {
      std::string child = "C-" + std::to_string(rng() % shape.children);
      auto c0 = Clock::now();
      auto h = (*p)->models().ChildHistory(child);
      us.push_back(Seconds(c0, Clock::now()) * 1e6);
      if (h.ok()) rows += h->size();
    }
    std::sort(us.begin(), us.end());
    std::printf("child history: median %.0f us, p99 %.0f us (%d random children, %.0f rows each on average)\n",
                us[us.size() / 2], us[us.size() * 99 / 100], lookups, static_cast<double>(rows) / lookups);
  }
  if (skip != "audit") {
    const std::string bundle = dir + "/bundle";
    fs::remove_all(bundle);
    auto e0 = Clock::now();
    mb::ExportSummary sum;
    mb::Status s = mb::ExportBundle(**l, bundle, 0, [](uint64_t d, uint64_t t) { Progress("export", d, t); }, &sum);
    if (!s.ok()) {
      std::fprintf(stderr, "export: %s\n", s.ToString().c_str());
      return 3;
    }
    std::printf("export: %.1f s\n", Seconds(e0, Clock::now()));
    ResetPeakRss();
    mb::BundleVerifyOptions o;
    o.log_key = (*l)->verifier();
    o.progress = [](uint64_t d, uint64_t t) { Progress("audit", d, t); };
    auto a0 = Clock::now();
    auto r = mb::AuditBundle(bundle, o);
    double secs = Seconds(a0, Clock::now());
    if (!r.ok()) {
      std::fprintf(stderr, "audit: %s\n", r.status().ToString().c_str());
      return 1;
    }
    std::printf("audit (minhbach-verify: manifest, chain, roots, invariants, reports): %.1f s = %.0f entries/s, peak RSS %.0f MiB\n",
                secs, n / secs, PeakRssMiB());
  }
  return 0;
}
