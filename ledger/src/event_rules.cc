#include "event_rules.h"

#include <set>
#include <string>

#include "minhbach/money.h"
#include "minhbach/privacy.h"

namespace minhbach {
namespace {

struct Rules {
  size_t line;
  Status Bad(const std::string& field, const std::string& msg) const {
    // line 0: a stored entry (the caller turns this into Corruption).
    std::string where = line ? "line " + std::to_string(line) + ": " : "";
    return Status::InvalidArgument(where + "field 'data." + field + "': " + msg);
  }
  Status Positive(const char* field, int64_t v) const {
    return v > 0 ? Status::Ok() : Bad(field, "must be a positive integer amount, got " + std::to_string(v));
  }
  Status NonNegative(const char* field, int64_t v) const {
    return v >= 0 ? Status::Ok() : Bad(field, "must not be negative, got " + std::to_string(v));
  }
  Status Month(const char* field, capnp::Text::Reader t) const {
    auto m = ParseMonth(std::string_view(t.cStr(), t.size()));
    return m.ok() ? Status::Ok() : Bad(field, m.status().message());
  }
  Status Date(const char* field, capnp::Text::Reader t) const {
    Status s = CheckDate(std::string_view(t.cStr(), t.size()));
    return s.ok() ? s : Bad(field, s.message());
  }
  // A free text kept public (in the log) or private (a commitment to the vault): `required` = exactly one.
  Status FreeText(const char* field, bool has_text, capnp::Text::Reader text, bool has_commitment, bool required) const {
    if (has_text && has_commitment) return Bad(field, "is both public and in the vault: give one");
    if (required && !has_text && !has_commitment) return Bad(field, "is required");
    return has_text ? Public(field, text) : Status::Ok();
  }
  Status Public(const char* field, capnp::Text::Reader text) const {
    Status s = CheckPublicText(std::string_view(text.cStr(), text.size()));
    return s.ok() ? s : Bad(field, "a public text " + s.message());
  }
  // restriction + restrictedTo: an id exactly when restricted.
  Status Restricted(schema::Restriction r, bool has_id, const char* id_field) const {
    if (r == schema::Restriction::UNRESTRICTED && has_id) return Bad(id_field, "given, but the money is unrestricted");
    if (r != schema::Restriction::UNRESTRICTED && !has_id) return Bad(id_field, "required for restricted money");
    return Status::Ok();
  }
};

}  // namespace

Status ValidateEventFields(schema::Entry::Payload::Reader p, size_t line) {
  Rules r{line};
  switch (p.which()) {
    case schema::Entry::Payload::NOTE: {
      auto e = p.getNote();
      MB_RETURN_IF_ERROR(r.Public("subject", e.getSubject()));
      MB_RETURN_IF_ERROR(r.FreeText("memo", e.hasMemo(), e.getMemo(), e.hasMemoCommitment(), false));
      return r.NonNegative("amount", e.getAmount());
    }
    case schema::Entry::Payload::REVERSAL: {
      auto e = p.getReversal();
      return r.FreeText("reason", e.hasReason(), e.getReason(), e.hasReasonCommitment(), true);
    }
    case schema::Entry::Payload::ERASURE: {
      auto e = p.getErasure();
      if (e.getPart() < 1 || e.getPart() > e.getParts()) return r.Bad("part", "must be 1..parts");
      return r.Public("reason", e.getReason());
    }
    case schema::Entry::Payload::PUBLICATION_POLICY_SET:
      if (p.getPublicationPolicySet().getIndividuals() == schema::Display::NAME) {
        return r.Bad("individuals", "individuals' names are never published: initials or anonymous");
      }
      return Status::Ok();
    case schema::Entry::Payload::GUARDIAN_REGISTERED:
      return Status::Ok();
    case schema::Entry::Payload::FUND_OPENED:
      if (p.getFundOpened().getCurrency() != "VND") {
        return r.Bad("currency", "only VND (no minor unit) is supported, got '" +
                                     std::string(p.getFundOpened().getCurrency().cStr()) + "'");
      }
      return Status::Ok();
    case schema::Entry::Payload::PROGRAMME_OPENED: {
      auto e = p.getProgrammeOpened();
      if (e.hasReceiveFrom()) MB_RETURN_IF_ERROR(r.Date("receive_from", e.getReceiveFrom()));
      if (e.hasReceiveUntil()) MB_RETURN_IF_ERROR(r.Date("receive_until", e.getReceiveUntil()));
      if (e.hasReceiveFrom() && e.hasReceiveUntil() && e.getReceiveUntil() < e.getReceiveFrom()) {
        return r.Bad("receive_until", "is before receive_from");
      }
      return Status::Ok();
    }
    case schema::Entry::Payload::PROGRAMME_CLOSED: {
      auto e = p.getProgrammeClosed();
      return r.FreeText("reason", e.hasReason(), e.getReason(), e.hasReasonCommitment(), true);
    }
    case schema::Entry::Payload::DONOR_REGISTERED: {
      auto e = p.getDonorRegistered();
      if (e.getKind() == schema::DonorKind::INDIVIDUAL && e.hasDisplayName()) {
        return r.Bad("display_name", "an individual's name is personal data: give it as 'name' (kept in the vault; "
                                     "shown as the fund's publication policy says)");
      }
      if (e.hasDisplayName()) return r.Public("display_name", e.getDisplayName());
      return Status::Ok();
    }
    case schema::Entry::Payload::CHILD_REGISTERED: {
      auto e = p.getChildRegistered();
      MB_RETURN_IF_ERROR(r.Month("birth_month", e.getBirthMonth()));
      size_t dots = 0;
      for (char c : std::string_view(e.getArea().cStr(), e.getArea().size())) {
        if (!((c >= '0' && c <= '9') || c == '.')) return r.Bad("area", "must be an administrative code like 51.522");
        dots += c == '.';
      }
      if (dots > 1) {
        return r.Bad("area", "a commune code places a child too closely for a public log: give province.district "
                             "(e.g. 51.522); the commune stays in the child's file outside the ledger");
      }
      if (e.getCategories().size() == 0) return r.Bad("categories", "at least one circumstance is required");
      std::set<uint16_t> seen;
      for (auto c : e.getCategories()) {
        if (!seen.insert(static_cast<uint16_t>(c)).second) return r.Bad("categories", "lists a circumstance twice");
      }
      return Status::Ok();
    }
    case schema::Entry::Payload::DONATION_RECEIVED: {
      auto e = p.getDonationReceived();
      MB_RETURN_IF_ERROR(r.Date("value_date", e.getValueDate()));
      MB_RETURN_IF_ERROR(r.Restricted(e.getRestriction(), e.hasRestrictedTo(), "restricted_to"));
      if (e.isCash()) return r.Positive("cash.amount", e.getCash().getAmount());
      auto k = e.getInKind();
      MB_RETURN_IF_ERROR(r.FreeText("in_kind.valuation_basis", k.hasValuationBasis(), k.getValuationBasis(),
                                    k.hasValuationBasisCommitment(), true));
      MB_RETURN_IF_ERROR(r.Positive("in_kind.quantity", e.getInKind().getQuantity()));
      return r.NonNegative("in_kind.unit_value", e.getInKind().getUnitValue());
    }
    case schema::Entry::Payload::SPONSORSHIP_AGREED: {
      auto e = p.getSponsorshipAgreed();
      MB_RETURN_IF_ERROR(r.Positive("monthly_amount", e.getMonthlyAmount()));
      MB_RETURN_IF_ERROR(r.Month("first_month", e.getFirstMonth()));
      if (e.hasLastMonth()) {
        MB_RETURN_IF_ERROR(r.Month("last_month", e.getLastMonth()));
        if (e.getLastMonth() < e.getFirstMonth()) return r.Bad("last_month", "is before first_month");
      }
      if (e.getPaymentDay() < 1 || e.getPaymentDay() > 28) return r.Bad("payment_day", "must be 1..28");
      return Status::Ok();
    }
    case schema::Entry::Payload::SPONSORSHIP_ENDED: {
      auto e = p.getSponsorshipEnded();
      MB_RETURN_IF_ERROR(r.FreeText("reason", e.hasReason(), e.getReason(), e.hasReasonCommitment(), true));
      return r.Month("last_month", e.getLastMonth());
    }
    case schema::Entry::Payload::ALLOCATION: {
      auto e = p.getAllocation();
      MB_RETURN_IF_ERROR(r.Positive("amount", e.getAmount()));
      MB_RETURN_IF_ERROR(r.FreeText("memo", e.hasMemo(), e.getMemo(), e.hasMemoCommitment(), false));
      if (e.getFromFund() == e.getToFund()) return r.Bad("to_fund", "is the same fund as from_fund");
      return r.Restricted(e.getRestriction(), e.hasRestrictedTo(), "restricted_to");
    }
    case schema::Entry::Payload::DISBURSEMENT: {
      auto e = p.getDisbursement();
      MB_RETURN_IF_ERROR(r.NonNegative("amount", e.getAmount()));
      MB_RETURN_IF_ERROR(r.FreeText("override_reason", e.hasOverrideReason(), e.getOverrideReason(),
                                    e.hasOverrideReasonCommitment(), false));
      if (e.hasItem() != (e.getQuantity() != 0)) return r.Bad("quantity", "item and quantity go together");
      MB_RETURN_IF_ERROR(r.NonNegative("quantity", e.getQuantity()));
      if (e.getAmount() == 0 && !e.hasItem()) return r.Bad("amount", "a disbursement pays an amount or gives goods");
      if (e.hasMonth()) MB_RETURN_IF_ERROR(r.Month("month", e.getMonth()));
      if (e.getPaidFrom() == schema::Restriction::PROGRAMME && !e.hasProgramme()) {
        return r.Bad("programme", "required when paid_from is programme");
      }
      using K = schema::DisbursementKind;
      if (e.getKind() == K::SPONSORSHIP_INSTALMENT && (!e.hasSponsorship() || !e.hasMonth())) {
        return r.Bad(e.hasSponsorship() ? "month" : "sponsorship", "required for a sponsorship instalment");
      }
      if (e.getKind() == K::MONTHLY_ALLOWANCE && !e.hasMonth()) return r.Bad("month", "required for a monthly allowance");
      if (e.getKind() == K::IN_KIND_DISTRIBUTION && !e.hasItem()) return r.Bad("item", "required for an in-kind distribution");
      return Status::Ok();
    }
    case schema::Entry::Payload::SPONSORSHIP_AMENDED: {
      auto e = p.getSponsorshipAmended();
      MB_RETURN_IF_ERROR(r.FreeText("reason", e.hasReason(), e.getReason(), e.hasReasonCommitment(), true));
      MB_RETURN_IF_ERROR(r.Month("effective_month", e.getEffectiveMonth()));
      MB_RETURN_IF_ERROR(r.NonNegative("monthly_amount", e.getMonthlyAmount()));
      if (e.hasLastMonth()) MB_RETURN_IF_ERROR(r.Month("last_month", e.getLastMonth()));
      if (e.getPaymentDay() > 28) return r.Bad("payment_day", "must be 1..28 (or 0: unchanged)");
      if (e.getMonthlyAmount() == 0 && !e.hasLastMonth() && e.getPaymentDay() == 0) {
        return r.Bad("monthly_amount", "an amendment changes at least one of monthly_amount, last_month, payment_day");
      }
      return Status::Ok();
    }
    case schema::Entry::Payload::ALLOWANCE_RATE_SET: {
      auto e = p.getAllowanceRateSet();
      MB_RETURN_IF_ERROR(r.Month("effective_from", e.getEffectiveFrom()));
      return r.Positive("base_amount", e.getBaseAmount());
    }
    case schema::Entry::Payload::ENTITLEMENT_DETERMINED: {
      auto e = p.getEntitlementDetermined();
      MB_RETURN_IF_ERROR(r.Month("from_month", e.getFromMonth()));
      if (e.hasToMonth()) {
        MB_RETURN_IF_ERROR(r.Month("to_month", e.getToMonth()));
        if (e.getToMonth() < e.getFromMonth()) return r.Bad("to_month", "is before from_month");
      }
      if (e.getCoefficientMilli() > 100'000) {
        return r.Bad("coefficient_milli", "must be 0..100000 (the coefficient x 1000, e.g. 2500 for 2.5; 0 ends an entitlement)");
      }
      return Status::Ok();
    }
    case schema::Entry::Payload::EXPENSE: {
      auto e = p.getExpense();
      MB_RETURN_IF_ERROR(r.Positive("amount", e.getAmount()));
      MB_RETURN_IF_ERROR(r.FreeText("description", e.hasDescription(), e.getDescription(), e.hasDescriptionCommitment(), true));
      if (e.hasValueDate()) MB_RETURN_IF_ERROR(r.Date("value_date", e.getValueDate()));
      if (e.getPaidFrom() == schema::Restriction::CHILD) return r.Bad("paid_from", "expenses cannot use a child's money");
      if ((e.getPaidFrom() == schema::Restriction::PROGRAMME) != e.hasProgramme()) {
        return r.Bad("programme", "required exactly when paid_from is programme");
      }
      return Status::Ok();
    }
  }
  return Status::InvalidArgument((line ? "line " + std::to_string(line) + ": " : std::string()) + "unknown event type");
}

}  // namespace minhbach
