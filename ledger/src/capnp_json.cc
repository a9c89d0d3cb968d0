#include "capnp_json.h"

#include <capnp/any.h>
#include <capnp/schema.h>

#include <cassert>
#include <limits>
#include <unordered_map>
#include <vector>

#include "entry.capnp.h"
#include "minhbach/hash.h"
#include "minhbach/text.h"

namespace minhbach::internal {
namespace {

using nlohmann::json;
using capnp::DynamicStruct;
using capnp::StructSchema;
using SchemaType = capnp::schema::Type;

constexpr uint64_t kOptionalId = 0xb3b851da8ebabd55ull;
constexpr uint64_t kMultilineId = 0x881e14e9b27ea74bull;
constexpr uint64_t kVaultedId = 0xd6c4f0b8a1e2c3f7ull;

// The JSON input name of a $vaulted field's plaintext ("" when the field is not vaulted).
std::string VaultedName(const StructSchema::Field& f) {
  for (auto a : f.getProto().getAnnotations()) {
    if (a.getId() == kVaultedId) return a.getValue().getText().cStr();
  }
  return {};
}

bool HasAnnotation(const StructSchema::Field& f, uint64_t id) {
  for (auto a : f.getProto().getAnnotations()) {
    if (a.getId() == id) return true;
  }
  return false;
}

bool InUnion(const StructSchema::Field& f) {
  return f.getProto().getDiscriminantValue() != capnp::schema::Field::NO_DISCRIMINANT;
}

// False for a union member other than the one set (a struct's other fields are always active).
bool IsActive(DynamicStruct::Reader in, const StructSchema::Field& f) {
  if (!InUnion(f)) return true;
  KJ_IF_MAYBE(a, in.which()) { return *a == f; }
  return false;
}

std::string Path(const std::string& path, const std::string& name) { return path.empty() ? name : path + "." + name; }

std::string Shown(const json& v) {
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  return s.size() > 40 ? s.substr(0, 37) + "..." : s;
}

struct Err {
  size_t line;
  Status operator()(const std::string& field, const std::string& msg) const {
    return Status::InvalidArgument("line " + std::to_string(line) + ": field '" + field + "': " + msg);
  }
};

Status IntFromJson(const json& v, SchemaType::Which t, const std::string& field, const Err& err,
                   capnp::DynamicValue::Reader* out) {
  int64_t lo = 0;
  uint64_t hi = 0;
  switch (t) {
    case SchemaType::INT8: lo = INT8_MIN; hi = INT8_MAX; break;
    case SchemaType::INT16: lo = INT16_MIN; hi = INT16_MAX; break;
    case SchemaType::INT32: lo = INT32_MIN; hi = INT32_MAX; break;
    case SchemaType::INT64: lo = INT64_MIN; hi = INT64_MAX; break;
    case SchemaType::UINT8: hi = UINT8_MAX; break;
    case SchemaType::UINT16: hi = UINT16_MAX; break;
    case SchemaType::UINT32: hi = UINT32_MAX; break;
    default: hi = UINT64_MAX; break;
  }
  std::string range = "an integer in " + std::to_string(lo) + ".." + std::to_string(hi);
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (u > hi) return err(field, "expected " + range + ", got " + Shown(v));
    *out = (t == SchemaType::UINT64) ? capnp::DynamicValue::Reader(u) : capnp::DynamicValue::Reader(static_cast<int64_t>(u));
    return Status::Ok();
  }
  if (v.is_number_integer()) {
    int64_t i = v.get<int64_t>();
    if (i < lo) return err(field, "expected " + range + ", got " + Shown(v));
    *out = capnp::DynamicValue::Reader(i);
    return Status::Ok();
  }
  const char* what = v.is_number_float() ? "a number with a fraction or exponent" : v.is_string() ? "a string" : "not a number";
  return err(field, "expected " + range + " (a JSON integer), got " + std::string(what) + " " + Shown(v));
}

Status TextFromJson(const json& v, bool multiline, const std::string& field, const Err& err, std::string* out) {
  if (!v.is_string()) return err(field, "expected a string, got " + Shown(v));
  const std::string& s = v.get_ref<const std::string&>();
  size_t max = multiline ? kMultilineBytesMax : kTextBytesMax;
  if (s.empty()) return err(field, "must not be empty (leave an optional field out instead)");
  if (s.size() > max) {
    return err(field, std::to_string(s.size()) + " bytes, at most " + std::to_string(max) + " allowed");
  }
  if (!IsCleanUtf8(s, multiline)) {
    return err(field, multiline ? "must be UTF-8 text without control characters"
                                : "must be one line of UTF-8 text without control characters");
  }
  *out = s;
  return Status::Ok();
}

std::string EnumNames(capnp::EnumSchema e) {
  std::string out;
  for (auto en : e.getEnumerants()) out += (out.empty() ? "" : ", ") + SnakeCase(en.getProto().getName().cStr());
  return out;
}

Status ValueFromJson(const json& v, capnp::Type type, bool multiline, const std::string& field, const Err& err,
                     const std::function<void(capnp::DynamicValue::Reader)>& set,
                     const std::function<DynamicStruct::Builder()>& init_struct, SealContext* seal) {
  switch (type.which()) {
    case SchemaType::BOOL:
      if (!v.is_boolean()) return err(field, "expected true or false, got " + Shown(v));
      set(v.get<bool>());
      return Status::Ok();
    case SchemaType::INT8: case SchemaType::INT16: case SchemaType::INT32: case SchemaType::INT64:
    case SchemaType::UINT8: case SchemaType::UINT16: case SchemaType::UINT32: case SchemaType::UINT64: {
      capnp::DynamicValue::Reader r;
      MB_RETURN_IF_ERROR(IntFromJson(v, type.which(), field, err, &r));
      set(r);
      return Status::Ok();
    }
    case SchemaType::TEXT: {
      std::string s;
      MB_RETURN_IF_ERROR(TextFromJson(v, multiline, field, err, &s));
      set(capnp::Text::Reader(s.c_str(), s.size()));
      return Status::Ok();
    }
    case SchemaType::DATA: {
      if (!v.is_string() || v.get_ref<const std::string&>().size() != 2 * kHashSize) {
        return err(field, "expected a SHA-256 digest as 64 hex digits, got " + Shown(v));
      }
      auto raw = HexDecode(v.get_ref<const std::string&>());
      if (!raw.ok()) return err(field, raw.status().message());
      set(capnp::Data::Reader(reinterpret_cast<const kj::byte*>(raw->data()), raw->size()));
      return Status::Ok();
    }
    case SchemaType::ENUM: {
      capnp::EnumSchema e = type.asEnum();
      if (v.is_string()) {
        for (auto en : e.getEnumerants()) {
          if (SnakeCase(en.getProto().getName().cStr()) == v.get_ref<const std::string&>()) {
            set(capnp::DynamicEnum(en));
            return Status::Ok();
          }
        }
      }
      return err(field, "expected one of " + EnumNames(e) + ", got " + Shown(v));
    }
    case SchemaType::STRUCT:
      if (!v.is_object()) return err(field, "expected an object, got " + Shown(v));
      return StructFromJson(v, init_struct(), field, err.line, seal);
    default:
      return err(field, "field type not supported in JSON input");
  }
}

}  // namespace

