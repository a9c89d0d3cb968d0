// Validation of text that enters the log or a signed note.
#pragma once

#include <string>
#include <string_view>

namespace minhbach {

// Well-formed UTF-8 (no overlong forms, no surrogates, <= U+10FFFF) with no ASCII control characters
// (below U+0020, and U+007F) other than newline when `allow_newline`.
bool IsCleanUtf8(std::string_view s, bool allow_newline);

// A Cap'n Proto name as JSON writes it: "sponsorshipInstalment" -> "sponsorship_instalment".
std::string SnakeCase(std::string_view camel);

// Folds text for searching and comparing names: lower case and without Vietnamese diacritics
// ("NGUYỄN Văn Đức" -> "nguyen van duc"). Other characters pass through unchanged.
std::string FoldForSearch(std::string_view s);

}  // namespace minhbach
