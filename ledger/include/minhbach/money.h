// Money: integer minor units with checked arithmetic (VND has no minor unit), and the parser for amounts
// typed by people. Never floating point. See docs/events.md "Amounts".
#pragma once

#include <cstdint>
#include <string_view>

#include "minhbach/status.h"

namespace minhbach {

using Amount = int64_t;

// a + b / a - b, or InvalidArgument on 64-bit overflow (never a wrap).
Result<Amount> CheckedAdd(Amount a, Amount b);
Result<Amount> CheckedSub(Amount a, Amount b);
Result<Amount> CheckedMul(Amount a, int64_t b);

// Parses an amount typed by a person: "2000000", "2.000.000", "2,000,000", "2 000 000", optionally followed by
// "đ", "₫", "VND", "vnd", "VNĐ" or "vnđ" (with or without a space). Groups of three digits after the first group of 1-3;
// one separator kind per number. Rejects, with a message: "", "-5", "1e6", "2.000.000,5" (VND has no
// decimals), "7.50.000" (malformed grouping), "0", values above 2^63-1.
Result<Amount> ParseHumanAmount(std::string_view text);

// Months as integers (year * 12 + month - 1) and calendar dates, from "YYYY-MM" / "YYYY-MM-DD".
Result<int32_t> ParseMonth(std::string_view text);
std::string FormatMonth(int32_t month);
Status CheckDate(std::string_view text);  // a real calendar date in YYYY-MM-DD

}  // namespace minhbach
