// Crash test: a writer process appends batches and reports each acknowledged one; it is SIGKILLed at
// random points. After every kill the ledger must open, verify, and hold every acknowledged batch.
//
// Run with MINHBACH_CRASH_KILLS=N for a longer run (default 32 kills). A failure prints the seed;
// MINHBACH_CRASH_SEED=S replays it.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "minhbach/ledger.h"
#include "test_util.h"

namespace mb = minhbach;

namespace {

// The writer: appends batches forever; after each acknowledged Append prints "<size after>\n" and flushes.
// Keys are "k-<seq>", so the reader can check that entry s holds key k-s.
int WriterMain(const std::string& dir, uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto l = mb::Ledger::Open(dir, mb::testing::NullLogger());
  if (!l.ok()) {
    std::fprintf(stderr, "writer: %s\n", l.status().ToString().c_str());
    return 3;
  }
  while (true) {
    uint64_t size = (*l)->size();
    size_t n = 1 + rng() % 400;
    auto events = mb::testing::Events(n, "x", &rng);
    for (size_t i = 0; i < n; ++i) events[i].idempotency_key = "k-" + std::to_string(size + i);
    auto r = (*l)->Append(events, {});
    if (!r.ok()) {
      std::fprintf(stderr, "writer: %s\n", r.status().ToString().c_str());
      return 3;
    }
    if (rng() % 16 == 0 && !(*l)->SignCheckpoint().ok()) return 3;
    std::printf("%llu\n", static_cast<unsigned long long>(r->size));
    std::fflush(stdout);
  }
}

std::string SelfExe() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  buf[n] = 0;
  return buf;
}

}  // namespace

TEST(Crash, KilledWriterLosesNoAcknowledgedBatch) {
  uint64_t seed = std::random_device{}();
  if (const char* s = std::getenv("MINHBACH_CRASH_SEED")) seed = std::strtoull(s, nullptr, 10);
  int kills = 32;
  if (const char* k = std::getenv("MINHBACH_CRASH_KILLS")) kills = std::atoi(k);
  std::cout << "crash test seed " << seed << " (replay with MINHBACH_CRASH_SEED=" << seed << "), " << kills
            << " kills\n";
  std::mt19937_64 rng(seed);
  mb::testing::TempDir tmp;
  const std::string dir = tmp.Sub("l");
  {
    auto l = mb::Ledger::Create(dir, "test.example/crash", mb::testing::NullLogger());
    ASSERT_TRUE(l.ok());
  }
  uint64_t acknowledged = 0;
  for (int round = 0; round < kills; ++round) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::dup2(fds[1], 1);
      ::close(fds[0]);
      ::close(fds[1]);
      std::string exe = SelfExe();
      std::string seed_arg = std::to_string(seed + round);
      ::execl(exe.c_str(), exe.c_str(), "--writer", dir.c_str(), seed_arg.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(fds[1]);
    // Let it run a random while, then kill -9. Even rounds count from the start (some kills land during open);
    // odd rounds from its first acknowledged batch, so that slow builds (sanitizers) still kill mid-append.
    std::string out;
    if (round % 2 == 1) {
      char c;
      while (::read(fds[0], &c, 1) == 1) {
        out.push_back(c);
        if (c == '\n') break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5 + rng() % 150));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "round " << round << ": writer exited early with status " << status;
    // Everything the writer reported before dying was acknowledged.
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    ::close(fds[0]);
    size_t pos = 0;
    while (true) {
      size_t nl = out.find('\n', pos);
      if (nl == std::string::npos) break;  // a torn last line was not fully reported: ignore it
      acknowledged = std::max<uint64_t>(acknowledged, std::stoull(out.substr(pos, nl - pos)));
      pos = nl + 1;
    }
    auto l = mb::Ledger::Open(dir, mb::testing::NullLogger());
    ASSERT_TRUE(l.ok()) << "round " << round << ", seed " << seed << ": " << l.status().ToString();
    ASSERT_GE((*l)->size(), acknowledged) << "round " << round << ", seed " << seed << ": acknowledged entries lost";
    mb::Status v = (*l)->Verify({}, nullptr);
    ASSERT_TRUE(v.ok()) << "round " << round << ", seed " << seed << ": " << v.ToString();
    // Spot-check that entries hold the keys the writer gave them.
    for (uint64_t s : {uint64_t{0}, acknowledged / 2, (*l)->size() - 1}) {
      if (s >= (*l)->size()) continue;
      auto e = mb::DecodeEntry(*(*l)->GetEntry(s));
      ASSERT_TRUE(e.ok());
      ASSERT_EQ(e->idempotency_key, "k-" + std::to_string(s)) << "seed " << seed;
    }
    acknowledged = (*l)->size();  // what survived is now durable too
  }
  std::cout << "after " << kills << " kills the ledger holds " << acknowledged << " entries, all verified\n";
  EXPECT_GT(acknowledged, 0u);
}

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "--writer") {
    return WriterMain(argv[2], std::strtoull(argv[3], nullptr, 10));
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
