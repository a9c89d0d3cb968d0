// What the ledger already holds: earlier statement lines of a fund, and a dry run of the domain invariants.
#include <charconv>
#include <unordered_set>

#include "minhbach/domain.h"
#include "minhbach/import.h"
#include "minhbach/ledger.h"

namespace minhbach::import {
namespace {

std::string_view View(capnp::Text::Reader t) { return std::string_view(t.cStr(), t.size()); }
std::string_view View(capnp::Data::Reader d) { return std::string_view(reinterpret_cast<const char*>(d.begin()), d.size()); }

// The data row of a statement key "stmt:<file>:<row>" (its part after `prefix`); 0 when it is not a number.
uint64_t RowOfKey(std::string_view key, size_t prefix) {
  uint64_t row = 0;
  const char* end = key.data() + key.size();
  auto [p, ec] = std::from_chars(key.data() + prefix, end, row);
  return ec == std::errc() && p == end ? row : 0;
}

}  // namespace

Result<PriorLines> ScanPriorLines(const Ledger& ledger, const std::string& fund, const std::string& file_sha256_hex,
                                  const std::string& donor, const std::function<void(uint64_t, uint64_t)>& progress) {
  PriorLines prior;
  const std::string same_file = "stmt:" + file_sha256_hex + ":";
  const uint64_t total = ledger.size();
  Status inner;
  auto note = [&](uint64_t seq, capnp::Text::Reader key, capnp::Data::Reader digest, const capnp::Text::Reader* donor) {
    if (View(key).substr(0, same_file.size()) == same_file) {
      ++prior.same_file_entries;
      if (donor) prior.same_file_donors[RowOfKey(View(key), same_file.size())] = std::string(View(*donor));
    } else {
      prior.by_digest[std::string(View(digest))].push_back(seq);
    }
  };
  MB_RETURN_IF_ERROR(ledger.ScanEntries(0, total, [&](uint64_t seq, std::string_view bytes) {
    auto r = EntryReader::Open(bytes);
    if (!r.ok()) {
      inner = r.status().WithContext("entry " + std::to_string(seq));
      return false;
    }
    auto p = r->payload();
    if (p.isDonationReceived()) {
      auto d = p.getDonationReceived();
      const auto who = d.getDonor();
      if (d.hasLineSha256() && View(d.getFund()) == fund) note(seq, r->root().getIdempotencyKey(), d.getLineSha256(), &who);
    } else if (p.isExpense()) {
      auto e = p.getExpense();
      if (e.hasLineSha256() && View(e.getFund()) == fund) note(seq, r->root().getIdempotencyKey(), e.getLineSha256(), nullptr);
    } else if (p.isDonorRegistered()) {
      const std::string_view id = View(p.getDonorRegistered().getDonor());
      prior.donor_exists = prior.donor_exists || id == donor;
      prior.donors.emplace(id);
    }
    ++prior.scanned;
    if (progress && (seq & 4095) == 0) progress(seq, total);
    return true;
  }));
  MB_RETURN_IF_ERROR(inner);
  if (progress) progress(total, total);
  return prior;
}

Result<std::vector<std::pair<size_t, Status>>> CheckInvariants(const Ledger& ledger, const std::vector<EventDraft>& drafts,
                                                               size_t errors_max) {
  std::unordered_set<std::string_view> keys;
  for (const auto& d : drafts) keys.insert(d.idempotency_key);
  std::unordered_set<std::string> logged;  // draft keys already in the log: Append would skip them
  DomainState state;
  EntryLookup lookup = [&](uint64_t seq) { return ledger.GetEntry(seq); };
  Status inner;
  MB_RETURN_IF_ERROR(ledger.ScanEntries(0, ledger.size(), [&](uint64_t seq, std::string_view bytes) {
    auto r = EntryReader::Open(bytes);
    if (!r.ok()) {
      inner = r.status().WithContext("entry " + std::to_string(seq));
      return false;
    }
    std::string_view key = View(r->root().getIdempotencyKey());
    if (keys.count(key)) logged.emplace(key);
    inner = state.Apply(seq, r->payload(), lookup);
    if (!inner.ok()) {
      inner = Status::Corruption("replaying entry " + std::to_string(seq) + ": " + inner.message());
      return false;
    }
    return true;
  }));
  MB_RETURN_IF_ERROR(inner);
  std::vector<std::pair<size_t, Status>> failures;
  uint64_t seq = ledger.size();
  for (size_t i = 0; i < drafts.size() && failures.size() < errors_max; ++i) {
    if (logged.count(drafts[i].idempotency_key)) continue;
    auto r = EntryReader::OpenDraft(drafts[i].payload);
    Status s = r.ok() ? Status::Ok() : r.status();
    if (s.ok()) {
      state.Begin();
      s = state.Apply(seq, r->payload(), lookup);
      if (s.ok()) {
        state.Commit();
        ++seq;
      } else {
        state.Rollback();
      }
    }
    if (!s.ok()) {
      std::string where = drafts[i].line ? "line " + std::to_string(drafts[i].line) : "event " + std::to_string(i + 1);
      failures.emplace_back(i, Status::InvalidArgument(where + ": " + s.message()));
    }
  }
  return failures;
}

}  // namespace minhbach::import
