// C2SP signed notes and checkpoints with real OpenSSL Ed25519.
#include <gtest/gtest.h>

#include "minhbach/note.h"

namespace mb = minhbach;

TEST(Note, KnownVerifierKeyFromC2SPExample) {
  // The C2SP signed-note example note, signed by a key of Go's golang.org/x/mod/sumdb/note tests.
  auto v = mb::Verifier::Parse("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->key_id(), 0xc74f20a3u);
  std::string text = "If you think cryptography is the answer to your problem,\n"
                     "then you don't know what your problem is.\n";
  std::string note = text + "\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
  auto parsed = mb::ParseNote(note);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_TRUE(mb::VerifyNote(*parsed, *v).ok());
  // One changed character in the text breaks the signature.
  std::string bad = note;
  bad[3] = 'X';
  auto pb = mb::ParseNote(bad);
  ASSERT_TRUE(pb.ok());
  EXPECT_TRUE(mb::VerifyNote(*pb, *v).IsCorruption());
}

TEST(Note, SignVerifyRoundTripAndKeyFormats) {
  auto key = mb::SigningKey::Generate("example.org/log");
  ASSERT_TRUE(key.ok());
  auto again = mb::SigningKey::Parse(key->ToString());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->verifier().ToString(), key->verifier().ToString());
  auto v = mb::Verifier::Parse(key->verifier().ToString());
  ASSERT_TRUE(v.ok());

  mb::Checkpoint cp{"example.org/log", 12345, mb::Sha256::Empty(), {}};
  mb::SignedNote note{cp.Body(), {}};
  ASSERT_TRUE(mb::SignNote(note, *key).ok());
  std::string text = note.Format();
  EXPECT_EQ(text.substr(0, 16), "example.org/log\n");
  auto parsed = mb::ParseNote(text);
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(mb::VerifyNote(*parsed, *v).ok());
  auto cp2 = mb::Checkpoint::Parse(parsed->text);
  ASSERT_TRUE(cp2.ok());
  EXPECT_EQ(cp2->size, 12345u);
  EXPECT_EQ(cp2->root, cp.root);

  // Another key with the same name is an unknown key: its signature alone is not enough.
  auto other = mb::SigningKey::Generate("example.org/log");
  ASSERT_TRUE(other.ok());
  mb::SignedNote forged{cp.Body(), {}};
  ASSERT_TRUE(mb::SignNote(forged, *other).ok());
  EXPECT_FALSE(mb::VerifyNote(*mb::ParseNote(forged.Format()), *v).ok());
  // A signature with the right name and key ID but wrong bytes fails.
  mb::SignedNote tampered = *parsed;
  tampered.signatures[0].signature[5] ^= 1;
  EXPECT_TRUE(mb::VerifyNote(tampered, *v).IsCorruption());
}

TEST(Note, RejectsMalformedNotes) {
  EXPECT_FALSE(mb::ParseNote("").ok());
  EXPECT_FALSE(mb::ParseNote("text\n").ok());                      // no blank line
  EXPECT_FALSE(mb::ParseNote("text\n\n").ok());                    // no signatures
  EXPECT_FALSE(mb::ParseNote("text\n\n- name AAAAAAA=\n").ok());   // hyphen, not em dash
  EXPECT_FALSE(mb::ParseNote("te\x01xt\n\n— n AAAAAAA=\n").ok());  // control character
  EXPECT_FALSE(mb::ParseNote("text\n\n— n+x AAAAAAA=\n").ok());    // '+' in key name
  EXPECT_FALSE(mb::ParseNote("text\n\n— n AAAA\n").ok());          // signature < 5 bytes
  EXPECT_FALSE(mb::ParseNote("text\xff\n\n— n AAAAAAA=\n").ok());  // invalid UTF-8
  EXPECT_FALSE(mb::ParseNote(std::string(mb::kNoteBytesMax + 1, 'a')).ok());
  EXPECT_FALSE(mb::Verifier::Parse("name+00000000+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW").ok());  // wrong ID
}

TEST(Checkpoint, RejectsMalformedBodies) {
  std::string root = mb::Base64Encode(mb::Sha256::Empty());
  EXPECT_TRUE(mb::Checkpoint::Parse("o\n1\n" + root + "\n").ok());
  EXPECT_TRUE(mb::Checkpoint::Parse("o\n1\n" + root + "\next\n").ok());
  EXPECT_FALSE(mb::Checkpoint::Parse("o\n01\n" + root + "\n").ok());
  EXPECT_FALSE(mb::Checkpoint::Parse("o\n-1\n" + root + "\n").ok());
  EXPECT_FALSE(mb::Checkpoint::Parse("o\n18446744073709551616\n" + root + "\n").ok());
  EXPECT_FALSE(mb::Checkpoint::Parse("o\n1\nAAAA\n").ok());
  EXPECT_FALSE(mb::Checkpoint::Parse("\n1\n" + root + "\n").ok());
  EXPECT_FALSE(mb::Checkpoint::Parse("o\n1\n" + root).ok());
  EXPECT_FALSE(mb::Checkpoint::Parse("o\n1\n" + root + "\n\n").ok());
}
