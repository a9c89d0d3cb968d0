// C2SP signed notes with Ed25519 keys (OpenSSL), and C2SP tlog-checkpoint bodies.
// See docs/format/checkpoint.md.
//
//   key ID       = SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4]
//   verifier key = <name>+<key ID as 8 hex digits>+base64(0x01 || public key)
//   private key  = PRIVATE+KEY+<name>+<key ID hex>+base64(0x01 || 32-byte seed)
//   note         = text (ends in "\n") || "\n" || one or more "— <name> base64(key ID || sig)\n"
//
// Parsing untrusted notes is bounded: at most kNoteBytesMax bytes and kNoteSignaturesMax signatures.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "minhbach/hash.h"
#include "minhbach/status.h"

namespace minhbach {

inline constexpr size_t kNoteBytesMax = 64 * 1024;
inline constexpr size_t kNoteSignaturesMax = 64;  // C2SP: verifiers MUST accept at least 16
inline constexpr uint8_t kSigTypeEd25519 = 0x01;        // signed-note Ed25519 signatures
inline constexpr uint8_t kSigTypeCosignatureV1 = 0x04;  // tlog-cosignature/v1 (Ed25519, timestamped)

using KeyId = uint32_t;

// Checks a key name: non-empty, printable, no spaces and no '+'.
Status ValidateKeyName(std::string_view name);
KeyId ComputeKeyId(Sha256& sha, std::string_view name, uint8_t sig_type, std::string_view public_key);

class Verifier {
 public:
  // Parses "<name>+<hex key ID>+<base64(type || key)>" (type 0x01 or 0x04), checking the key ID against the key.
  static Result<Verifier> Parse(std::string_view vkey);
  Verifier(std::string name, std::array<uint8_t, 32> public_key, uint8_t type = kSigTypeEd25519);
  uint8_t type() const { return type_; }
  const std::string& name() const { return name_; }
  KeyId key_id() const { return key_id_; }
  const std::array<uint8_t, 32>& public_key() const { return pub_; }
  std::string ToString() const;
  // True when `signature` (64 bytes) is a valid Ed25519 signature of `message` by this key.
  bool Verify(std::string_view message, std::string_view signature) const;

 private:
  std::string name_;
  std::array<uint8_t, 32> pub_;
  uint8_t type_;
  KeyId key_id_;
};

class SigningKey {
 public:
  // A fresh key from the OpenSSL CSPRNG.
  // `type`: kSigTypeEd25519 for a log's key, kSigTypeCosignatureV1 for a witness's.
  static Result<SigningKey> Generate(std::string name, uint8_t type = kSigTypeEd25519);
  // Parses "PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || seed)>".
  static Result<SigningKey> Parse(std::string_view skey);
  const std::string& name() const { return name_; }
  KeyId key_id() const { return verifier_.key_id(); }
  const Verifier& verifier() const { return verifier_; }
  std::string ToString() const;
  // Ed25519 signature (64 bytes) of `message`.
  Result<std::string> Sign(std::string_view message) const;

 private:
  SigningKey(std::string name, std::array<uint8_t, 32> seed, Verifier v)
      : name_(std::move(name)), seed_(seed), verifier_(std::move(v)) {}
  std::string name_;
  std::array<uint8_t, 32> seed_;
  Verifier verifier_;
};

struct NoteSignature {
  std::string name;
  KeyId key_id = 0;
  std::string signature;  // raw bytes after the key ID
};

struct SignedNote {
  std::string text;  // includes its final newline
  std::vector<NoteSignature> signatures;
  // text || "\n" || signature lines
  std::string Format() const;
};

// Parses a signed note (untrusted input): UTF-8 without control characters except newline, text separated
// from the signatures by the last blank line, every signature line well formed.
Result<SignedNote> ParseNote(std::string_view note);
// Appends a signature by `key` over note.text.
Status SignNote(SignedNote& note, const SigningKey& key);
// OK when at least one signature by `verifier` (same name and key ID) is present and every such
// signature verifies. Signatures by unknown keys are ignored, as C2SP requires.
Status VerifyNote(const SignedNote& note, const Verifier& verifier);

// C2SP tlog-cosignature/v1 (Ed25519): signature = u64 big-endian timestamp || Ed25519 signature over
// "cosignature/v1\ntime <timestamp>\n" || note text. `key` must be a cosignature key (type 0x04).
Result<NoteSignature> Cosign(const std::string& text, const SigningKey& key, uint64_t timestamp);
// The timestamp of the valid cosignature by `cosigner` on `note`; NotFound when it has none, Corruption when
// it does not verify.
Result<uint64_t> VerifyCosignature(const SignedNote& note, const Verifier& cosigner);

// A C2SP tlog-checkpoint body: origin, decimal tree size, base64 root hash, optional extension lines.
struct Checkpoint {
  std::string origin;
  uint64_t size = 0;
  Hash root{};
  std::vector<std::string> extensions;
  std::string Body() const;
  static Result<Checkpoint> Parse(std::string_view body);
};

}  // namespace minhbach
