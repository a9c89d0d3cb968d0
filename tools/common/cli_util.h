// Small helpers shared by the command-line programs: progress display, number formatting, tables, key and
// file arguments.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "minhbach/note.h"
#include "minhbach/status.h"

namespace minhbach::cli {

// The whole of a small text file named on the command line; InvalidArgument naming `what` when unreadable.
Result<std::string> ReadTextFile(const std::string& path, const std::string& what);
// Replaces `path` with `data` atomically: a temporary file beside it (mode `mode`), fsync, rename, fsync of the
// folder. A reader sees the old content or the new, never a mix; after a crash, one of the two.
Status WriteFileAtomically(const std::string& path, const std::string& data, unsigned mode);
// A verifier key given inline, or the path of a file whose first line holds it; errors name `option`.
Result<Verifier> VerifierArg(const std::string& arg, const std::string& option);

// "1234567" -> "1,234,567"
std::string Grouped(uint64_t v);

// A progress line on stderr, shown only when stderr is a terminal; redraws at most 10 times a second.
class Progress {
 public:
  Progress(std::string label, bool enabled);
  ~Progress();
  void Update(uint64_t done, uint64_t total);
  void Finish();

 private:
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

// A plain text table with right-aligned numeric columns.
class Table {
 public:
  explicit Table(std::vector<std::string> header, std::vector<bool> right_align = {});
  void Row(std::vector<std::string> cells);
  std::string Render() const;

 private:
  std::vector<std::string> header_;
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

// Display width of UTF-8 text (code points; good enough for Vietnamese).
size_t DisplayWidth(const std::string& s);
// At most `width` code points, ending in "..." when cut; never splits a UTF-8 sequence.
std::string Truncate(const std::string& s, size_t width);

}  // namespace minhbach::cli
