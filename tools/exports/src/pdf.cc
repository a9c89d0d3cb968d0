// PDF from the report's HTML: headless Chromium (Debian package chromium) run as a subprocess in a temporary
// folder that holds the page, the browser profile and the output, and is removed afterwards.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "cli_util.h"
#include "minhbach/exports.h"

extern char** environ;

namespace minhbach::exports {
namespace {

namespace fs = std::filesystem;

class TempFolder {
 public:
  TempFolder() {
    std::string pattern = (fs::temp_directory_path() / "minhbach-pdf-XXXXXX").string();
    if (::mkdtemp(pattern.data())) path_ = pattern;
  }
  ~TempFolder() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Runs argv with HOME set to `home`, stdout and stderr into `log_path`; its own process group, so a timeout
// ends the browser's helper processes too. Returns the exit status, or -1 on timeout.
Result<int> Run(const std::vector<std::string>& argv, const std::string& home, const std::string& log_path,
                int timeout_seconds) {
  std::vector<std::string> env_store;
  for (char** e = environ; *e; ++e) {
    if (std::string_view(*e).substr(0, 5) != "HOME=") env_store.emplace_back(*e);
  }
  env_store.push_back("HOME=" + home);
  std::vector<char*> env, args;
  for (auto& s : env_store) env.push_back(s.data());
  env.push_back(nullptr);
  std::vector<std::string> argv_store = argv;
  for (auto& s : argv_store) args.push_back(s.data());
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return Status::IOError("cannot start " + argv[0] + ": fork failed");
  if (pid == 0) {
    ::setpgid(0, 0);
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execve(args[0], args.data(), env.data());
    ::_exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  while (true) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      ::kill(-pid, SIGKILL);  // helpers left behind in the browser's own process group
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    }
    if (r < 0) return Status::IOError("waiting for " + argv[0] + " failed");
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

std::string Tail(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > 600 ? s.substr(s.size() - 600) : s;
}

}  // namespace

Status HtmlToPdf(const std::string& html, const std::string& pdf_path, const PdfOptions& o,
                 std::shared_ptr<spdlog::logger> log) {
  if (::access(o.chromium.c_str(), X_OK) != 0) {
    return Status::IOError("cannot make a PDF: " + o.chromium +
                           " not found (install the Debian package chromium), or use --format html");
  }
  TempFolder tmp;
  if (tmp.path().empty()) return Status::IOError("cannot create a temporary folder for the PDF");
  const std::string page = tmp.path() + "/report.html", out = tmp.path() + "/report.pdf";
  MB_RETURN_IF_ERROR(cli::WriteFileAtomically(page, html, 0600));
  std::vector<std::string> argv = {o.chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                   "--disable-background-networking", "--disable-component-update", "--disable-sync",
                                   "--disable-dev-shm-usage", "--user-data-dir=" + tmp.path() + "/profile",
                                   "--print-to-pdf=" + out, "--no-pdf-header-footer", "file://" + page};
  log->info("rendering the PDF with {}", o.chromium);
  MB_ASSIGN_OR_RETURN(int rc, Run(argv, tmp.path(), tmp.path() + "/chromium.log", o.timeout_seconds));
  if (rc == -1) return Status::IOError("chromium did not finish within " + std::to_string(o.timeout_seconds) + " s");
  std::error_code ec;
  if (rc != 0 || !fs::exists(out, ec) || fs::file_size(out, ec) == 0) {
    return Status::IOError("chromium failed (exit " + std::to_string(rc) + ") to print the PDF: " +
                           Tail(tmp.path() + "/chromium.log"));
  }
  MB_ASSIGN_OR_RETURN(std::string pdf, cli::ReadTextFile(out, "PDF"));
  return cli::WriteFileAtomically(pdf_path, pdf, 0644);
}

}  // namespace minhbach::exports
