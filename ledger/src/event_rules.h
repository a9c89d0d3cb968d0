// Internal: stateless rules on one event's fields (checked when a line is parsed): formats of months and
// dates, positive amounts, fields that must come together. Stateful invariants (balances, existence of
// funds, children, sponsorships) are in domain.h.
#pragma once

#include "entry.capnp.h"
#include "minhbach/status.h"

namespace minhbach {

// InvalidArgument "line N: field 'data.x': ..." on the first broken rule (no line prefix when line is 0:
// the decoder applies the same rules to stored entries and reports them as Corruption).
Status ValidateEventFields(schema::Entry::Payload::Reader p, size_t line);

}  // namespace minhbach
