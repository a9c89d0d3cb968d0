// statement_gen: writes a synthetic bank statement (statement_gen.h) for benchmarks and manual tests.
//   statement_gen --layout A|B --rows N [--seed S] [--persons N] [--drop-row N] [--wrong-balance-row N] [--lf]
//                 [--no-bom] [--no-summary] [--personal-data LIST] --out FILE
// LIST receives the personal data written into the statement, one value a line: "name<TAB>...",
// "account<TAB>...", "phone<TAB>..." (to check that an import leaves none of it in the log).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "statement_gen.h"

// The personal data the statement holds, one value a line: "name\t...", "account\t...", "phone\t...".
static bool WriteList(const std::string& path, const minhbach::bench::StatementGenResult& r) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  for (const auto& v : r.names) std::fprintf(f, "name\t%s\n", v.c_str());
  for (const auto& v : r.accounts) std::fprintf(f, "account\t%s\n", v.c_str());
  for (const auto& v : r.phones) std::fprintf(f, "phone\t%s\n", v.c_str());
  return std::fclose(f) == 0;
}

int main(int argc, char** argv) {
  minhbach::bench::StatementGenOptions o;
  std::string out, list;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "statement_gen: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--layout") {
      std::string v = value();
      if (v != "A" && v != "B") {
        std::fprintf(stderr, "statement_gen: --layout must be A or B\n");
        return 2;
      }
      o.layout = v[0];
    } else if (a == "--rows") {
      o.rows = std::strtoull(value().c_str(), nullptr, 10);
    } else if (a == "--seed") {
      o.seed = std::strtoull(value().c_str(), nullptr, 10);
    } else if (a == "--persons") {
      o.persons = std::strtoull(value().c_str(), nullptr, 10);
      if (o.persons == 0 || o.persons > 10000) {
        std::fprintf(stderr, "statement_gen: --persons must be 1..10000\n");
        return 2;
      }
    } else if (a == "--personal-data") {
      list = value();
    } else if (a == "--drop-row") {
      o.drop_row = std::strtoull(value().c_str(), nullptr, 10);
    } else if (a == "--wrong-balance-row") {
      o.wrong_balance_row = std::strtoull(value().c_str(), nullptr, 10);
    } else if (a == "--lf") {
      o.crlf = false;
    } else if (a == "--no-bom") {
      o.bom = false;
    } else if (a == "--no-summary") {
      o.summary = false;
    } else if (a == "--out") {
      out = value();
    } else {
      std::fprintf(stderr, "usage: statement_gen --layout A|B --rows N [--seed S] [--persons N] [--drop-row N] "
                           "[--wrong-balance-row N] [--lf] [--no-bom] [--no-summary] [--personal-data LIST] --out FILE\n");
      return 2;
    }
  }
  if (out.empty()) {
    std::fprintf(stderr, "statement_gen: --out FILE is required\n");
    return 2;
  }
  minhbach::bench::StatementGenResult r;
  if (!minhbach::bench::WriteStatement(out, o, &r)) {
    std::fprintf(stderr, "statement_gen: cannot write %s\n", out.c_str());
    return 3;
  }
  if (!list.empty() && !WriteList(list, r)) {
    std::fprintf(stderr, "statement_gen: cannot write %s\n", list.c_str());
    return 3;
  }
  std::printf("%s: %llu rows (%llu credits, %llu debits), credits %lld, debits %lld, closing balance %lld\n", out.c_str(),
              static_cast<unsigned long long>(r.credits + r.debits), static_cast<unsigned long long>(r.credits),
              static_cast<unsigned long long>(r.debits), static_cast<long long>(r.credit_sum),
              static_cast<long long>(r.debit_sum), static_cast<long long>(r.closing));
  std::printf("personal data written: %zu names, %zu account numbers, %zu phone numbers\n",
              r.names.size(), r.accounts.size(), r.phones.size());
  return 0;
}
