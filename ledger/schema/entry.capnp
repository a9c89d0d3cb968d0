# minhbach log entry: the envelope that is hashed, chained and put in the Merkle tree.
# The bytes that are hashed are this struct's Cap'n Proto canonical form (single segment, no segment
# table, trailing zero words truncated); see docs/format/entry.md.
#
# Evolution rules: fields and union members are only ever added with new ordinals; nothing is renamed
# in meaning, removed or renumbered. Old entries keep their canonical bytes (and so their hashes).
# The schema has no field that could hold a child's personal data: children are pseudonymous ids.
# Personal data (names, account and phone numbers, bank texts) and private free texts never enter an entry:
# the entry holds a commitment ($vaulted) and the vault beside the log holds the value and its salt.

@0x88ba18ab67ff06bb;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("minhbach::schema");

# Annotations read by the JSON Lines mapping (docs/format/jsonl.md). A field without $optional is
# required in JSON input. Text is one line of at most 256 bytes, or with $multiline up to 2048 bytes
# with newlines. Data fields are SHA-256 digests (32 bytes, 64 hex digits in JSON).
annotation optional @0xb3b851da8ebabd55 (field) :Void;
annotation multiline @0x881e14e9b27ea74b (field) :Void;
# On a Data field: a commitment to personal data or a private free text kept in the vault beside the log
# (docs/format/commitment.md). The parameter is the JSON input name of the plaintext: JSON "details":"..."
# is sealed into the vault and this field holds SHA-256(tag, salt, value). Where a Text field of the same
# name exists beside it, that Text is the public alternative, used only when the line lists the name in
# "public" (docs/format/jsonl.md); at most one of the two is set.
annotation vaulted @0xd6c4f0b8a1e2c3f7 (field) :Text;

struct Entry {
  seq @0 :UInt64;                # = Merkle leaf index, from 0
  prevHash @1 :Data;             # 32 bytes: RFC 9162 leaf hash of entry seq-1; 32 zero bytes for seq 0
  recordedAtMicros @2 :Int64;    # when the ledger recorded it: UTC, microseconds since 1970-01-01T00:00:00Z
  tzOffsetMinutes @3 :Int16;     # the recording user's UTC offset at that instant, e.g. +420 for UTC+07:00
  tzName @4 :Text;               # the recording user's IANA time zone, e.g. "Asia/Ho_Chi_Minh"
  actor @5 :Text;                # who recorded it (an administrator id), never a child
  idempotencyKey @6 :Text;       # unique over the whole log; a retry with the same key appends nothing

  payload :union {               # the event type is the union member (JSON "type": snake_case name)
    note @7 :Note;
    reversal @8 :Reversal;
    fundOpened @9 :FundOpened;
    programmeOpened @10 :ProgrammeOpened;
    programmeClosed @11 :ProgrammeClosed;
    donorRegistered @12 :DonorRegistered;
    childRegistered @13 :ChildRegistered;
    donationReceived @14 :DonationReceived;
    sponsorshipAgreed @15 :SponsorshipAgreed;
    sponsorshipEnded @16 :SponsorshipEnded;
    allocation @17 :Allocation;
    disbursement @18 :Disbursement;
    expense @19 :Expense;
    sponsorshipAmended @20 :SponsorshipAmended;
    allowanceRateSet @21 :AllowanceRateSet;
    entitlementDetermined @22 :EntitlementDetermined;
    erasure @23 :Erasure;
    publicationPolicySet @24 :PublicationPolicySet;
    guardianRegistered @25 :GuardianRegistered;
  }
}

# A generic event: free text and one amount. The domain catalogue adds typed events beside it.
struct Note {
  subject @0 :Text;              # public: no run of 8 digits, no phone number
  amount @1 :Int64;              # integer minor units (VND has none); >= 0
  memo @2 :Text $optional $multiline;                            # public memo (listed in "public")
  memoCommitment @3 :Data $optional $multiline $vaulted("memo"); # private memo, in the vault
}

# Cancels an earlier entry. A correction is a reversal followed by a new event.
struct Reversal {
  seq @0 :UInt64;                # the entry reversed; must be earlier than this one
  reason @1 :Text $optional $multiline;                              # exactly one of reason and
  reasonCommitment @2 :Data $optional $multiline $vaulted("reason"); # reasonCommitment
}

# ---- The domain catalogue (docs/events.md). Ids are pseudonymous codes chosen by the fund
# ("F-QNG", "C-0007"); no field can hold a child's name, address or exact birth date. ----

# Who may spend money: anyone in the fund, one programme/campaign, or one child.
enum Restriction {
  unrestricted @0;
  programme @1;
  child @2;
}

struct FundOpened {
  fund @0 :Text;                 # fund id
  name @1 :Text;                 # e.g. "Quỹ Bảo trợ trẻ em tỉnh Quảng Ngãi"
  organisation @2 :Text;         # who runs it
  currency @3 :Text;             # ISO 4217; "VND" (no minor unit)
}

