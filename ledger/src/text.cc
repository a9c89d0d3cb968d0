#include "minhbach/text.h"

#include <cstdint>
#include <cstddef>
#include <cctype>
#include <utility>
#include <vector>

namespace minhbach {

bool IsCleanUtf8(std::string_view s, bool allow_newline) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if ((c < 0x20 && !(allow_newline && c == '\n')) || c == 0x7f) return false;
      ++i;
      continue;
    }
    int n = (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : -1;
    if (n < 0 || i + static_cast<size_t>(n) >= s.size()) return false;
    uint32_t cp = c & (0x3F >> n);
    for (int k = 1; k <= n; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Reject overlong forms, surrogates and values beyond U+10FFFF.
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += static_cast<size_t>(n) + 1;
  }
  return true;
}


std::string SnakeCase(std::string_view camel) {
  std::string out;
  for (char c : camel) {
    if (c >= 'A' && c <= 'Z') {
      out.push_back('_');
      out.push_back(static_cast<char>(c - 'A' + 'a'));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// Folds text for searching: lower case and without Vietnamese diacritics ("NGUYỄN Văn Đức" -> "nguyen van duc"),
// so a search matches however the bank or the donor typed the name. Other characters pass through unchanged.
std::string FoldForSearch(std::string_view s) {
  // Each group: the base letter, then every precomposed Vietnamese letter that folds to it (both cases).
  static const std::vector<std::pair<char, std::u32string>> kGroups = {
      {'a', U"àáảãạăằắẳẵặâầấẩẫậÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬ"}, {'e', U"èéẻẽẹêềếểễệÈÉẺẼẸÊỀẾỂỄỆ"},
      {'i', U"ìíỉĩịÌÍỈĨỊ"}, {'o', U"òóỏõọôồốổỗộơờớởỡợÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢ"},
      {'u', U"ùúủũụưừứửữựÙÚỦŨỤƯỪỨỬỮỰ"}, {'y', U"ỳýỷỹỵỲÝỶỸỴ"}, {'d', U"đĐ"}};
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      out += static_cast<char>(std::tolower(c));
      ++i;
      continue;
    }
    // Decode one UTF-8 sequence (the text was checked as UTF-8 when it entered the log; be lenient anyway).
    size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (i + len > s.size()) len = 1;
    char32_t cp = len == 1 ? c : len == 2 ? c & 0x1F : len == 3 ? c & 0x0F : c & 0x07;
    for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    char base = 0;
    for (const auto& [letter, forms] : kGroups) {
      if (forms.find(cp) != std::u32string::npos) {
        base = letter;
        break;
      }
    }
    if (base) out += base;
    else out.append(s.substr(i, len));
    i += len;
  }
  return out;
}

}  // namespace minhbach
