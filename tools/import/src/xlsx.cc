// XLSX input: converted by Debian's xlsx2csv, run as a subprocess (no shell), into a temporary CSV.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "minhbach/import.h"

extern char** environ;

namespace minhbach::import {

TempFile::~TempFile() {
  if (!path_.empty()) ::unlink(path_.c_str());
}

bool IsXlsx(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  in.read(magic, 4);
  return in.gcount() == 4 && std::memcmp(magic, "PK\x03\x04", 4) == 0;  // a zip archive: OOXML
}

namespace {

Result<TempFile> MakeTemp(const char* suffix) {
  const char* dir = std::getenv("TMPDIR");
  std::string tmpl = std::string(dir && *dir ? dir : "/tmp") + "/minhbach-import-XXXXXX" + suffix;
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  int fd = ::mkstemps(buf.data(), static_cast<int>(std::strlen(suffix)));
  if (fd < 0) return Status::IOError(std::string("creating a temporary file: ") + std::strerror(errno));
  ::close(fd);
  return TempFile(std::string(buf.data()));
}

}  // namespace

Result<TempFile> XlsxToCsv(const std::string& xlsx_path, const std::string& date_format) {
  MB_ASSIGN_OR_RETURN(TempFile csv, MakeTemp(".csv"));
  MB_ASSIGN_OR_RETURN(TempFile err, MakeTemp(".err"));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, err.path().c_str(), O_WRONLY | O_TRUNC, 0);
  // xlsx2csv [-f DATEFORMAT] -- XLSX CSV: the first sheet; date cells written with DATEFORMAT.
  std::vector<std::string> args = {"xlsx2csv", "-f", date_format, "--", xlsx_path, csv.path()};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, "xlsx2csv", &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    return Status::InvalidArgument("cannot run xlsx2csv to read '" + xlsx_path + "' (" + std::strerror(rc) +
                                   "): install Debian's xlsx2csv package (scripts/install-deps.sh), or save the sheet as CSV");
  }
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    std::ifstream in(err.path());
    std::stringstream ss;
    ss << in.rdbuf();
    std::string msg = ss.str();
    if (msg.size() > 400) msg = "..." + msg.substr(msg.size() - 400);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    return Status::InvalidArgument("xlsx2csv could not convert '" + xlsx_path + "': " + (msg.empty() ? "exit status " + std::to_string(WEXITSTATUS(wstatus)) : msg));
  }
  return csv;
}

}  // namespace minhbach::import
