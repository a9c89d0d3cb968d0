// The administrators' workbook, written with libxlsxwriter (Debian libxlsxwriter-dev).
#include <xlsxwriter.h>

#include <cstdio>
#include <ctime>
#include <filesystem>

#include "cli_util.h"
#include "minhbach/exports.h"
#include "minhbach/privacy.h"

namespace minhbach::exports {
namespace {

constexpr Amount kExactInDouble = Amount{1} << 53;  // every integer up to 2^53 is exact in an IEEE double
constexpr size_t kColumnWidthMax = 60;

struct Formats {
  lxw_format* bold = nullptr;
  lxw_format* vnd = nullptr;
  lxw_format* wrap = nullptr;
};

// Writes a table: bold, frozen header row, amounts as numbers in the #,##0 format, widths from the content.
void WriteSheet(lxw_workbook* wb, const Sheet& sh, const Formats& fm) {
  lxw_worksheet* ws = workbook_add_worksheet(wb, sh.name.c_str());
  std::vector<size_t> width(sh.header.size(), 8);
  for (size_t c = 0; c < sh.header.size(); ++c) {
    worksheet_write_string(ws, 0, static_cast<lxw_col_t>(c), sh.header[c].c_str(), fm.bold);
    width[c] = std::max(width[c], cli::DisplayWidth(sh.header[c]) + 2);
  }
  for (size_t r = 0; r < sh.rows.size(); ++r) {
    const auto row = static_cast<lxw_row_t>(r + 1);
    for (size_t c = 0; c < sh.rows[r].size() && c < sh.header.size(); ++c) {
      const std::string& v = sh.rows[r][c];
      const auto col = static_cast<lxw_col_t>(c);
      bool amount = c < sh.amount_cols.size() && sh.amount_cols[c] && !v.empty();
      Amount a = amount ? std::stoll(v) : 0;
      if (amount && a <= kExactInDouble && a >= -kExactInDouble) {
        // The one conversion of an amount to double: an XLSX number is an IEEE double, exact at this size.
        worksheet_write_number(ws, row, col, static_cast<double>(a), fm.vnd);
        width[c] = std::max(width[c], v.size() + v.size() / 3 + 2);
      } else {
        worksheet_write_string(ws, row, col, v.c_str(), nullptr);
        width[c] = std::max(width[c], cli::DisplayWidth(v) + 2);
      }
    }
  }
  for (size_t c = 0; c < width.size(); ++c) {
    worksheet_set_column(ws, static_cast<lxw_col_t>(c), static_cast<lxw_col_t>(c),
                         static_cast<double>(std::min(width[c], kColumnWidthMax)), nullptr);
  }
  worksheet_freeze_panes(ws, 1, 0);
}

Sheet BalancesSheet(const std::vector<BalanceRow>& rows) {
  Sheet sh{"Balances",
           {"fund", "subaccount", "received", "allocated_in", "allocated_out", "disbursed", "expensed", "balance"},
           {false, false, true, true, true, true, true, true},
           {}};
  auto s = [](Amount a) { return std::to_string(a); };
  for (const auto& r : rows) {
    sh.rows.push_back({r.fund, r.subaccount, s(r.received), s(r.allocated_in), s(r.allocated_out), s(r.disbursed),
                       s(r.expensed), s(r.balance)});
  }
  return sh;
}

Result<Sheet> ProgrammesSheet(const Snapshot& s, const std::string& fund) {
  Sheet sh{"Programmes",
           {"programme", "name", "closed", "received", "allocated_in", "allocated_out", "disbursed", "expensed",
            "disbursements", "children_reached", "in_kind_value", "share_to_children_permille"},
           {false, false, false, true, true, true, true, true, false, false, true, false},
           {}};
  for (const auto& [id, p] : s.facts().programmes) {
    if (p.fund != fund) continue;
    MB_ASSIGN_OR_RETURN(ProgrammeReport r, s.models().Programme(id));
    auto a = [](Amount v) { return std::to_string(v); };
    sh.rows.push_back({id, r.name, r.closed ? "yes" : "no", a(r.received), a(r.allocated_in), a(r.allocated_out),
                       a(r.disbursed), a(r.expensed), std::to_string(r.disbursements),
                       PublicCount(r.children_reached), a(r.in_kind_value),
                       r.share_to_children_permille < 0 ? "" : std::to_string(r.share_to_children_permille)});
  }
  return sh;
}

Result<Sheet> SponsorshipsSheet(const Snapshot& s, const std::string& fund, const std::string& as_of) {
  MB_ASSIGN_OR_RETURN(auto rows, s.models().Sponsorships("", as_of));
  Sheet sh{"Sponsorships",
           {"sponsorship", "child", "sponsor", "first_month", "last_month", "ended", "as_of", "months_due",
            "months_paid", "months_missing", "owed", "committed"},
           {false, false, false, false, false, false, false, false, false, false, true, true},
           {}};
  for (const auto& r : rows) {
    if (r.fund != fund) continue;
    sh.rows.push_back({r.id, r.child, r.sponsor, r.first_month, r.last_month, r.ended ? "yes" : "no", as_of,
                       std::to_string(r.months_due), std::to_string(r.months_paid), std::to_string(r.missing.size()),
                       std::to_string(r.owed), std::to_string(r.committed)});
  }
  return sh;
}

// Seconds since the epoch of an RFC 3339 time "YYYY-MM-DDTHH:MM:SS+hh:mm".
time_t EpochOf(const std::string& t) {
  std::tm tm{};
  if (t.size() < 25 || !strptime(t.substr(0, 19).c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return 0;
  int sign = t[19] == '-' ? -1 : 1;
  int offset = sign * (std::stoi(t.substr(20, 2)) * 3600 + std::stoi(t.substr(23, 2)) * 60);
  return timegm(&tm) - offset;
}

void WriteInfo(lxw_workbook* wb, const Snapshot& s, const Filter& f, const Formats& fm) {
  lxw_worksheet* ws = workbook_add_worksheet(wb, "Info");
  std::vector<std::pair<std::string, std::string>> rows = {
      {"ledger origin", s.origin()},
      {"tree size (entries covered)", std::to_string(s.size())},
      {"root hash (base64)", s.root_b64()},
      {"data as of (last entry recorded)", s.as_of_time()},
      {"fund", f.fund + " — " + s.facts().funds.at(f.fund).name},
      {"period", (f.from.empty() ? "start" : f.from) + " .. " + (f.to.empty() ? "checkpoint" : f.to)},
      {"signed checkpoint", s.checkpoint_note()},
      {"verify", "minhbach-verify BUNDLE --key VERIFIER-KEY (bundle from `minhbach export --to DIR`); "
                 "a child's entries: `minhbach prove child ID`"},
  };
  worksheet_write_string(ws, 0, 0, "item", fm.bold);
  worksheet_write_string(ws, 0, 1, "value", fm.bold);
  for (size_t i = 0; i < rows.size(); ++i) {
    worksheet_write_string(ws, static_cast<lxw_row_t>(i + 1), 0, rows[i].first.c_str(), nullptr);
    worksheet_write_string(ws, static_cast<lxw_row_t>(i + 1), 1, rows[i].second.c_str(), fm.wrap);
  }
  worksheet_set_column(ws, 0, 0, 34, nullptr);
  worksheet_set_column(ws, 1, 1, 100, nullptr);
  worksheet_freeze_panes(ws, 1, 0);
}

}  // namespace

Status WriteXlsx(const Snapshot& s, const Filter& f, const std::string& path) {
  MB_RETURN_IF_ERROR(CheckFilter(s, f));
  MB_ASSIGN_OR_RETURN(auto balances, s.models().Balances(f.fund));
  std::vector<Sheet> sheets;
  sheets.push_back(BalancesSheet(balances));
  MB_ASSIGN_OR_RETURN(Sheet st, StatementSheet(s, f));
  sheets.push_back(std::move(st));
  MB_ASSIGN_OR_RETURN(Sheet di, DisbursementsSheet(s, f));
  sheets.push_back(std::move(di));
  MB_ASSIGN_OR_RETURN(Sheet ch, ChildrenSheet(s, f));
  sheets.push_back(std::move(ch));
  MB_ASSIGN_OR_RETURN(Sheet pr, ProgrammesSheet(s, f.fund));
  sheets.push_back(std::move(pr));
  MB_ASSIGN_OR_RETURN(Sheet sp, SponsorshipsSheet(s, f.fund, s.as_of_time().substr(0, 7)));
  sheets.push_back(std::move(sp));

  const std::string partial = path + ".partial";
  lxw_workbook* wb = workbook_new(partial.c_str());
  if (!wb) return Status::IOError("cannot create " + partial);
  Formats fm;
  fm.bold = workbook_add_format(wb);
  format_set_bold(fm.bold);
  fm.vnd = workbook_add_format(wb);
  format_set_num_format(fm.vnd, "#,##0");
  fm.wrap = workbook_add_format(wb);
  format_set_text_wrap(fm.wrap);
  lxw_doc_properties props{};
  std::string title = "minhbach " + f.fund;
  props.title = title.data();
  props.created = EpochOf(s.as_of_time());  // not the current time: the same ledger state gives the same file
  workbook_set_properties(wb, &props);
  for (const auto& sh : sheets) WriteSheet(wb, sh, fm);
  WriteInfo(wb, s, f, fm);
  lxw_error err = workbook_close(wb);
  if (err != LXW_NO_ERROR) {
    std::remove(partial.c_str());
    return Status::IOError("writing " + path + ": " + lxw_strerror(err));
  }
  std::error_code ec;
  std::filesystem::rename(partial, path, ec);
  if (ec) return Status::IOError("renaming " + partial + " to " + path + ": " + ec.message());
  return Status::Ok();
}

}  // namespace minhbach::exports
