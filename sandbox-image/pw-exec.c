/*
 * pw-exec: the wrapper every sandbox command runs under.
 *
 *   pw-exec CAP -- command [args...]
 *
 * Runs the command with its stdout and stderr on pipes and relays at most CAP+1
 * bytes of each to its own stdout/stderr, discarding the rest inside the
 * container. A command that floods its output (`yes`) therefore costs the worker
 * nothing: the bytes never cross the Docker connection, and the worker sees
 * CAP+1 bytes, which tells it the stream was truncated. The command is never
 * blocked by the cap (the rest is read and dropped), so `cat big-file` still ends.
 *
 * When the command exits, pw-exec drains the pipes for a short grace period and
 * then exits itself, so a background child that kept stdout open (`server &`)
 * does not hold the exec open. The exit status mirrors the command's: its exit
 * code, or 128+signal when it was killed (137 for SIGKILL, as Docker reports).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DRAIN_GRACE_MS 200

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return; /* the reader went away: keep draining, drop output */
    }
    buf += n;
    len -= (size_t)n;
  }
}

int main(int argc, char **argv) {
  if (argc < 4 || strcmp(argv[2], "--") != 0) {
    fprintf(stderr, "usage: pw-exec CAP -- command [args...]\n");
    return 125;
  }
  char *end = NULL;
  unsigned long long cap = strtoull(argv[1], &end, 10);
  if (end == argv[1] || *end != '\0') {
    fprintf(stderr, "pw-exec: bad cap\n");
    return 125;
  }
  unsigned long long limit = cap + 1;

  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    perror("pw-exec: pipe");
    return 125;
  }
  signal(SIGPIPE, SIG_IGN);
  pid_t child = fork();
  if (child < 0) {
    perror("pw-exec: fork");
    return 125;
  }
  if (child == 0) {
    signal(SIGPIPE, SIG_DFL);
    dup2(out[1], 1);
    dup2(err[1], 2);
    execvp(argv[3], &argv[3]);
    int code = errno == ENOENT ? 127 : 126;
    fprintf(stderr, "pw-exec: %s: %s\n", argv[3], strerror(errno));
    _exit(code);
  }
  close(out[1]);
  close(err[1]);

  struct pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int targets[2] = {1, 2};
  unsigned long long sent[2] = {0, 0};
  int open_count = 2;
  int status = 0;
  int exited = 0;
  long long exited_at = 0;
  static char buf[65536];

  while (open_count > 0) {
    if (!exited) {
      pid_t w = waitpid(child, &status, WNOHANG);
      if (w == child) {
        exited = 1;
        exited_at = now_ms();
      }
    }
    if (exited && now_ms() - exited_at >= DRAIN_GRACE_MS) break;
    int r = poll(fds, 2, exited ? 20 : 50);
    if (r < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; i++) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        open_count--;
        continue;
      }
      if (sent[i] < limit) {
        size_t room = (size_t)(limit - sent[i]);
        size_t take = (size_t)n < room ? (size_t)n : room;
        write_all(targets[i], buf, take);
        sent[i] += take;
      }
    }
  }
  if (!exited) {
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 125;
}
