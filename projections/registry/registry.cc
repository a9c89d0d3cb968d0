// Read model "registry": the ids other read models look up: donors' display names and kinds (d/, dk/),
// children's birth months (c/), each sponsorship's child (s/), opened funds (fd/), publication policies (pp/), erased subjects (x/).
#include "model.h"

namespace minhbach::rm {
namespace {

class Registry final : public Model {
 public:
  using Model::Model;
  Status Apply(const Event& e) override {
    const P::Reader& p = e.p;
    switch (p.which()) {
      case P::DONOR_REGISTERED: {
        auto d = p.getDonorRegistered();
        Put("d/" + K(S(d.getDonor())), d.hasDisplayName() ? S(d.getDisplayName()) : "");
        Put("dk/" + K(S(d.getDonor())), EnumName(d.getKind()));
        return Status::Ok();
      }
      case P::CHILD_REGISTERED:
        Put("c/" + K(S(p.getChildRegistered().getChild())), S(p.getChildRegistered().getBirthMonth()));
        return Status::Ok();
      case P::SPONSORSHIP_AGREED:
        Put("s/" + K(S(p.getSponsorshipAgreed().getSponsorship())), S(p.getSponsorshipAgreed().getChild()));
        return Status::Ok();
      case P::FUND_OPENED:
        Put("fd/" + K(S(p.getFundOpened().getFund())), S(p.getFundOpened().getName()));
        return Status::Ok();
      case P::ERASURE:  // the subject's personal data is gone: views say "erased" (the entry that erased it)
        if (p.getErasure().getPart() == 1) Put("x/" + K(S(p.getErasure().getSubject())), std::to_string(e.seq));
        return Status::Ok();
      case P::PUBLICATION_POLICY_SET: {  // the latest one of a fund applies
        auto pp = p.getPublicationPolicySet();
        Put("pp/" + K(S(pp.getFund())), EnumName(pp.getOrganisations()) + "," + EnumName(pp.getIndividuals()));
        return Status::Ok();
      }
      default:
        return Status::Ok();
    }
  }
  // Registrations stay known after a reversal: later entries may still name them.
  Status Reverse(const Reversal&) override { return Status::Ok(); }
};

}  // namespace

std::unique_ptr<Model> MakeRegistry(Kv& kv) { return std::make_unique<Registry>(kv); }

}  // namespace minhbach::rm