namespace {

// "data.in_kind.valuation_basis" -> "in_kind.valuation_basis" (the part of a sealed field's name after the type).
std::string WithoutData(const std::string& path) { return path.size() > 5 ? path.substr(5) : std::string(); }

bool Listed(const std::vector<std::string>& names, const std::string& name) {
  for (const auto& n : names) {
    if (n == name) return true;
  }
  return false;
}

// A plaintext for a $vaulted field: checked as text, then a random marker goes into the payload.
Status SealFromJson(const json& v, const StructSchema::Field& f, DynamicStruct::Builder out, const std::string& field,
                    const Err& err, SealContext* seal) {
  if (seal == nullptr || seal->sealed == nullptr) return err(field, "personal data is not accepted here");
  std::string value;
  MB_RETURN_IF_ERROR(TextFromJson(v, HasAnnotation(f, kMultilineId), field, err, &value));
  const Hash marker = AddSealed(seal->sealed, seal->event_type + "." + WithoutData(field), std::move(value));
  out.set(f, capnp::Data::Reader(marker.data(), marker.size()));
  return Status::Ok();
}

}  // namespace

Status StructFromJson(const json& in, DynamicStruct::Builder out, const std::string& path, size_t line,
                      SealContext* seal) {
  Err err{line};
  StructSchema schema = out.getSchema();
  if (!in.is_object()) return err(path, "expected an object, got " + Shown(in));
  std::vector<std::pair<std::string, StructSchema::Field>> fields;
  std::vector<std::string> vaulted;  // plaintext names of this struct's $vaulted fields
  for (auto f : schema.getFields()) {
    fields.emplace_back(SnakeCase(f.getProto().getName().cStr()), f);
    if (std::string v = VaultedName(f); !v.empty()) vaulted.push_back(v);
  }
  // Unknown keys first, so a typo is reported as such rather than as a missing field.
  for (auto it = in.begin(); it != in.end(); ++it) {
    bool known = Listed(vaulted, it.key());
    for (auto& [name, f] : fields) known = known || name == it.key();
    if (!known) {
      std::string list;
      for (auto& [name, f] : fields) list += (list.empty() ? "" : ", ") + name;
      for (auto& v : vaulted) {
        bool listed = false;
        for (auto& [name, f] : fields) listed = listed || name == v;
        if (!listed) list += ", " + v;
      }
      return err(Path(path, it.key()), "unknown field (allowed here: " + list + ")");
    }
  }
  auto is_public = [&](const std::string& name) {
    const std::string full = WithoutData(Path(path, name));
    if (seal == nullptr || !Listed(seal->public_names, full)) return false;
    seal->public_used.push_back(full);
    return true;
  };
  std::string union_chosen;
  std::string union_names;
  for (auto& named : fields) {  // (no structured binding: lambdas below capture f)
    const auto& name = named.first;
    auto& f = named.second;
    const std::string field = Path(path, name);
    if (std::string plain = VaultedName(f); !plain.empty()) {
      auto pt = in.find(plain);
      if (pt == in.end()) {
        // no plaintext: the commitment itself may be given (a replayed entry), handled below as Data
      } else {
        bool has_text_twin = false;
        for (auto& [n2, f2] : fields) has_text_twin = has_text_twin || (n2 == plain && f2.getType().isText());
        if (in.find(name) != in.end()) return err(field, "give '" + plain + "' or '" + name + "', not both");
        if (has_text_twin && is_public(plain)) continue;  // the Text field takes it
        if (!has_text_twin && seal && Listed(seal->public_names, WithoutData(Path(path, plain)))) {
          return err(Path(path, plain), "is personal data and cannot be public: it is always kept in the vault");
        }
        MB_RETURN_IF_ERROR(SealFromJson(*pt, f, out, Path(path, plain), err, seal));
        continue;
      }
    }
    if (f.getType().isText() && Listed(vaulted, name) && in.find(name) != in.end() &&
        !(seal && Listed(seal->public_names, WithoutData(field)))) {
      continue;  // a free text not marked public: its $vaulted twin seals it
    }
    auto it = in.find(name);
    if (InUnion(f)) {
      union_names += (union_names.empty() ? "" : ", ") + name;
      if (it == in.end()) continue;
      if (!union_chosen.empty()) return err(field, "only one of the alternatives may be given; also got '" + union_chosen + "'");
      union_chosen = name;
    } else if (it == in.end()) {
      if (HasAnnotation(f, kOptionalId)) continue;
      return Status::InvalidArgument("line " + std::to_string(line) + ": missing field '" + field + "'");
    }
    capnp::Type type = f.getType();
    bool multiline = HasAnnotation(f, kMultilineId);
    if (type.isList()) {
      if (!it->is_array()) return err(field, "expected an array, got " + Shown(*it));
      const size_t max = type.asList().getElementType().isData() ? kDataListElementsMax : kListElementsMax;
      if (it->size() > max) return err(field, "more than " + std::to_string(max) + " elements");
      auto list = out.init(f, static_cast<unsigned>(it->size())).as<capnp::DynamicList>();
      capnp::Type elem = type.asList().getElementType();
      for (size_t i = 0; i < it->size(); ++i) {
        MB_RETURN_IF_ERROR(ValueFromJson(
            (*it)[i], elem, multiline, field + "[" + std::to_string(i) + "]", err,
            [&](capnp::DynamicValue::Reader r) { list.set(static_cast<unsigned>(i), r); },
            [&]() { return list[static_cast<unsigned>(i)].as<DynamicStruct>(); }, seal));
      }
      continue;
    }
    MB_RETURN_IF_ERROR(ValueFromJson(
        *it, type, multiline, field, err, [&](capnp::DynamicValue::Reader r) { out.set(f, r); },
        [&]() { return out.init(f).as<DynamicStruct>(); }, seal));
  }
  if (!union_names.empty() && union_chosen.empty()) {
    return Status::InvalidArgument("line " + std::to_string(line) + ": " + (path.empty() ? "" : "'" + path + "' ") +
                                   "needs one of: " + union_names);
  }
  return Status::Ok();
}

