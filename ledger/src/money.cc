#include "minhbach/money.h"

#include <charconv>
#include <chrono>
#include <string>

namespace minhbach {

Result<Amount> CheckedAdd(Amount a, Amount b) {
  Amount r;
  if (__builtin_add_overflow(a, b, &r)) {
    return Status::InvalidArgument("amount overflow: " + std::to_string(a) + " + " + std::to_string(b));
  }
  return r;
}

Result<Amount> CheckedSub(Amount a, Amount b) {
  Amount r;
  if (__builtin_sub_overflow(a, b, &r)) {
    return Status::InvalidArgument("amount overflow: " + std::to_string(a) + " - " + std::to_string(b));
  }
  return r;
}

Result<Amount> CheckedMul(Amount a, int64_t b) {
  Amount r;
  if (__builtin_mul_overflow(a, b, &r)) {
    return Status::InvalidArgument("amount overflow: " + std::to_string(a) + " x " + std::to_string(b));
  }
  return r;
}

Result<Amount> ParseHumanAmount(std::string_view text) {
  const std::string shown = "'" + std::string(text) + "'";
  std::string_view s = text;
  auto trim = [](std::string_view v) {
    while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
    return v;
  };
  s = trim(s);
  for (std::string_view suffix : {"VND", "vnd", "VN\xC4\x90" /* VNĐ */, "vn\xC4\x91" /* vnđ */, "\xC4\x91" /* đ */,
                                  "\xE2\x82\xAB" /* ₫ */}) {
    if (s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix) {
      s = trim(s.substr(0, s.size() - suffix.size()));
      break;
    }
  }
  if (s.empty()) return Status::InvalidArgument("amount " + shown + " is empty");
  if (s.front() == '-' || s.front() == '+') {
    return Status::InvalidArgument("amount " + shown + ": must be a positive whole number without a sign");
  }
  // Which separator groups the thousands: the first non-digit, if any.
  char sep = 0;
  for (char c : s) {
    if (c < '0' || c > '9') {
      sep = c;
      break;
    }
  }
  if (sep != 0 && sep != '.' && sep != ',' && sep != ' ') {
    return Status::InvalidArgument("amount " + shown + ": unexpected character '" + std::string(1, sep) +
                                   "' (write digits, optionally grouped by '.', ',' or spaces)");
  }
  std::string digits;
  size_t group = 0;  // digits in the current group
  bool first = true;
  for (char c : s) {
    if (c >= '0' && c <= '9') {
      digits.push_back(c);
      ++group;
      continue;
    }
    if (c != sep) {
      if ((c == ',' && sep == '.') || (c == '.' && sep == ',')) {
        return Status::InvalidArgument("amount " + shown + ": VND has no decimals (a fraction after '" +
                                       std::string(1, sep) + "'-grouped digits)");
      }
      return Status::InvalidArgument("amount " + shown + ": unexpected character '" + std::string(1, c) + "'");
    }
    if ((first && (group == 0 || group > 3)) || (!first && group != 3)) {
      return Status::InvalidArgument("amount " + shown + ": malformed digit grouping (groups of three after the first)");
    }
    first = false;
    group = 0;
  }
  if (sep != 0 && group != 3) {
    return Status::InvalidArgument("amount " + shown +
                                   ": malformed digit grouping (groups of three after the first), or a decimal "
                                   "fraction (VND has none)");
  }
  if (digits.size() > 1 && digits[0] == '0') return Status::InvalidArgument("amount " + shown + ": leading zero");
  Amount v = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec == std::errc::result_out_of_range) return Status::InvalidArgument("amount " + shown + ": too large");
  if (ec != std::errc() || ptr != digits.data() + digits.size()) {
    return Status::InvalidArgument("amount " + shown + ": not a whole number");
  }
  if (v == 0) return Status::InvalidArgument("amount " + shown + ": must be positive");
  return v;
}

Result<int32_t> ParseMonth(std::string_view t) {
  auto bad = [&] { return Status::InvalidArgument("'" + std::string(t) + "' is not a month YYYY-MM"); };
  if (t.size() != 7 || t[4] != '-') return bad();
  int y = 0, m = 0;
  if (std::from_chars(t.data(), t.data() + 4, y).ptr != t.data() + 4) return bad();
  if (std::from_chars(t.data() + 5, t.data() + 7, m).ptr != t.data() + 7) return bad();
  if (y < 1900 || y > 2999 || m < 1 || m > 12) return bad();
  return y * 12 + (m - 1);
}

std::string FormatMonth(int32_t month) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d", month / 12, month % 12 + 1);
  return buf;
}

Status CheckDate(std::string_view t) {
  auto bad = [&] { return Status::InvalidArgument("'" + std::string(t) + "' is not a date YYYY-MM-DD"); };
  if (t.size() != 10 || t[7] != '-') return bad();
  auto m = ParseMonth(t.substr(0, 7));
  if (!m.ok()) return bad();
  unsigned d = 0;
  if (std::from_chars(t.data() + 8, t.data() + 10, d).ptr != t.data() + 10) return bad();
  using namespace std::chrono;
  year_month_day ymd{year(*m / 12), month(static_cast<unsigned>(*m % 12 + 1)), day(d)};
  if (!ymd.ok()) return bad();
  return Status::Ok();
}

}  // namespace minhbach
