#include "demo.h"

#include <string>

namespace minhbach::demo {

std::vector<EventDraft> DemoEvents() {
  // Figures follow published reports of provincial child-sponsorship funds: sponsorships of 2,000,000 VND a
  // month for children orphaned by Covid-19, and one-off support of 1,000,000 VND per child (Resolution 68).
  struct Row {
    const char* subject;
    int64_t amount;
    const char* memo;
  };
  static const Row kRows[] = {
      {"Donation received: Cong ty TNHH Minh Phat", 240'000'000, "Bank transfer, ref FT24256001, for Covid orphans"},
      {"Donation received: anonymous", 500'000, "Bank transfer, ref FT24256002"},
      {"Donation received: Hoi Chu thap do tinh", 48'000'000, "Restricted: sponsorship of child C-0007"},
      {"Sponsorship agreed: child C-0001", 2'000'000, "2,000,000 VND/month until the month the child turns 18"},
      {"Sponsorship agreed: child C-0007", 2'000'000, "2,000,000 VND/month until the month the child turns 18"},
      {"Sponsorship instalment: child C-0001, 2022-06", 2'000'000, "Paid via guardian G-0001"},
      {"Sponsorship instalment: child C-0007, 2022-06", 2'000'000, "Paid via guardian G-0007"},
      {"One-off support (Resolution 68/NQ-CP): child C-0102", 1'000'000, "Group payment 2021-09"},
      {"One-off support (Resolution 68/NQ-CP): child C-0103", 1'000'000, "Group payment 2021-09"},
      {"Gift in kind: bicycle to child C-0220", 1'800'000, "Declared value, school year 2022-2023"},
      {"Savings book: child C-0231", 10'000'000, "Opened at the provincial social policy bank"},
      {"Expense: bank fees 2022-06", 22'000, "Transfer fees"},
      {"One-off support (Resolution 68/NQ-CP): child C-0104", 1'000'000, "Group payment 2021-09, corrected"},
  };
  std::vector<EventDraft> out;
  int i = 0;
  for (const Row& r : kRows) {
    char key[32];
    std::snprintf(key, sizeof key, "demo-%04d", ++i);
    out.push_back(EventDraft{key, NoteEvent{r.subject, r.amount, r.memo}, 0});
    if (i == 12) {
      // A correction: entry 8 paid the wrong child. It is reversed (never edited) and recorded again.
      std::snprintf(key, sizeof key, "demo-%04d", ++i);
      out.push_back(EventDraft{key, ReversalEvent{8, "Recorded for the wrong child; correct child is C-0104"}, 0});
    }
  }
  return out;
}

}  // namespace minhbach::demo
