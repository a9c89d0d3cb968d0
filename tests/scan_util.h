// Looking for personal data in bytes: many needles (names, account and phone numbers) in one pass over large
// haystacks (store files, bundles, HTTP answers). An Aho-Corasick automaton over the bytes the needles use; a
// needle of digits (an account or phone number, possibly grouped by spaces) only counts when no digit touches it
// on either side, so that a phone number is not "found" inside a longer number such as a timestamp.
// Used by tests/import_test.cc and tests/scan_test.cc.
#pragma once

#include <rocksdb/db.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <queue>
#include <string>
#include <string_view>
#include <vector>

namespace minhbach::testing {

class NeedleScanner {
 public:
  // Returns the needle's index.
  size_t Add(std::string needle) {
    bool digits = !needle.empty();
    for (char c : needle) digits = digits && ((c >= '0' && c <= '9') || c == ' ');
    needles_.push_back({std::move(needle), digits});
    return needles_.size() - 1;
  }

  // Call once, after every Add.
  void Build() {
    for (const auto& n : needles_) {
      for (unsigned char c : n.text) {
        if (cls_[c] == 0) cls_[c] = ++classes_;
      }
    }
    NewNode();
    for (size_t i = 0; i < needles_.size(); ++i) {
      int s = 0;
      for (unsigned char c : needles_[i].text) {
        const size_t at = s * Width() + cls_[c];
        if (go_[at] <= 0) {
          const int node = NewNode();  // go_ grows: index it again afterwards
          go_[at] = node;
        }
        s = go_[at];
      }
      out_[s].push_back(static_cast<uint32_t>(i));
    }
    Links();
  }

  size_t size() const { return needles_.size(); }
  const std::string& needle(size_t i) const { return needles_[i].text; }

  // Adds the matches in `hay` to hits[needle] (hits is resized to size()); returns how many were found.
  uint64_t Scan(std::string_view hay, std::vector<uint64_t>* hits) const {
    hits->resize(needles_.size());
    uint64_t found = 0;
    int s = 0;
    for (size_t i = 0; i < hay.size(); ++i) {
      s = go_[s * Width() + cls_[static_cast<unsigned char>(hay[i])]];
      for (int t = s; t > 0; t = dict_[t]) {
        for (uint32_t n : out_[t]) {
          if (needles_[n].digits && !DigitBounded(hay, i + 1 - needles_[n].text.size(), i + 1)) continue;
          ++(*hits)[n];
          ++found;
        }
      }
    }
    return found;
  }

 private:
  struct Needle {
    std::string text;
    bool digits;
  };
  size_t Width() const { return static_cast<size_t>(classes_) + 1; }
  int NewNode() {
    go_.resize(go_.size() + Width(), 0);
    out_.emplace_back();
    fail_.push_back(0);
    dict_.push_back(0);
    return static_cast<int>(out_.size()) - 1;
  }
  static bool DigitBounded(std::string_view h, size_t begin, size_t end) {
    auto digit = [](char c) { return c >= '0' && c <= '9'; };
    return (begin == 0 || !digit(h[begin - 1])) && (end >= h.size() || !digit(h[end]));
  }
  // Breadth-first: failure links, the full transition table, and links to the nearest node with an output.
  void Links() {
    std::queue<int> q;
    for (int c = 0; c < static_cast<int>(Width()); ++c) {
      if (go_[c] > 0) q.push(go_[c]);
    }
    while (!q.empty()) {
      int s = q.front();
      q.pop();
      const int f = fail_[s];
      dict_[s] = out_[f].empty() ? dict_[f] : f;
      for (int c = 0; c < static_cast<int>(Width()); ++c) {
        int& next = go_[s * Width() + c];
        if (next > 0 && c != 0) {
          fail_[next] = go_[f * Width() + c];
          q.push(next);
        } else {
          next = go_[f * Width() + c];
        }
      }
    }
  }

  std::vector<Needle> needles_;
  std::array<int, 256> cls_{};  // byte -> class; 0 = a byte no needle uses
  int classes_ = 0;
  std::vector<int> go_;         // node * Width() + class -> node
  std::vector<std::vector<uint32_t>> out_;
  std::vector<int> fail_, dict_;
};

// Every regular file under `dir` (recursively), whole.
template <typename Fn>
void ForEachFile(const std::string& dir, Fn&& fn) {
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    fn(e.path().string(), bytes);
  }
}

// Every key and value of every column family of the RocksDB store at `db_path`, raw, each followed by '\n'
// (the files may hold compressed blocks; this is what they decode to). "" when it cannot be opened.
inline std::string StoreContents(const std::string& db_path) {
  std::vector<std::string> names;
  if (!rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), db_path, &names).ok()) return {};
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  if (!rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), db_path, cfs, &handles, &db).ok()) return {};
  std::string out;
  for (auto* h : handles) {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), h));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      out.append(it->key().data(), it->key().size()).push_back('\n');
      out.append(it->value().data(), it->value().size()).push_back('\n');
    }
  }
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  delete db;
  return out;
}

}  // namespace minhbach::testing
