// C2SP tlog-tiles paths (tlog-tiles.md "Tile paths"), in one place: the server's tile and entry-bundle routes,
// the tests that walk every tile, and anything else that names a tile by path. Every index is checked so that
// no product or sum wraps: a tile index near 2^56 must never come back as a small number.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace minhbach {

struct TilePathRef {
  uint64_t index = 0;
  uint32_t width = 256;  // 1..255 for a partial tile (".p/W"), else 256
};

// "x001/x234/067" for 1234067: 3-digit elements, all but the last prefixed with "x".
std::string TileIndexPath(uint64_t index);
// The index path with ".p/W" when width < 256.
std::string TilePath(uint64_t index, uint32_t width);
// The inverse, strict: the canonical encoding only (no "x000/" first element, at most 7 elements, the value
// below 2^64, a width 1..255 without leading zero); nullopt for anything else.
std::optional<TilePathRef> ParseTilePath(std::string_view path);
// The first node a tile covers at its level, when all `width` of them exist in a tree of `size` leaves (a tile of
// level L holds level-8L nodes; there are size >> 8L of them); nullopt when the tile is beyond the tree, the level
// above 7 or the width outside 1..256.
std::optional<uint64_t> TileFirstNode(uint32_t level, uint64_t index, uint32_t width, uint64_t size);

}  // namespace minhbach
