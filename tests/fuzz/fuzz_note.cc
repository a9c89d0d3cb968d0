// libFuzzer target: signed notes, checkpoints and keys (from bundles, witnesses, the network). Properties: never
// crashes; a parsed note formats back to the same text; a parsed checkpoint body formats back to the same body.
#include <cstdlib>

#include "minhbach/note.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto note = minhbach::ParseNote(in);
  if (note.ok() && note->Format() != in) std::abort();
  auto cp = minhbach::Checkpoint::Parse(note.ok() ? std::string_view(note->text) : in);
  if (cp.ok() && cp->Body() != (note.ok() ? note->text : std::string(in))) std::abort();
  auto v = minhbach::Verifier::Parse(in);
  if (v.ok() && note.ok()) (void)minhbach::VerifyNote(*note, *v);
  if (v.ok() && note.ok()) (void)minhbach::VerifyCosignature(*note, *v);
  (void)minhbach::SigningKey::Parse(in);
  return 0;
}
