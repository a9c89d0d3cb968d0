// PlanStatement: reconciliation, overlap and the event drafts of a bank statement. See docs/import.md.
#include <capnp/message.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "minhbach/import.h"
#include "minhbach/vault.h"

namespace minhbach::import {
namespace {

// A draft is ~60 words (more with long details, which then take a second segment): the default first segment of
// 1024 words would be allocated and zeroed for every row.
constexpr unsigned kDraftFirstSegmentWords = 128;

capnp::Text::Reader T(const std::string& s) { return capnp::Text::Reader(s.data(), s.size()); }
capnp::Data::Reader D(const Hash& h) { return capnp::Data::Reader(h.data(), h.size()); }

std::string Canonical(capnp::MallocMessageBuilder& msg) {
  kj::Array<capnp::word> words = capnp::canonicalize(msg.getRoot<schema::Entry>().asReader());
  kj::ArrayPtr<const kj::byte> bytes = words.asBytes();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

// Field rules of a draft built here (the same checks as a JSON line gets), errors naming the row.
Result<EventDraft> Checked(std::string key, std::string payload, uint64_t row, const std::string& where,
                           std::vector<SealedField> sealed = {}) {
  auto r = EntryReader::OpenDraft(payload);
  if (!r.ok()) return Status::InvalidArgument(where + ": " + r.status().message());
  return EventDraft{std::move(key), std::move(payload), row, std::move(sealed)};
}

bool StartsWithWord(std::string_view s, std::string_view w) {
  return s.substr(0, w.size()) == w && (s.size() == w.size() || s[w.size()] == ' ' || s[w.size()] == ':' || s[w.size()] == '-');
}

struct Pending {
  StatementRow row;
  Hash digest;
  std::optional<EventDraft> draft;  // empty for an overlap row
  std::string donor;                // a credit's donor
};

// A sender seen for the first time: registered in the batch, before its first donation.
struct NewDonor {
  std::string id, name, account;
  uint64_t first_row = 0;
};

constexpr int kDonorIdAttempts = 16;  // a fresh random id collides with a registered one with odds 2^-48 each

class Planner {
 public:
  Planner(const Hash& file, const Layout& layout, const StatementOptions& o, const PriorLines& prior)
      : file_(file), layout_(layout), o_(o), prior_(prior) {
    plan_.summary.file_sha256_hex = HexEncode(file);
    plan_.summary.donor = o.donor.empty() ? PublicDonorId(o.fund) : o.donor;
    if (o.opening_balance) {
      base_ = *o.opening_balance;
      plan_.summary.opening = *o.opening_balance;
    }
  }

  Status Row(StatementRow&& row);
  Result<StatementPlan> Finish(const StatementReader& reader);
  void Error(const Status& s) {
    if (++errors_ <= kImportErrorsMax) error_text_ += "\n  " + s.message();
  }

 private:
  Status Prepare(Pending* p);        // a new row: its donor and its draft
  Result<std::string> DonorOf(const StatementRow& row);
  Result<std::string> FreshDonorId() const;
  Result<EventDraft> Draft(const StatementRow& row, const Hash& digest, const std::string& donor) const;
  Result<EventDraft> Registration(const NewDonor& n) const;
  Status AddRegistrations();        // the public donor and the new pseudonyms that kept credits go to
  void Flush();                      // pending rows agreed (or nothing to check them against): keep them
  void Quarantine(const Gap& gap);   // pending rows disagreed

  Hash file_;
  const Layout& layout_;
  const StatementOptions& o_;
  const PriorLines& prior_;
  StatementPlan plan_;
  std::optional<Amount> base_;  // expected balance = *base_ + running_
  Amount running_ = 0;          // credits - debits since the start
  std::vector<Pending> pending_;
  std::unordered_map<std::string, uint32_t> occurrences_;  // digests also in prior_: how often seen so far
  uint64_t first_new_row_ = 0;
  uint64_t errors_ = 0;
  std::string error_text_;
  Status fatal_;  // the vault or the random generator failed: not a fault of the file

  // Senders (docs/import.md "Senders"): kind 0x00 normalized identity -> donor, as this import sees it.
  std::unordered_map<std::string, std::string> known_;
  std::vector<NewDonor> new_donors_;
  std::unordered_set<std::string> made_;  // ids of new_donors_
  std::unordered_set<std::string> used_;  // donors of the credits kept (not quarantined)
};

// The donor a credit is filed under: --donor; else the donor this very row was imported under before (a
// re-import); else the pseudonym of the sender's account, or of their name when no account is found; else a new
// pseudonym; else (no sender found) the public donor.
Result<std::string> Planner::DonorOf(const StatementRow& row) {
  if (!o_.donor.empty()) return o_.donor;
  if (auto it = prior_.same_file_donors.find(row.row); it != prior_.same_file_donors.end()) return it->second;
  const Sender who = FindSender(row.offset_account, row.details);
  const bool by_account = !who.account.empty();
  const std::string normalized = by_account ? who.account : NormalizeName(who.name);
  if (normalized.empty()) return plan_.summary.donor;
  const std::string kind = by_account ? "account" : "name";
  if (auto it = known_.find(kind + '\0' + normalized); it != known_.end()) return it->second;
  MB_ASSIGN_OR_RETURN(std::optional<std::string> found, o_.vault->FindPseudonym(kind, normalized));
  if (found) {
    known_.emplace(kind + '\0' + normalized, *found);
    return *found;
  }
  MB_ASSIGN_OR_RETURN(std::string id, FreshDonorId());
  new_donors_.push_back({id, who.name, who.account, row.row});
  made_.insert(id);
  // The vault indexes both the account and the name of a registration (the later registration of a name wins).
  known_[kind + '\0' + normalized] = id;
  if (by_account && !who.name.empty()) known_[std::string("name") + '\0' + NormalizeName(who.name)] = id;
  return id;
}

Result<std::string> Planner::FreshDonorId() const {
  for (int attempt = 0; attempt < kDonorIdAttempts; ++attempt) {
    MB_ASSIGN_OR_RETURN(std::string id, NewDonorId());
    if (!prior_.donors.count(id) && !made_.count(id)) return id;
  }
  return Status::Internal("no unused random donor id after " + std::to_string(kDonorIdAttempts) + " attempts");
}

Status Planner::Prepare(Pending* p) {
  if (p->row.credit > 0) {
    auto donor = DonorOf(p->row);
    if (!donor.ok()) {
      if (fatal_.ok()) fatal_ = donor.status().WithContext("row " + std::to_string(p->row.row) + ": finding the sender's pseudonym");
      return Status::Ok();
    }
    p->donor = std::move(*donor);
  }
  MB_ASSIGN_OR_RETURN(EventDraft d, Draft(p->row, p->digest, p->donor));
  p->draft = std::move(d);
  return Status::Ok();
}

// A new pseudonymous donor: an individual, the name and account number sealed into the vault (where they
// index the pseudonym for the next statements). The key names the id only: no personal data, no HMAC.
Result<EventDraft> Planner::Registration(const NewDonor& n) const {
  capnp::MallocMessageBuilder msg(kDraftFirstSegmentWords);
  auto d = msg.initRoot<schema::Entry>().getPayload().initDonorRegistered();
  d.setDonor(T(n.id));
  d.setKind(schema::DonorKind::INDIVIDUAL);
  std::vector<SealedField> sealed;
  if (!n.name.empty()) d.setNameCommitment(D(AddSealed(&sealed, "donor_registered.name", n.name)));
  if (!n.account.empty()) d.setAccountCommitment(D(AddSealed(&sealed, "donor_registered.account", n.account)));
  return Checked("donor:" + n.id, Canonical(msg), n.first_row,
                 "row " + std::to_string(n.first_row) + ": new donor " + n.id, std::move(sealed));
}

Status Planner::AddRegistrations() {
  StatementSummary& s = plan_.summary;
  std::vector<EventDraft> regs;
  if (!prior_.donor_exists && o_.donor.empty() && used_.count(s.donor)) {
    capnp::MallocMessageBuilder msg;
    auto d = msg.initRoot<schema::Entry>().getPayload().initDonorRegistered();
    d.setDonor(T(s.donor));
    d.setKind(schema::DonorKind::INDIVIDUAL);  // shown as anonymous: the senders' texts are in the vault
    MB_ASSIGN_OR_RETURN(EventDraft reg, Checked("stmt-donor:" + s.donor, Canonical(msg), 0, "public donor " + s.donor));
    regs.push_back(std::move(reg));
    s.donor_registered = true;
  }
  for (const NewDonor& n : new_donors_) {
    if (!used_.count(n.id)) continue;  // its only credits were quarantined
    MB_ASSIGN_OR_RETURN(EventDraft reg, Registration(n));
    regs.push_back(std::move(reg));
    ++s.donors_new;
  }
  for (const std::string& d : used_) s.donors_recognised += d != s.donor && !made_.count(d);
  if (plan_.events.size() + regs.size() > kBatchEventsMax) {
    return Status::InvalidArgument("the statement's " + std::to_string(plan_.events.size()) + " events and " +
                                   std::to_string(regs.size()) + " donor registrations exceed one batch of " +
                                   std::to_string(kBatchEventsMax) + " events: split the file");
  }
  plan_.events.insert(plan_.events.begin(), std::make_move_iterator(regs.begin()), std::make_move_iterator(regs.end()));
  return Status::Ok();
}

Result<EventDraft> Planner::Draft(const StatementRow& row, const Hash& digest, const std::string& donor) const {
  const std::string key = "stmt:" + plan_.summary.file_sha256_hex + ":" + std::to_string(row.row);
  const std::string where = "row " + std::to_string(row.row) + (row.page.empty() ? "" : " (page " + row.page + ")");
  const std::string& ref = row.ref.empty() ? row.doc : row.ref;
  capnp::MallocMessageBuilder msg(kDraftFirstSegmentWords);
  auto payload = msg.initRoot<schema::Entry>().getPayload();
  std::vector<SealedField> sealed;  // the bank's texts go to the vault (they name people and accounts)
  if (row.credit > 0) {
    auto d = payload.initDonationReceived();
    d.setFund(T(o_.fund));
    d.setDonor(T(donor));
    if (!o_.campaign.empty()) {
      d.setRestriction(schema::Restriction::PROGRAMME);
      d.setRestrictedTo(T(o_.campaign));
    }
    d.setValueDate(T(row.date));
    d.setEvidenceSha256(D(file_));
    auto cash = d.initCash();
    cash.setChannel(schema::Channel::BANK);
    if (!ref.empty()) cash.setBankRef(T(ref));
    cash.setAmount(row.credit);
    if (!row.details.empty()) d.setDetailsCommitment(D(AddSealed(&sealed, "donation_received.details", row.details)));
    d.setLineSha256(D(digest));
    if (!row.offset_account.empty()) {
      d.setOffsetAccountCommitment(D(AddSealed(&sealed, "donation_received.offset_account", row.offset_account)));
    }
  } else {
    auto e = payload.initExpense();
    e.setFund(T(o_.fund));
    e.setCategory(IsBankFee(row.details) ? schema::ExpenseCategory::BANK_FEE : schema::ExpenseCategory::TRANSFER_OUT);
    if (!o_.campaign.empty()) {
      e.setPaidFrom(schema::Restriction::PROGRAMME);
      e.setProgramme(T(o_.campaign));
    }
    e.setAmount(row.debit);
    if (row.details.empty()) {
      e.setDescription(T("Statement debit without details, row " + std::to_string(row.row)));
    } else {
      e.setDescriptionCommitment(D(AddSealed(&sealed, "expense.description", row.details)));
    }
    e.setValueDate(T(row.date));
    if (!ref.empty()) e.setBankRef(T(ref));
    e.setEvidenceSha256(D(file_));
    e.setLineSha256(D(digest));
  }
  return Checked(key, Canonical(msg), row.row, where, std::move(sealed));
}

Status Planner::Row(StatementRow&& row) {
  StatementSummary& s = plan_.summary;
  ++s.rows;
  row.credit > 0 ? ++s.credits : ++s.debits;
  MB_ASSIGN_OR_RETURN(s.credit_sum, CheckedAdd(s.credit_sum, row.credit));
  MB_ASSIGN_OR_RETURN(s.debit_sum, CheckedAdd(s.debit_sum, row.debit));
  MB_ASSIGN_OR_RETURN(running_, CheckedAdd(running_, row.credit));
  MB_ASSIGN_OR_RETURN(running_, CheckedSub(running_, row.debit));
  const uint64_t number = row.row;
  const std::optional<Amount> printed = row.balance;
  const std::string page = row.page;

  // Overlap: the leading rows already in the ledger (from another statement) are skipped.
  const Hash line = LineDigest(row, *o_.vault);
  pending_.push_back({std::move(row), line, std::nullopt});
  Pending& p = pending_.back();
  const std::string digest(AsView(line));
  bool known = false;
  uint64_t known_seq = 0;
  if (auto it = prior_.by_digest.find(digest); it != prior_.by_digest.end()) {
    uint32_t occurrence = ++occurrences_[digest];
    known = occurrence <= it->second.size();
    if (known) known_seq = it->second[occurrence - 1];
  }
  if (known && first_new_row_ == 0) {
    ++s.overlap_rows;
  } else if (known) {
    Error(Status::InvalidArgument("row " + std::to_string(number) + ": this line is already entry " +
                                  std::to_string(known_seq) + " (from an earlier statement) but follows new row " +
                                  std::to_string(first_new_row_) +
                                  ": an overlapping statement may repeat earlier lines only at its start"));
  } else {
    if (first_new_row_ == 0) first_new_row_ = number;
    if (Status st = Prepare(&p); !st.ok()) Error(st);
  }

  // Reconciliation: every printed balance against opening + credits - debits.
  if (!printed) {
    if (!layout_.balance.present()) Flush();  // else checked with the next printed balance
    return Status::Ok();
  }
  ++s.balances_printed;
  if (!base_) {  // the opening balance follows from the first printed one
    MB_ASSIGN_OR_RETURN(base_, CheckedSub(*printed, running_));
    s.opening = *base_;
    s.opening_derived = true;
  }
  MB_ASSIGN_OR_RETURN(Amount expected, CheckedAdd(*base_, running_));
  if (expected == *printed) {
    ++s.balances_agreed;
    Flush();
    return Status::Ok();
  }
  Gap gap{number, page, expected, *printed, pending_.front().row.row};
  plan_.gaps.push_back(gap);
  Quarantine(gap);
  MB_ASSIGN_OR_RETURN(base_, CheckedSub(*printed, running_));  // re-sync to the printed balance
  return Status::Ok();
}

void Planner::Flush() {
  for (auto& p : pending_) {
    if (!p.draft) continue;
    if (!p.donor.empty()) {
      used_.insert(p.donor);
      plan_.summary.public_credits += o_.donor.empty() && p.donor == plan_.summary.donor;
    }
    plan_.events.push_back(std::move(*p.draft));
  }
  pending_.clear();
}

void Planner::Quarantine(const Gap& gap) {
  for (auto& p : pending_) {
    if (!p.draft) continue;  // an overlap row: already in the ledger
    if (o_.quarantine) plan_.quarantined.push_back({std::move(p.row), HexEncode(p.digest), gap});
  }
  pending_.clear();
}

Result<StatementPlan> Planner::Finish(const StatementReader& reader) {
  Flush();  // rows after the last printed balance: nothing to check them against
  if (!fatal_.ok()) return fatal_;
  StatementSummary& s = plan_.summary;
  s.summary_row = reader.summary_seen();
  s.quarantined = plan_.quarantined.size();
  if (base_) {
    auto closing = CheckedAdd(*base_, running_);
    if (!closing.ok()) return closing.status();
    s.closing = *closing;
  }
  if (errors_ > 0) {
    if (errors_ > kImportErrorsMax) error_text_ += "\n  ... and " + std::to_string(errors_ - kImportErrorsMax) + " more";
    return Status::InvalidArgument(std::to_string(errors_) + " bad row(s), nothing imported:" + error_text_);
  }
  if (!plan_.gaps.empty() && !o_.quarantine) {
    std::string text;
    for (size_t i = 0; i < plan_.gaps.size() && i < kImportErrorsMax; ++i) {
      const Gap& g = plan_.gaps[i];
      text += "\n  row " + std::to_string(g.row) + (g.page.empty() ? "" : " (page " + g.page + ")") + ": printed balance " +
              std::to_string(g.printed) + ", expected " + std::to_string(g.expected) + " (gap " +
              std::to_string(g.printed - g.expected) + "); rows " + std::to_string(g.since_row) + ".." +
              std::to_string(g.row) + " since the last agreeing balance";
    }
    if (plan_.gaps.size() > kImportErrorsMax) text += "\n  ... and " + std::to_string(plan_.gaps.size() - kImportErrorsMax) + " more";
    return Status::InvalidArgument(std::to_string(plan_.gaps.size()) +
                                   " printed balance(s) disagree with opening + credits - debits, nothing imported "
                                   "(--quarantine REPORT imports the rows that reconcile and lists the others):" + text);
  }
  MB_RETURN_IF_ERROR(AddRegistrations());
  return std::move(plan_);
}

}  // namespace

std::string PublicDonorId(const std::string& fund) { return "D-PUBLIC-" + fund; }

bool IsBankFee(std::string_view details) {
  std::string s(details);
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  for (size_t p = 0; (p = s.find("\xC3\x8D", p)) != std::string::npos;) s.replace(p, 2, "\xC3\xAD");  // Í -> í
  static const char* kLeading[] = {"phí", "phi", "thu phí", "thu phi", "fee", "charge", "vat phí", "vat phi"};
  for (const char* w : kLeading) {
    if (StartsWithWord(s, w)) return true;
  }
  static const char* kPhrases[] = {"phí dịch vụ", "phi dich vu", "phí chuyển tiền", "phi chuyen tien", "phí quản lý",
                                   "phi quan ly", "phí sms", "phi sms", "phí thường niên", "phi thuong nien",
                                   "service fee", "transfer fee", "sms fee", "bank fee", "bank charge"};
  for (const char* w : kPhrases) {
    if (s.find(w) != std::string::npos) return true;
  }
  return false;
}

Result<StatementPlan> PlanStatement(const std::string& csv_path, const Hash& file_sha256, const Layout& layout,
                                    const StatementOptions& options, const PriorLines& prior,
                                    const std::function<void(uint64_t, uint64_t)>& progress) {
  if (options.vault == nullptr) {
    return Status::InvalidArgument("a statement import needs the ledger's vault (senders' pseudonyms, line digests)");
  }
  MB_ASSIGN_OR_RETURN(auto reader, StatementReader::Open(csv_path, layout));
  Planner planner(file_sha256, layout, options, prior);
  StatementRow row;
  Status row_error;
  uint64_t n = 0;
  while (true) {
    MB_ASSIGN_OR_RETURN(bool more, reader->Next(&row, &row_error));
    if (!more) break;
    if (!row_error.ok()) {
      planner.Error(row_error);
      if (row.row > kStatementRowsMax) break;
      continue;
    }
    const uint64_t number = row.row;
    Status s = planner.Row(std::move(row));
    if (!s.ok()) planner.Error(s.WithContext("row " + std::to_string(number)));
    if (progress && (++n & 1023) == 0) progress(reader->csv().bytes_read(), reader->csv().file_bytes());
  }
  if (progress) progress(reader->csv().file_bytes(), reader->csv().file_bytes());
  return planner.Finish(*reader);
}

namespace {

std::string CsvCell(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

Status WriteQuarantineReport(const std::string& path, const StatementPlan& plan) {
  const bool as_json = path.size() >= 5 && path.substr(path.size() - 5) == ".json";
  // The report holds the bank's texts (personal data): readable by the fund's user only.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || ::fchmod(fd, 0600) != 0) {
    if (fd >= 0) ::close(fd);
    return Status::IOError("cannot create quarantine report '" + path + "'");
  }
  ::close(fd);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Status::IOError("cannot create quarantine report '" + path + "'");
  auto balance = [](const std::optional<Amount>& b) { return b ? std::to_string(*b) : std::string(); };
  if (as_json) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& q : plan.quarantined) {
      rows.push_back({{"row", q.row.row}, {"page", q.row.page}, {"date", q.row.date}, {"time", q.row.time},
                      {"doc", q.row.doc}, {"ref", q.row.ref}, {"debit", q.row.debit}, {"credit", q.row.credit},
                      {"printed_balance", q.row.balance ? nlohmann::json(*q.row.balance) : nlohmann::json()},
                      {"details", q.row.details}, {"offset_account", q.row.offset_account},
                      {"line_sha256", q.line_sha256_hex},
                      {"gap_row", q.gap.row}, {"expected_balance", q.gap.expected},
                      {"gap_printed_balance", q.gap.printed}, {"gap", q.gap.printed - q.gap.expected}});
    }
    out << nlohmann::json{{"file_sha256", plan.summary.file_sha256_hex}, {"quarantined", rows}}.dump(
               2, ' ', false, nlohmann::json::error_handler_t::replace)
        << "\n";
  } else {
    out << "row,page,date,time,doc,ref,debit,credit,printed_balance,details,offset_account,line_sha256,gap_row,"
           "expected_balance,gap_printed_balance,gap,file_sha256\r\n";
    for (const auto& q : plan.quarantined) {
      out << q.row.row << "," << CsvCell(q.row.page) << "," << q.row.date << "," << q.row.time << "," << CsvCell(q.row.doc)
          << "," << CsvCell(q.row.ref) << "," << q.row.debit << "," << q.row.credit << "," << balance(q.row.balance) << ","
          << CsvCell(q.row.details) << "," << CsvCell(q.row.offset_account) << "," << q.line_sha256_hex << "," << q.gap.row << "," << q.gap.expected << ","
          << q.gap.printed << "," << q.gap.printed - q.gap.expected << "," << plan.summary.file_sha256_hex << "\r\n";
    }
  }
  out.flush();
  if (!out) return Status::IOError("writing quarantine report '" + path + "'");
  return Status::Ok();
}

Status ToRowStatus(const Status& s) {
  const std::string& m = s.message();
  if (s.ok() || m.rfind("line ", 0) != 0) return s;
  std::string text = "row " + m.substr(5);
  switch (s.code()) {
    case Status::Code::kInvalidArgument: return Status::InvalidArgument(text);
    case Status::Code::kNotFound: return Status::NotFound(text);
    default: return s;
  }
}

}  // namespace minhbach::import