struct ProgrammeOpened {
  programme @0 :Text;
  fund @1 :Text;
  name @2 :Text;
  legalBasis @3 :Text $multiline;          # e.g. "Nghị quyết 68/NQ-CP"
  receiveFrom @4 :Text $optional;          # YYYY-MM-DD: first value date money may be received for it
  receiveUntil @5 :Text $optional;         # YYYY-MM-DD: last value date
}

struct ProgrammeClosed {
  programme @0 :Text;
  reason @1 :Text $optional $multiline;
  reasonCommitment @2 :Data $optional $multiline $vaulted("reason");
}

enum DonorKind {
  individual @0;
  organisation @1;
  stateBudget @2;
}

struct DonorRegistered {
  donor @0 :Text;
  displayName @1 :Text $optional;          # public name of an organisation or the state budget; never an individual's
  kind @2 :DonorKind;
  nameCommitment @3 :Data $optional $vaulted("name");        # an individual's name, in the vault
  accountCommitment @4 :Data $optional $vaulted("account");  # a bank account number, in the vault
  phoneCommitment @5 :Data $optional $vaulted("phone");      # a phone number, in the vault
}

# Circumstances of children in special circumstances (Law on Children 2016, art. 10).
enum Circumstance {
  orphanedBothParents @0;
  orphanedOneParent @1;
  abandoned @2;
  withoutCaregiver @3;
  disabled @4;
  hivAids @5;
  lawViolation @6;
  drugAddiction @7;
  droppedOutToWork @8;
  violence @9;
  exploitation @10;
  sexualAbuse @11;
  trafficking @12;
  seriousIllness @13;
  migrantRefugee @14;
}

struct ChildRegistered {
  child @0 :Text;                          # pseudonymous id only
  birthMonth @1 :Text;                     # YYYY-MM (never an exact date)
  area @2 :Text;                           # administrative code: province[.district[.commune]]
  categories @3 :List(Circumstance);
}

enum Channel {
  bank @0;
  cash @1;
  treasury @2;
}

struct CashReceipt {
  channel @0 :Channel;
  bankRef @1 :Text $optional;              # not unique in real statements: never used as identity
  amount @2 :Int64;
}

struct InKindReceipt {
  item @0 :Text;                           # e.g. "bicycle"
  quantity @1 :Int64;
  unit @2 :Text;                           # e.g. "piece"
  unitValue @3 :Int64;                     # declared value per unit, minor units
  valuationBasis @4 :Text $optional $multiline;
  valuationBasisCommitment @5 :Data $optional $multiline $vaulted("valuation_basis");
}

struct DonationReceived {
  fund @0 :Text;
  donor @1 :Text;
  restriction @2 :Restriction $optional;   # default unrestricted
  restrictedTo @3 :Text $optional;         # programme id or child id, as the restriction says
  valueDate @4 :Text;                      # YYYY-MM-DD
  evidenceSha256 @5 :Data $optional;       # SHA-256 of a receipt or statement file
  union {
    cash @6 :CashReceipt;
    inKind @7 :InKindReceipt;
  }
  detailsCommitment @8 :Data $optional $multiline $vaulted("details");
                                           # the bank's free text of the statement line (names the sender, often an
                                           # account number): always in the vault, never public
  lineSha256 @9 :Data $optional;           # SHA-256 of the statement line (docs/import.md): finds the same bank line
                                           # in an overlapping later statement
  offsetAccountCommitment @10 :Data $optional $vaulted("offset_account");  # the statement's OffsetAccount column
}

struct SponsorshipAgreed {
  sponsorship @0 :Text;
  sponsor @1 :Text;                        # donor id
  child @2 :Text;
  fund @3 :Text;
  monthlyAmount @4 :Int64;                 # e.g. 2000000
  firstMonth @5 :Text;                     # YYYY-MM
  lastMonth @6 :Text $optional;            # YYYY-MM; absent = the month the child turns 18
  paymentDay @7 :UInt8;                    # 1..28
}

struct SponsorshipEnded {
  sponsorship @0 :Text;
  lastMonth @1 :Text;                      # last month covered
  reason @2 :Text $optional $multiline;
  reasonCommitment @3 :Data $optional $multiline $vaulted("reason");
}

struct Allocation {
  fromFund @0 :Text;
  toFund @1 :Text;
  restriction @2 :Restriction $optional;   # moved from and to this kind of sub-account
  restrictedTo @3 :Text $optional;
  amount @4 :Int64;
  memo @5 :Text $optional $multiline;
  memoCommitment @6 :Data $optional $multiline $vaulted("memo");
}

enum DisbursementKind {
  monthlyAllowance @0;
  sponsorshipInstalment @1;
  oneOffSupport @2;
  scholarship @3;
  gift @4;
  medical @5;
  inKindDistribution @6;
}

enum Method {
  bank @0;
  cash @1;
  inKind @2;
}