namespace {

json ValueToJson(capnp::DynamicValue::Reader v, capnp::Type type) {
  switch (type.which()) {
    case SchemaType::VOID: return nullptr;
    case SchemaType::BOOL: return v.as<bool>();
    case SchemaType::INT8: case SchemaType::INT16: case SchemaType::INT32: case SchemaType::INT64:
      return v.as<int64_t>();
    case SchemaType::UINT8: case SchemaType::UINT16: case SchemaType::UINT32: case SchemaType::UINT64:
      return v.as<uint64_t>();
    case SchemaType::TEXT: {
      auto t = v.as<capnp::Text>();
      return std::string(t.cStr(), t.size());
    }
    case SchemaType::DATA: {
      auto d = v.as<capnp::Data>();
      return HexEncode(std::string_view(reinterpret_cast<const char*>(d.begin()), d.size()));
    }
    case SchemaType::ENUM: {
      auto e = v.as<capnp::DynamicEnum>();
      KJ_IF_MAYBE(en, e.getEnumerant()) { return SnakeCase(en->getProto().getName().cStr()); }
      return e.getRaw();
    }
    case SchemaType::STRUCT: return StructToJson(v.as<DynamicStruct>());
    case SchemaType::LIST: {
      json a = json::array();
      auto list = v.as<capnp::DynamicList>();
      for (auto e : list) a.push_back(ValueToJson(e, type.asList().getElementType()));
      return a;
    }
    default: return nullptr;
  }
}

}  // namespace

