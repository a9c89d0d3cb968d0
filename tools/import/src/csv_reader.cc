// CsvReader: a streaming RFC 4180 reader over libcsv (Debian libcsv-dev). See docs/import.md "CSV".
#include <csv.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>

#include "minhbach/import.h"

namespace minhbach::import {

struct CsvReader::State {
  csv_parser parser{};
  bool parser_ready = false;
  std::vector<std::string> current;          // cells of the record being parsed
  std::deque<std::vector<std::string>> ready;  // complete records not yet returned
  uint64_t records_parsed = 0;
  std::string error;                         // the first limit broken inside a callback
  std::vector<char> buf = std::vector<char>(kCsvChunkBytes);
  ~State() {
    if (parser_ready) csv_free(&parser);
  }
};

namespace {

void OnField(void* s, size_t len, void* data) {
  auto* st = static_cast<CsvReader::State*>(data);
  if (!st->error.empty()) return;
  if (len > kCsvFieldBytesMax) {
    st->error = "record " + std::to_string(st->records_parsed + 1) + ": a cell of " + std::to_string(len) +
                " bytes, limit " + std::to_string(kCsvFieldBytesMax);
    return;
  }
  if (st->current.size() == kCsvFieldsMax) {
    st->error = "record " + std::to_string(st->records_parsed + 1) + ": more than " + std::to_string(kCsvFieldsMax) + " cells";
    return;
  }
  st->current.emplace_back(s ? static_cast<const char*>(s) : "", s ? len : 0);
}

void OnRecord(int, void* data) {
  auto* st = static_cast<CsvReader::State*>(data);
  ++st->records_parsed;
  st->ready.push_back(std::move(st->current));
  st->current.clear();
}

bool AllEmpty(const std::vector<std::string>& cells) {
  for (const auto& c : cells) {
    if (c.find_first_not_of(" \t\r\n") != std::string::npos) return false;
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<CsvReader>> CsvReader::Open(const std::string& path, char delimiter) {
  std::unique_ptr<CsvReader> r(new CsvReader());
  r->fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (r->fd_ < 0) return Status::InvalidArgument("cannot open '" + path + "': " + std::strerror(errno));
  struct stat sb {};
  if (::fstat(r->fd_, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    return Status::InvalidArgument("'" + path + "' is not a regular file");
  }
  r->file_bytes_ = static_cast<uint64_t>(sb.st_size);
  r->st_ = std::make_unique<State>();
  if (csv_init(&r->st_->parser, CSV_STRICT | CSV_STRICT_FINI) != 0) return Status::Internal("csv_init failed");
  r->st_->parser_ready = true;
  csv_set_delim(&r->st_->parser, static_cast<unsigned char>(delimiter));
  return r;
}

CsvReader::~CsvReader() {
  if (fd_ >= 0) ::close(fd_);
}

Status CsvReader::Fill() {
  State& st = *st_;
  ssize_t n;
  do {
    n = ::read(fd_, st.buf.data(), st.buf.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) return Status::IOError(std::string("reading the file: ") + std::strerror(errno));
  const char* p = st.buf.data();
  size_t len = static_cast<size_t>(n);
  if (bytes_read_ == 0 && len >= 3 && std::memcmp(p, "\xEF\xBB\xBF", 3) == 0) {  // UTF-8 byte order mark
    p += 3;
    len -= 3;
  }
  bytes_read_ += static_cast<uint64_t>(n);
  if (n == 0) {
    eof_ = true;
    if (csv_fini(&st.parser, OnField, OnRecord, &st) != 0) {
      return Status::InvalidArgument("record " + std::to_string(st.records_parsed + 1) +
                                     ": the file ends inside a quoted cell (an opening \" is never closed)");
    }
    return Status::Ok();
  }
  if (csv_parse(&st.parser, p, len, OnField, OnRecord, &st) != len) {
    return Status::InvalidArgument("record " + std::to_string(st.records_parsed + 1) +
                                   ": malformed CSV quoting (" + csv_strerror(csv_error(&st.parser)) +
                                   "): a quote inside an unquoted cell, or text after a closing quote");
  }
  if (!st.error.empty()) return Status::InvalidArgument(st.error);
  return Status::Ok();
}

Result<bool> CsvReader::Next(std::vector<std::string>* fields) {
  State& st = *st_;
  while (true) {
    while (st.ready.empty() && !eof_) MB_RETURN_IF_ERROR(Fill());
    if (!st.error.empty()) return Status::InvalidArgument(st.error);
    if (st.ready.empty()) return false;
    *fields = std::move(st.ready.front());
    st.ready.pop_front();
    ++record_;
    if (!AllEmpty(*fields)) return true;
  }
}

Result<Hash> FileSha256(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::InvalidArgument("cannot open '" + path + "': " + std::strerror(errno));
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1) {
    ::close(fd);
    EVP_MD_CTX_free(ctx);
    return Status::Internal("SHA-256 init failed");
  }
  std::vector<char> buf(1 << 20);
  Status s;
  while (true) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      s = Status::IOError("reading '" + path + "': " + std::strerror(errno));
      break;
    }
    if (n == 0) break;
    if (EVP_DigestUpdate(ctx, buf.data(), static_cast<size_t>(n)) != 1) {
      s = Status::Internal("SHA-256 update failed");
      break;
    }
  }
  ::close(fd);
  Hash h{};
  unsigned int len = 0;
  if (s.ok() && (EVP_DigestFinal_ex(ctx, h.data(), &len) != 1 || len != kHashSize)) s = Status::Internal("SHA-256 final failed");
  EVP_MD_CTX_free(ctx);
  if (!s.ok()) return s;
  return h;
}

}  // namespace minhbach::import
