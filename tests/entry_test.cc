// Entry encoding: canonical Cap'n Proto bytes, checked decoding, and the JSON Lines input format.
#include <gtest/gtest.h>

#include <random>

#include <capnp/message.h>

#include "entry.capnp.h"
#include "minhbach/entry.h"

namespace mb = minhbach;

namespace {

mb::Entry Sample() {
  mb::Entry e;
  e.seq = 41;
  e.prev_hash = mb::Sha256::Empty();
  e.recorded_at_micros = 1'700'000'000'123'456;
  e.tz_offset_minutes = 420;
  e.tz_name = "Asia/Ho_Chi_Minh";
  e.actor = "admin:lan";
  e.idempotency_key = "k-41";
  e.payload = mb::NoteDraft("unused", "Hỗ trợ trẻ mồ côi do Covid-19", 2'000'000, "tháng 6/2022").payload;
  return e;
}

}  // namespace

TEST(Entry, RoundTripIsCanonicalAndStable) {
  mb::Entry e = Sample();
  std::string bytes = *mb::EncodeEntry(e);
  EXPECT_EQ(bytes.size() % 8, 0u);
  auto d = mb::DecodeEntry(bytes);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->seq, 41u);
  EXPECT_EQ(d->prev_hash, e.prev_hash);
  EXPECT_EQ(d->tz_name, e.tz_name);
  EXPECT_EQ(d->payload, e.payload);
  EXPECT_EQ(d->type, "note");
  EXPECT_EQ(*mb::EncodeEntry(*d), bytes);  // decode + encode reproduces the bytes exactly
  mb::EntryHead head;
  ASSERT_TRUE(mb::CheckEntry(bytes, &head).ok());
  EXPECT_EQ(head.idempotency_key, "k-41");
}

TEST(Entry, ZeroFieldsStillCanonical) {
  // Zero scalars (UTC offset 0, amount 0, seq 0) make trailing zero words that canonical form truncates.
  mb::Entry e = Sample();
  e.seq = 0;
  e.tz_offset_minutes = 0;
  e.recorded_at_micros = 0;
  e.payload = mb::NoteDraft("unused", "x", 0).payload;
  std::string bytes = *mb::EncodeEntry(e);
  auto d = mb::DecodeEntry(bytes);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(*mb::EncodeEntry(*d), bytes);
}

TEST(Entry, RejectsNonCanonicalAndGarbage) {
  std::string bytes = *mb::EncodeEntry(Sample());
  EXPECT_TRUE(mb::DecodeEntry("").status().IsCorruption());
  EXPECT_TRUE(mb::DecodeEntry(bytes.substr(0, bytes.size() - 3)).status().IsCorruption());
  // A trailing zero word makes the message non-canonical (and the hash would differ).
  EXPECT_TRUE(mb::DecodeEntry(bytes + std::string(8, '\0')).status().IsCorruption());
  // Random byte flips never crash, and are either rejected or decode to different bytes' meaning.
  uint64_t seed = std::random_device{}();
  std::cout << "seed " << seed << "\n";
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 2000; ++i) {
    std::string b = bytes;
    b[rng() % b.size()] ^= static_cast<char>(1 + rng() % 255);
    auto d = mb::DecodeEntry(b);
    if (d.ok()) {
      EXPECT_EQ(*mb::EncodeEntry(*d), b) << "accepted bytes must re-encode to themselves";
    }
  }
}

TEST(JsonLines, ParsesValidInput) {
  auto r = mb::ParseJsonLines(
      "{\"type\":\"note\",\"idempotency_key\":\"a\",\"data\":{\"subject\":\"s\",\"amount\":2000000}}\n"
      "\n"
      "{\"type\":\"note\",\"idempotency_key\":\"b\",\"public\":[\"memo\"],\"data\":{\"subject\":\"t\",\"amount\":0,\"memo\":\"m\"}}\r\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[1].line, 3u);
  EXPECT_EQ((*r)[0].payload, mb::NoteDraft("a", "s", 2000000).payload);
  // Rendering a draft back gives a line that parses to the same draft.
  auto again = mb::ParseJsonLine(mb::DraftToJsonLine((*r)[1]), 1);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, (*r)[1]);
  // A private memo renders as its plaintext again (the marker is new, the value the same).
  auto priv = mb::ParseJsonLine(R"({"type":"note","idempotency_key":"c","data":{"subject":"t","amount":0,"memo":"riêng"}})", 1);
  ASSERT_TRUE(priv.ok());
  auto priv2 = mb::ParseJsonLine(mb::DraftToJsonLine(*priv), 1);
  ASSERT_TRUE(priv2.ok()) << mb::DraftToJsonLine(*priv);
  ASSERT_EQ(priv2->sealed.size(), 1u);
  EXPECT_EQ(priv2->sealed[0].value, "riêng");
  EXPECT_EQ(priv2->sealed[0].field, "note.memo");
}

