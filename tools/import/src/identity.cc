// FindSender: who sent a credit, read from a statement line by a few fixed patterns; and new donor pseudonyms.
// See docs/import.md "Senders". The result is only used to find or make a pseudonym; it never enters the log.
#include <openssl/rand.h>

#include <algorithm>
#include <array>

#include "minhbach/import.h"
#include "minhbach/text.h"

namespace minhbach::import {
namespace {

constexpr size_t kAccountDigitsMin = 9, kAccountDigitsMax = 19;  // an account number in the details
constexpr size_t kOffsetDigitsMin = 6;                           // in the OffsetAccount column
constexpr size_t kNameWordsMin = 2, kNameWordsMax = 5, kNameWordBytesMax = 24;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAsciiLetter(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// 10 digits 0[35789]... or 11 digits 84[35789]...: a Vietnamese mobile number, not an account.
bool LooksLikePhone(std::string_view d) {
  auto mobile = [](char c) { return c == '3' || c == '5' || c == '7' || c == '8' || c == '9'; };
  return (d.size() == 10 && d[0] == '0' && mobile(d[1])) || (d.size() == 11 && d.substr(0, 2) == "84" && mobile(d[2]));
}

// The first run of 9..19 digits standing alone (not glued to a letter, a digit, '.' or '_' before it, nor to a
// letter, digit or '_' after it), that is neither a mobile number nor a round amount (ending in 00000).
std::string AccountInDetails(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (!IsDigit(s[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < s.size() && IsDigit(s[j])) ++j;
    const std::string_view run = s.substr(i, j - i);
    const char before = i > 0 ? s[i - 1] : ' ', after = j < s.size() ? s[j] : ' ';
    const bool alone = !IsAsciiLetter(before) && before != '.' && before != '_' && !IsAsciiLetter(after) && after != '_';
    const bool round = run.size() >= 5 && run.substr(run.size() - 5) == "00000";
    if (alone && run.size() >= kAccountDigitsMin && run.size() <= kAccountDigitsMax && !LooksLikePhone(run) && !round) {
      return std::string(run);
    }
    i = j;
  }
  return {};
}

// The OffsetAccount cell as an account: digits, possibly grouped by spaces, dots or hyphens; else "".
std::string AccountInColumn(std::string_view cell) {
  std::string digits;
  for (char c : cell) {
    if (IsDigit(c)) {
      digits += c;
    } else if (c != ' ' && c != '.' && c != '-') {
      return {};
    }
  }
  return digits.size() >= kOffsetDigitsMin && digits.size() <= kAccountDigitsMax ? digits : std::string();
}

// Upper case of the first letter of a word: ASCII A-Z, and the upper-case Vietnamese letters of Latin-1,
// Latin Extended-A/B (Ă Đ Ĩ Ũ Ơ Ư) and Latin Extended Additional (even code points of U+1EA0..U+1EF9).
bool StartsUpper(std::string_view w) {
  const auto b = [&](size_t i) { return static_cast<unsigned char>(w[i]); };
  if (w.empty()) return false;
  if (b(0) < 0x80) return b(0) >= 'A' && b(0) <= 'Z';
  uint32_t cp = 0;
  if ((b(0) & 0xE0) == 0xC0 && w.size() >= 2) {
    cp = ((b(0) & 0x1Fu) << 6) | (b(1) & 0x3Fu);
  } else if ((b(0) & 0xF0) == 0xE0 && w.size() >= 3) {
    cp = ((b(0) & 0x0Fu) << 12) | ((b(1) & 0x3Fu) << 6) | (b(2) & 0x3Fu);
  }
  if (cp >= 0xC0 && cp <= 0xDE) return cp != 0xD7;
  if (cp >= 0x100 && cp <= 0x17F) return cp % 2 == 0;
  if (cp == 0x1A0 || cp == 0x1AF) return true;
  if (cp >= 0x1EA0 && cp <= 0x1EF9) return cp % 2 == 0;
  return false;
}

// Letters only: ASCII letters and any non-ASCII character (Vietnamese letters and combining marks).
bool AllLetters(std::string_view w) {
  return !w.empty() && std::all_of(w.begin(), w.end(), [](char c) { return IsAsciiLetter(c) || (c & 0x80); });
}

// Words that end a name (folded): the bank's and donors' usual words after it.
bool IsStopWord(const std::string& folded) {
  static const std::array<const char*, 19> kStop = {"chuyen", "ung", "ck",  "ct", "toi", "gui",  "nop",
                                                    "ibft",   "mbvcb", "sdt", "dt", "stk", "tk",   "lh",
                                                    "so",     "qua",  "giup", "cuu", "mttq"};
  return std::find(kStop.begin(), kStop.end(), folded) != kStop.end();
}
bool IsStopPair(const std::string& a, const std::string& b) {
  return (a == "ho" && b == "tro") || (a == "dong" && b == "bao") || (a == "bao" && (b == "lu" || b == "yagi")) ||
         (a == "mien" && (b == "bac" || b == "trung")) || (a == "quyen" && b == "gop");
}

// Common Vietnamese family names (folded): a line that starts with a name must start with one of them.
bool IsFamilyName(const std::string& folded) {
  static const std::array<const char*, 56> kFamily = {
      "nguyen", "tran", "le",   "pham",  "hoang", "huynh", "phan", "vu",    "vo",    "dang",  "bui",  "do",
      "ho",     "ngo",  "duong", "ly",   "cao",   "dinh",  "luong", "trinh", "mai",  "to",    "ha",   "doan",
      "lam",    "truong", "ta", "chu",   "dao",   "thai",  "kieu", "la",    "luu",   "vuong", "quach", "tang",
      "trieu",  "phung", "chau", "nghiem", "tong", "khuc", "lai",  "hua",   "kim",   "giang", "mac",  "thach",
      "quan",   "bach", "nong", "luc",   "dam",   "khong", "ong",  "diep"};
  return std::find(kFamily.begin(), kFamily.end(), folded) != kFamily.end();
}

// Splits on spaces. A word's trailing ',', ';', ':' or '.' is dropped and ends the name after it.
std::vector<std::string_view> Words(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\n')) ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\n') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

// The name at the start of `s`: 2..5 words of letters, each starting upper-case, up to a stop word or pair.
// `family`: the first word must be a common family name.
std::string NameAt(std::string_view s, bool family) {
  const auto words = Words(s);
  std::vector<std::string_view> name;
  for (size_t k = 0; k < words.size() && name.size() <= kNameWordsMax; ++k) {
    std::string_view w = words[k];
    const bool last = !w.empty() && (w.back() == ',' || w.back() == ';' || w.back() == ':' || w.back() == '.');
    if (last) w.remove_suffix(1);
    const std::string f = FoldForSearch(w);
    const std::string next = k + 1 < words.size() ? FoldForSearch(words[k + 1]) : "";
    if (!AllLetters(w) || !StartsUpper(w) || w.size() > kNameWordBytesMax || IsStopWord(f) || IsStopPair(f, next)) break;
    if (name.empty() && family && !IsFamilyName(f)) return {};
    name.push_back(w);
    if (last) break;
  }
  if (name.size() < kNameWordsMin || name.size() > kNameWordsMax) return {};
  std::string out;
  for (auto w : name) out += (out.empty() ? "" : " ") + std::string(w);
  return out;
}

// "MBVCB.<n>.[<code>.]<NAME> chuyen tien ...": the first dot-separated part after "MBVCB." without a digit.
std::string NameAfterMbvcb(std::string_view s) {
  if (Lower(s.substr(0, 6)) != "mbvcb.") return {};
  size_t at = 6;
  while (at < s.size()) {
    size_t dot = s.find('.', at), space = s.find(' ', at);
    std::string_view part = s.substr(at, std::min(dot, space) - at);
    if (std::none_of(part.begin(), part.end(), IsDigit)) return NameAt(s.substr(at), false);
    if (dot == std::string_view::npos || (space != std::string_view::npos && space < dot)) return {};
    at = dot + 1;
  }
  return {};
}

// "... CT tu <account> <NAME> ...": the name after the account number that follows "CT tu" (any case).
std::string NameAfterCtTu(std::string_view s) {
  const std::string low = Lower(s);
  for (size_t p = low.find("ct tu "); p != std::string::npos; p = low.find("ct tu ", p + 1)) {
    if (p > 0 && IsAsciiLetter(s[p - 1])) continue;  // "... direct tu ..." is not the pattern
    size_t i = p + 6;
    if (i >= s.size() || !IsDigit(s[i])) continue;
    while (i < s.size() && IsDigit(s[i])) ++i;
    std::string name = NameAt(s.substr(i), false);
    if (!name.empty()) return name;
  }
  return {};
}

}  // namespace

Sender FindSender(std::string_view offset_account, std::string_view details) {
  Sender s;
  s.account = AccountInColumn(offset_account);
  if (s.account.empty()) s.account = AccountInDetails(details);
  s.name = NameAfterMbvcb(details);
  if (s.name.empty()) s.name = NameAfterCtTu(details);
  if (s.name.empty()) s.name = NameAt(details, /*family=*/true);
  return s;
}

Result<std::string> NewDonorId() {
  std::array<unsigned char, 6> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    return Status::Internal("OpenSSL RAND_bytes failed: no random donor id");
  }
  static const char* kHex = "0123456789ABCDEF";
  std::string id = "D-";
  for (unsigned char b : bytes) {
    id += kHex[b >> 4];
    id += kHex[b & 15];
  }
  return id;
}

}  // namespace minhbach::import