struct Disbursement {
  fund @0 :Text;
  child @1 :Text;
  guardian @2 :Text $optional;             # pseudonymous guardian id who received it
  kind @3 :DisbursementKind;
  paidFrom @4 :Restriction $optional;      # default unrestricted; child = the child's own restricted money
  programme @5 :Text $optional;            # required when paidFrom is programme
  sponsorship @6 :Text $optional;          # required for a sponsorship instalment
  month @7 :Text $optional;                # YYYY-MM covered (instalments, allowances)
  amount @8 :Int64 $optional;              # cash paid; 0 for goods only
  item @9 :Text $optional;                 # goods given from in-kind stock
  quantity @10 :Int64 $optional;
  method @11 :Method;
  evidenceSha256 @12 :Data $optional;
  overrideReason @13 :Text $optional $multiline;
  overrideReasonCommitment @14 :Data $optional $multiline $vaulted("override_reason");
}

enum ExpenseCategory {
  operating @0;
  bankFee @1;
  transferOut @2;                          # money sent out of the account that is not a fee (a statement debit)
}

struct Expense {
  fund @0 :Text;
  category @1 :ExpenseCategory;
  paidFrom @2 :Restriction $optional;      # unrestricted (default) or programme
  programme @3 :Text $optional;
  amount @4 :Int64;
  description @5 :Text $optional $multiline;   # exactly one of description and descriptionCommitment
  descriptionCommitment @10 :Data $optional $multiline $vaulted("description");
  valueDate @6 :Text $optional;            # YYYY-MM-DD: the bank's value date, for a debit imported from a statement
  bankRef @7 :Text $optional;              # the statement's document / reference number (not unique)
  evidenceSha256 @8 :Data $optional;       # SHA-256 of the statement file (or invoice) it comes from
  lineSha256 @9 :Data $optional;           # SHA-256 of the statement line (docs/import.md)
}

# Changes an agreement from a month on. A field left out (or 0) stays as it was.
struct SponsorshipAmended {
  sponsorship @0 :Text;
  effectiveMonth @1 :Text;                 # YYYY-MM: the first month the change applies to
  monthlyAmount @2 :Int64 $optional;       # new monthly amount from effectiveMonth; 0 = unchanged
  lastMonth @3 :Text $optional;            # new last month; absent = unchanged
  paymentDay @4 :UInt8 $optional;          # 1..28; 0 = unchanged
  reason @5 :Text $optional $multiline;
  reasonCommitment @6 :Data $optional $multiline $vaulted("reason");
}

# An effective-dated base level of a monthly allowance table, e.g. Decree 20/2021/NĐ-CP: 360,000 VND from
# 2021-07, 500,000 VND from 2024-07; a province may keep its own table with a higher base.
struct AllowanceRateSet {
  table @0 :Text;                          # table id, e.g. "ND20"
  effectiveFrom @1 :Text;                  # YYYY-MM
  baseAmount @2 :Int64;                    # minor units per month
  legalBasis @3 :Text $multiline;
}

# A decision that a child is entitled to a monthly allowance of coefficient x base of a table, for months
# fromMonth..toMonth. The latest determination covering a month is the one that applies.
struct EntitlementDetermined {
  child @0 :Text;
  table @1 :Text;
  category @2 :Circumstance;
  coefficientMilli @3 :UInt32;             # coefficient x 1000: 2.5 -> 2500; 0 = not entitled (ends one)
  decision @4 :Text;                       # decision number, e.g. "1234/QĐ-UBND"
  fromMonth @5 :Text;                      # YYYY-MM
  toMonth @6 :Text $optional;              # YYYY-MM; absent = open-ended
}

# ---- Privacy (docs/format/commitment.md, docs/threat-model.md "Privacy") ----

# The personal data of a subject (a donor, child or guardian) was erased from the vault. The commitments
# stay in the log, so every hash, proof and signature stays valid; their values and salts are gone.
struct Erasure {
  subject @0 :Text;                        # the donor, child or guardian id
  commitments @1 :List(Data);              # the commitments whose values and salts were deleted
  reason @2 :Text $multiline;              # public: e.g. "Yêu cầu xóa dữ liệu theo Luật 91/2025/QH15"
  part @3 :UInt16;                         # 1..parts: a subject with more than 256 commitments takes several
  parts @4 :UInt16;                        # erasure entries, appended together in one batch
}

enum Display {
  name @0;                                 # the name as registered
  initials @1;                             # family name and initials: "Nguyễn V. Q."
  anonymous @2;                            # "anonymous"
}

# What a fund promises to publish about its donors. Account and phone numbers are never published: no
# setting can allow it. Without a policy: organisations by name, individuals as initials.
struct PublicationPolicySet {
  fund @0 :Text;
  organisations @1 :Display;               # organisations and the state budget
  individuals @2 :Display;                 # initials or anonymous (never name)
}

# A child's guardian (who receives payments for the child): a pseudonymous id; the person's name and phone
# number are kept in the vault.
struct GuardianRegistered {
  guardian @0 :Text;
  child @1 :Text;
  nameCommitment @2 :Data $optional $vaulted("name");
  phoneCommitment @3 :Data $optional $vaulted("phone");
}