std::vector<std::string> PublicFreeTexts(DynamicStruct::Reader in, const std::string& prefix) {
  std::vector<std::string> out;
  std::vector<std::string> vaulted;
  for (auto f : in.getSchema().getFields()) {
    if (std::string v = VaultedName(f); !v.empty()) vaulted.push_back(v);
  }
  for (auto f : in.getSchema().getFields()) {
    if (!IsActive(in, f)) continue;
    const std::string name = SnakeCase(f.getProto().getName().cStr());
    if (f.getType().isStruct() && !f.getProto().isGroup() && in.has(f)) {
      for (auto& p : PublicFreeTexts(in.get(f).as<DynamicStruct>(), prefix + name + ".")) out.push_back(p);
    } else if (f.getType().isText() && in.has(f) && Listed(vaulted, name)) {
      out.push_back(prefix + name);
    }
  }
  return out;
}

void CollectCommitments(DynamicStruct::Reader in, const std::string& prefix, std::vector<CommitmentRef>* out) {
  for (auto f : in.getSchema().getFields()) {
    if (!IsActive(in, f) || !in.has(f)) continue;
    capnp::Type t = f.getType();
    if (t.isStruct() && !f.getProto().isGroup()) {
      CollectCommitments(in.get(f).as<DynamicStruct>(), prefix + SnakeCase(f.getProto().getName().cStr()) + ".", out);
      continue;
    }
    const std::string vaulted = t.isData() ? VaultedName(f) : std::string();
    auto d = vaulted.empty() ? capnp::Data::Reader() : in.get(f).as<capnp::Data>();
    if (d.size() != kHashSize) continue;
    CommitmentRef ref;
    ref.field = prefix + vaulted;
    std::memcpy(ref.commitment.data(), d.begin(), kHashSize);
    out->push_back(std::move(ref));
  }
}