TEST(JsonLines, BadInputNamesLineAndField) {
  struct Case {
    std::string line;
    std::string want;  // substring of the error
  } cases[] = {
      {"{", "line 1: malformed JSON"},
      {"[]", "expected a JSON object"},
      {R"({"type":"note","idempotency_key":"a","data":{"subject":"s","amount":1},"x":1})", "unknown field 'x'"},
      {R"({"type":"note","idempotency_key":"a","data":{"subject":"s","amount":1,"y":2}})", "field 'data.y': unknown field"},
      {R"({"type":"note","idempotency_key":"a","data":{"subject":"s"}})", "missing field 'data.amount'"},
      {R"({"type":"note","idempotency_key":"a","data":{"subject":"s","amount":"1"}})", "field 'data.amount': expected"},
      {R"({"type":"note","idempotency_key":"a","data":{"subject":"s","amount":1.5}})", "fraction or exponent"},
      {R"({"type":"note","idempotency_key":"a","data":{"subject":"s","amount":1e6}})", "fraction or exponent"},
      {R"({"type":"note","idempotency_key":"a","data":{"subject":"s","amount":-5}})", "field 'data.amount'"},
      {R"({"type":"note","idempotency_key":"a","data":{"subject":"s","amount":9223372036854775808}})", "expected an integer in"},
      {R"({"type":"note","idempotency_key":"a","data":{"subject":7,"amount":1}})", "field 'data.subject': expected a string"},
      {R"({"type":"note","idempotency_key":"a b","data":{"subject":"s","amount":1}})", "printable ASCII"},
      {R"({"type":"note","data":{"subject":"s","amount":1}})", "missing field 'idempotency_key'"},
      {R"({"type":"bogus","idempotency_key":"a","data":{}})", "unknown event type 'bogus'"},
      {R"({"type":"note","idempotency_key":"a","data":{"subject":"s","amount":1,"amount":2}})", "duplicate field 'amount'"},
      {R"({"type":"note","idempotency_key":"a","data":{"subject":"a\u0001b","amount":1}})", "control characters"},
      {"{\"type\":\"note\",\"idempotency_key\":\"a\",\"data\":{\"subject\":\"" + std::string(70000, 'x') + "\"}}",
       "a line may have at most"},
  };
  for (const auto& c : cases) {
    auto r = mb::ParseJsonLines(c.line + "\n");
    ASSERT_FALSE(r.ok()) << c.line.substr(0, 100);
    EXPECT_TRUE(r.status().IsInvalidArgument());
    EXPECT_NE(r.status().message().find(c.want), std::string::npos) << r.status().message();
  }
  // A NUL byte anywhere in a line is refused with its place; the lines after it are not dropped (issue 14).
  const std::string good = R"({"type":"note","idempotency_key":"k1","data":{"subject":"s","amount":1}})";
  for (const std::string& bad : {good + std::string(1, '\0') + "trailing", std::string(1, '\0') + good,
                                 good.substr(0, 20) + std::string(1, '\0') + good.substr(20), std::string(1, '\0')}) {
    const std::string later = R"({"type":"note","idempotency_key":"k2","data":{"subject":"s","amount":2}})";
    auto nul = mb::ParseJsonLines(good + "\n" + bad + "\n" + later + "\n");
    ASSERT_FALSE(nul.ok()) << "a NUL at " << bad.find('\0');
    EXPECT_NE(nul.status().message().find("line 2: a NUL byte (0x00) at byte " + std::to_string(bad.find('\0') + 1)),
              std::string::npos) << nul.status().message();
  }
  // Every bad line is listed, with its number.
  auto r = mb::ParseJsonLines(
      "{\"type\":\"note\",\"idempotency_key\":\"a\",\"data\":{\"subject\":\"s\",\"amount\":1}}\n{\n[]\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("2 bad line(s)"), std::string::npos);
  EXPECT_NE(r.status().message().find("line 2:"), std::string::npos);
  EXPECT_NE(r.status().message().find("line 3:"), std::string::npos);
  EXPECT_FALSE(mb::ParseJsonLines("\n\n").ok());
}

TEST(Timestamp, FormatsWithOffset) {
  EXPECT_EQ(mb::FormatTimestamp(0, 0), "1970-01-01T00:00:00.000000+00:00");
  EXPECT_EQ(mb::FormatTimestamp(1'700'000'000'123'456, 420), "2023-11-15T05:13:20.123456+07:00");
  EXPECT_EQ(mb::FormatTimestamp(-1, -90), "1969-12-31T22:29:59.999999-01:30");
}

// Bytes that Cap'n Proto accepts as canonical but that would decode to the same entry as other bytes are
// refused: a present-but-empty memo (same reading as an absent one), an empty required text, junk in unused
// data bits.
TEST(Entry, OneEntryHasOneEncoding) {
  auto build = [](auto&& mutate) {
    capnp::MallocMessageBuilder msg;
    auto root = msg.initRoot<mb::schema::Entry>();
    mb::Hash prev{};
    root.setSeq(3);
    root.setPrevHash(capnp::Data::Reader(prev.data(), prev.size()));
    root.setTzName("Asia/Ho_Chi_Minh");
    root.setActor("a");
    root.setIdempotencyKey("k");
    auto n = root.getPayload().initNote();
    n.setSubject("s");
    n.setAmount(5);
    mutate(root);
    kj::Array<capnp::word> words = capnp::canonicalize(root.asReader());
    return std::string(reinterpret_cast<const char*>(words.asBytes().begin()), words.asBytes().size());
  };
  EXPECT_TRUE(mb::DecodeEntry(build([](auto) {})).ok());
  EXPECT_TRUE(mb::DecodeEntry(build([](auto r) { r.getPayload().getNote().setMemo(""); })).status().IsCorruption());
  EXPECT_TRUE(mb::DecodeEntry(build([](auto r) { r.setActor(""); })).status().IsCorruption());
  EXPECT_TRUE(mb::DecodeEntry(build([](auto r) { r.setIdempotencyKey("a b"); })).status().IsCorruption());
  EXPECT_TRUE(mb::DecodeEntry(build([](auto r) { r.setTzOffsetMinutes(2000); })).status().IsCorruption());
  EXPECT_TRUE(mb::DecodeEntry(build([](auto r) { r.getPayload().initReversal().setSeq(1); })).status().IsCorruption());
  // The per-event rules apply to stored entries too: the domain replay may rely on well-formed months.
  auto bad_month = mb::DecodeEntry(build([](auto r) {
    auto c = r.getPayload().initChildRegistered();
    c.setChild("C1");
    c.setBirthMonth("2010-13");
    c.setArea("51");
    c.initCategories(1).set(0, mb::schema::Circumstance::ABANDONED);
  }));
  ASSERT_TRUE(bad_month.status().IsCorruption());
  EXPECT_NE(bad_month.status().message().find("field 'data.birth_month'"), std::string::npos) << bad_month.status().message();
  EXPECT_TRUE(mb::DecodeEntry(build([](auto r) { r.getPayload().getNote().setAmount(-1); })).status().IsCorruption());
}

// The two-step encoding used by the parallel append path gives exactly the one-step bytes.
TEST(Entry, UnchainedEncodingPatchesToTheSameBytes) {
  mb::Sha256 sha;
  mb::AppendContext ctx;
  for (int i = 0; i < 50; ++i) {
    mb::EventDraft d = i % 3 == 0 ? mb::ReversalDraft("r" + std::to_string(i), i, "lý do")
                                  : mb::NoteDraft("n" + std::to_string(i), std::string(1 + i, 'x'), i * 1000, i % 2 ? "memo" : "");
    mb::Hash prev = sha.Digest(std::to_string(i));
    std::string direct, twostep;
    size_t offset = 0;
    ASSERT_TRUE(mb::EncodeEntryTo(1000 + i, prev, 42, ctx, d, &direct).ok());
    ASSERT_TRUE(mb::EncodeEntryUnchained(1000 + i, 42, ctx, d, &twostep, &offset).ok());
    EXPECT_NE(direct, twostep);
    mb::PatchPrevHash(&twostep, offset, prev);
    EXPECT_EQ(direct, twostep) << i;
  }
}
