#include "minhbach/tile_path.h"

#include <vector>

namespace minhbach {

namespace {

bool AllDigits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

uint64_t Digits(std::string_view s) {
  uint64_t v = 0;
  for (char c : s) v = v * 10 + static_cast<uint64_t>(c - '0');
  return v;
}

}  // namespace

std::string TileIndexPath(uint64_t index) {
  std::vector<uint64_t> parts;
  do {
    parts.push_back(index % 1000);
    index /= 1000;
  } while (index > 0);
  std::string out;
  for (size_t i = parts.size(); i-- > 0;) {
    const std::string three = std::to_string(1000 + parts[i]).substr(1);
    out += i > 0 ? "x" + three + "/" : three;
  }
  return out;
}

std::string TilePath(uint64_t index, uint32_t width) {
  return TileIndexPath(index) + (width < 256 ? ".p/" + std::to_string(width) : "");
}

std::optional<TilePathRef> ParseTilePath(std::string_view path) {
  TilePathRef ref;
  if (const size_t p = path.find(".p/"); p != std::string_view::npos) {
    const std::string_view w = path.substr(p + 3);
    if (!AllDigits(w) || w.size() > 3 || w[0] == '0') return std::nullopt;
    ref.width = static_cast<uint32_t>(Digits(w));
    if (ref.width > 255) return std::nullopt;
    path = path.substr(0, p);
  }
  int elements = 0;
  while (true) {
    const size_t slash = path.find('/');
    const bool last = slash == std::string_view::npos;
    std::string_view el = path.substr(0, slash);
    if (!last) {
      if (el.size() != 4 || el[0] != 'x') return std::nullopt;
      el.remove_prefix(1);
    }
    if (el.size() != 3 || !AllDigits(el) || ++elements > 7) return std::nullopt;
    const uint64_t v = Digits(el);
    if (elements == 1 && !last && v == 0) return std::nullopt;  // "x000/..." is not the canonical encoding
    if (ref.index > (UINT64_MAX - v) / 1000) return std::nullopt;
    ref.index = ref.index * 1000 + v;
    if (last) return ref;
    path.remove_prefix(slash + 1);
  }
}

std::optional<uint64_t> TileFirstNode(uint32_t level, uint64_t index, uint32_t width, uint64_t size) {
  if (level >= 8 || width < 1 || width > 256) return std::nullopt;  // level 8 would need 2^64 leaves
  const uint64_t nodes = size >> (8 * level);
  if (index > (nodes >> 8)) return std::nullopt;  // so index * 256 <= nodes: no wrap
  const uint64_t first = index << 8;
  if (width > nodes - first) return std::nullopt;
  return first;
}

}  // namespace minhbach