json StructToJson(DynamicStruct::Reader in) {
  json out = json::object();
  for (auto f : in.getSchema().getFields()) {
    if (!IsActive(in, f)) {
      continue;
    } else if (!InUnion(f) && (f.getType().isText() || f.getType().isData() || f.getType().isList() || f.getType().isStruct())) {
      if (!in.has(f)) continue;
    }
    out[SnakeCase(f.getProto().getName().cStr())] = ValueToJson(in.get(f), f.getType());
  }
  return out;
}

namespace {

// Bit widths of slot types, for locating unused data bits.
uint32_t SlotBits(capnp::Type t) {
  switch (t.which()) {
    case SchemaType::VOID: return 0;
    case SchemaType::BOOL: return 1;
    case SchemaType::INT8: case SchemaType::UINT8: return 8;
    case SchemaType::INT16: case SchemaType::UINT16: case SchemaType::ENUM: return 16;
    case SchemaType::INT32: case SchemaType::UINT32: case SchemaType::FLOAT32: return 32;
    case SchemaType::INT64: case SchemaType::UINT64: case SchemaType::FLOAT64: return 64;
    default: return 0;  // pointers
  }
}

void MarkUsed(StructSchema schema, std::vector<bool>& used) {
  auto proto = schema.getProto().getStruct();
  if (proto.getDiscriminantCount() > 0) {
    uint32_t off = proto.getDiscriminantOffset() * 16;
    for (uint32_t b = off; b < off + 16 && b < used.size(); ++b) used[b] = true;
  }
  for (auto f : schema.getFields()) {
    if (f.getProto().isGroup()) {
      MarkUsed(f.getType().asStruct(), used);
      continue;
    }
    uint32_t bits = SlotBits(f.getType());
    uint32_t off = f.getProto().getSlot().getOffset() * bits;
    for (uint32_t b = off; b < off + bits && b < used.size(); ++b) used[b] = true;
  }
}

// What the stored-data check needs of each struct type, derived once from the compiled-in schema (constant
// data, like a generated table): the mask of data bits some field uses, and where each field lives. The
// check then reads the wire layout directly (AnyStruct), which is ~20x faster than the dynamic API.
enum class Kind : uint8_t { kScalar, kEnum, kText, kData, kStruct, kEnumList, kTextList, kDataList, kGroup };

struct StructInfo;
struct FieldInfo {
  std::string name;       // snake_case
  Kind kind;
  uint32_t offset;        // data: slot offset in units of the field's size; pointer: pointer index
  uint16_t enumerants;    // for enums and enum lists
  uint16_t disc;          // discriminant value, when in_union
  bool in_union, optional, multiline;
  const StructInfo* nested = nullptr;  // kStruct / kGroup
  uint64_t nested_id = 0;
};
struct StructInfo {
  std::vector<uint8_t> used;  // per data byte: the bits some field (or the union tag) uses
  uint32_t data_bytes = 0, pointers = 0;
  bool group = false;
  uint32_t union_members = 0;  // 0: no union
  uint32_t disc_offset = 0;    // in 16-bit units
  std::vector<FieldInfo> fields;
};

void Collect(StructSchema schema, std::unordered_map<uint64_t, StructInfo>& out) {
  if (out.count(schema.getProto().getId())) return;
  StructInfo& info = out[schema.getProto().getId()];
  auto proto = schema.getProto().getStruct();
  info.data_bytes = proto.getDataWordCount() * 8u;
  info.pointers = proto.getPointerCount();
  info.group = proto.getIsGroup();
  info.union_members = proto.getDiscriminantCount();
  info.disc_offset = proto.getDiscriminantOffset();
  std::vector<bool> bits(info.data_bytes * 8, false);
  MarkUsed(schema, bits);
  info.used.assign(info.data_bytes, 0);
  for (size_t b = 0; b < bits.size(); ++b) {
    if (bits[b]) info.used[b / 8] |= static_cast<uint8_t>(1u << (b % 8));
  }
  std::vector<StructSchema> nested;
  for (auto f : schema.getFields()) {
    FieldInfo fi{SnakeCase(f.getProto().getName().cStr()), Kind::kScalar, 0, 0, f.getProto().getDiscriminantValue(),
                 InUnion(f), HasAnnotation(f, kOptionalId), HasAnnotation(f, kMultilineId)};
    capnp::Type t = f.getType();
    if (f.getProto().isGroup()) {
      fi.kind = Kind::kGroup;
      fi.nested_id = t.asStruct().getProto().getId();
      nested.push_back(t.asStruct());
    } else {
      fi.offset = f.getProto().getSlot().getOffset();
      if (t.isEnum()) {
        fi.kind = Kind::kEnum;
        fi.enumerants = static_cast<uint16_t>(t.asEnum().getEnumerants().size());
      } else if (t.isText()) {
        fi.kind = Kind::kText;
      } else if (t.isData()) {
        fi.kind = Kind::kData;
      } else if (t.isStruct()) {
        fi.kind = Kind::kStruct;
        fi.nested_id = t.asStruct().getProto().getId();
        nested.push_back(t.asStruct());
      } else if (t.isList()) {
        capnp::Type e = t.asList().getElementType();
        assert((e.isEnum() || e.isText() || e.isData()) && "lists in the schema hold enums, text or digests");
        fi.kind = e.isEnum() ? Kind::kEnumList : e.isText() ? Kind::kTextList : Kind::kDataList;
        if (e.isEnum()) fi.enumerants = static_cast<uint16_t>(e.asEnum().getEnumerants().size());
      }
    }
    info.fields.push_back(std::move(fi));
  }
  for (StructSchema n : nested) Collect(n, out);  // `info` may move: not used after this point
}

const std::unordered_map<uint64_t, StructInfo>& Table() {
  static const std::unordered_map<uint64_t, StructInfo> table = [] {
    std::unordered_map<uint64_t, StructInfo> t;
    Collect(capnp::Schema::from<schema::Entry>(), t);
    for (auto& [id, info] : t) {
      for (FieldInfo& f : info.fields) {
        if (f.nested_id) f.nested = &t.at(f.nested_id);
      }
    }
    return t;
  }();
  return table;
}

Status CheckText(capnp::Text::Reader t, bool multiline, const std::string& field) {
  size_t max = multiline ? kMultilineBytesMax : kTextBytesMax;
  if (t.size() == 0) return Status::Corruption("field " + field + ": present but empty");
  if (t.size() > max || !IsCleanUtf8(std::string_view(t.cStr(), t.size()), multiline)) {
    return Status::Corruption("field " + field + ": not clean UTF-8 text of at most " + std::to_string(max) + " bytes");
  }
  return Status::Ok();
}

uint16_t ReadU16(kj::ArrayPtr<const kj::byte> data, uint32_t index) {
  if ((index + 1) * 2 > data.size()) return 0;  // truncated by canonical form: zero
  return static_cast<uint16_t>(data[index * 2] | (data[index * 2 + 1] << 8));
}

Status CheckAny(capnp::AnyStruct::Reader s, const StructInfo& info, const std::string& path) {
  auto data = s.getDataSection();
  auto ptrs = s.getPointerSection();
  if (!info.group) {
    if (data.size() > info.data_bytes || ptrs.size() > info.pointers) {
      return Status::Corruption(path + ": struct has fields this schema does not know");
    }
    for (size_t i = 0; i < data.size(); ++i) {
      if (data[i] & ~info.used[i]) return Status::Corruption(path + ": non-zero unused bits");
    }
  }
  uint16_t disc = info.union_members ? ReadU16(data, info.disc_offset) : 0;
  if (info.union_members && disc >= info.union_members) return Status::Corruption(path + ": unknown union member");
  for (const FieldInfo& f : info.fields) {
    if (f.in_union && f.disc != disc) continue;
    switch (f.kind) {
      case Kind::kScalar: continue;
      case Kind::kGroup:
        MB_RETURN_IF_ERROR(CheckAny(s, *f.nested, Path(path, f.name)));
        continue;
      case Kind::kEnum:
        if (ReadU16(data, f.offset) >= f.enumerants) return Status::Corruption("field " + Path(path, f.name) + ": unknown enumerant");
        continue;
      default: break;
    }
    if (f.offset >= ptrs.size() || ptrs[f.offset].isNull()) {
      if (f.optional || (f.in_union && f.kind != Kind::kStruct)) continue;
      return Status::Corruption("field " + Path(path, f.name) + ": missing");
    }
    capnp::AnyPointer::Reader p = ptrs[f.offset];
    switch (f.kind) {
      case Kind::kText:
        MB_RETURN_IF_ERROR(CheckText(p.getAs<capnp::Text>(), f.multiline, Path(path, f.name)));
        break;
      case Kind::kData:
        if (p.getAs<capnp::Data>().size() != kHashSize) return Status::Corruption("field " + Path(path, f.name) + ": not 32 bytes");
        break;
      case Kind::kStruct:
        MB_RETURN_IF_ERROR(CheckAny(p.getAs<capnp::AnyStruct>(), *f.nested, Path(path, f.name)));
        break;
      case Kind::kEnumList: {
        auto list = p.getAs<capnp::List<uint16_t>>();
        if (list.size() > kListElementsMax) return Status::Corruption("field " + Path(path, f.name) + ": too many elements");
        for (uint16_t v : list) {
          if (v >= f.enumerants) return Status::Corruption("field " + Path(path, f.name) + ": unknown enumerant");
        }
        break;
      }
      case Kind::kDataList: {
        auto list = p.getAs<capnp::List<capnp::Data>>();
        if (list.size() > kDataListElementsMax) return Status::Corruption("field " + Path(path, f.name) + ": too many elements");
        for (auto d : list) {
          if (d.size() != kHashSize) return Status::Corruption("field " + Path(path, f.name) + ": an element is not 32 bytes");
        }
        break;
      }
      case Kind::kTextList: {
        auto list = p.getAs<capnp::List<capnp::Text>>();
        if (list.size() > kListElementsMax) return Status::Corruption("field " + Path(path, f.name) + ": too many elements");
        for (auto t : list) MB_RETURN_IF_ERROR(CheckText(t, f.multiline, Path(path, f.name)));
        break;
      }
      default: break;
    }
  }
  return Status::Ok();
}

}  // namespace

Status CheckStructRules(DynamicStruct::Reader in, const std::string& path) {
  const auto& table = Table();
  auto it = table.find(in.getSchema().getProto().getId());
  if (it == table.end()) return Status::Internal(path + ": struct not reachable from Entry");
  return CheckAny(in.as<capnp::AnyStruct>(), it->second, path);
}

}  // namespace minhbach::internal
