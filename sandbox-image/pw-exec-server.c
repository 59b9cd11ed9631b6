/*
 * pw-exec-server: the exec server of the agent's container (issue 17).
 *
 * The worker starts it once per agent container through one Docker exec and sends
 * every later tool call over that exec's stdin/stdout, instead of a new Docker exec
 * per call (tens of milliseconds each). No socket, port or file is opened for it.
 * It runs as the agent's user, so the agent can kill or replace it: the worker
 * treats every answer as the agent's own word, kills through Docker (by the exec
 * marker in each command's environment), and falls back to Docker exec when the
 * server does not acknowledge a request in time (worker/sandbox/exec-server.ts).
 *
 * One request per line on stdin, one answer per line on stdout. Tokens are separated
 * by one space; byte strings are base64 ("-" for "no stdin").
 *
 *   PING <id>                                          -> PW <id> P
 *   RUN <id> <cap> <cwd> <argc> <argv>... <envc> <env>... <stdin>
 *                                                      -> PW <id> S   (started)
 *                                                      -> PW <id> R <exit> <stdout> <stderr>
 *
 * Each command runs like `pw-exec CAP -- command` under a Docker exec: in its own
 * session, with the container's environment (the server's own, minus its exec marker and
 * the proxy variables, which each request carries when the network needs them), BASH_ENV
 * and ENV emptied, plus the request's environment; stdout and stderr are kept up to CAP+1 bytes each and the rest is
 * read and dropped (the command is never blocked by the cap); once the command has
 * exited, its pipes are drained for DRAIN_GRACE_MS, so a background child holding
 * stdout (`server &`) does not hold the answer. The exit status is the command's, or
 * 128+signal. Several commands may run at once; answers come as they finish.
 *
 * One file on purpose (longer than the project's usual ~400 lines): the Dockerfile builds
 * it with one gcc line, it has no dependency beyond libc, and the whole protocol, its
 * parser and the process handling can be read, and audited, in one place.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DRAIN_GRACE_MS 200
#define MAX_LINE ((size_t)64 << 20)
#define MAX_JOBS 128
#define MAX_ITEMS 8192

extern char **environ;

struct buf {
  char *p;
  size_t len, cap;
};

static void buf_add(struct buf *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (b->len + n + 1 > cap) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) _exit(125); /* out of memory: the worker falls back to Docker exec */
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
}

static void buf_free(struct buf *b) {
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

struct job {
  int used;
  unsigned long long id;
  pid_t pid;
  int fd[2]; /* stdout, stderr read ends; -1 once closed */
  int in_fd; /* stdin write end; -1 once closed */
  unsigned char *in_data;
  size_t in_len, in_off;
  struct buf out[2];
  unsigned long long limit; /* cap + 1 */
  int exited, status;
  long long exited_at;
};

static struct job jobs[MAX_JOBS];
static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void b64_encode(struct buf *o, const unsigned char *s, size_t n) {
  char q[4];
  size_t i = 0;
  for (; i + 2 < n; i += 3) {
    q[0] = B64[s[i] >> 2];
    q[1] = B64[((s[i] & 3) << 4) | (s[i + 1] >> 4)];
    q[2] = B64[((s[i + 1] & 15) << 2) | (s[i + 2] >> 6)];
    q[3] = B64[s[i + 2] & 63];
    buf_add(o, q, 4);
  }
  if (i < n) {
    q[0] = B64[s[i] >> 2];
    if (i + 1 < n) {
      q[1] = B64[((s[i] & 3) << 4) | (s[i + 1] >> 4)];
      q[2] = B64[(s[i + 1] & 15) << 2];
    } else {
      q[1] = B64[(s[i] & 3) << 4];
      q[2] = '=';
    }
    q[3] = '=';
    buf_add(o, q, 4);
  }
}

static int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

/* Decodes in place; returns the length, or -1 for anything that is not base64. */
static long b64_decode(char *s) {
  size_t n = strlen(s);
  while (n > 0 && s[n - 1] == '=') n--;
  unsigned char *o = (unsigned char *)s;
  size_t w = 0;
  unsigned acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; i++) {
    int v = b64_value(s[i]);
    if (v < 0) return -1;
    acc = (acc << 6) | (unsigned)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      o[w++] = (unsigned char)((acc >> bits) & 0xff);
    }
  }
  o[w] = '\0';
  return (long)w;
}

static void write_all(const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(1, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      _exit(0); /* the worker is gone */
    }
    p += w;
    n -= (size_t)w;
  }
}

static void answer(const char *text) { write_all(text, strlen(text)); }

static void send_result(unsigned long long id, int code, const struct buf *out, const struct buf *err) {
  struct buf line = {0};
  char head[64];
  int n = snprintf(head, sizeof head, "PW %llu R %d ", id, code);
  buf_add(&line, head, (size_t)n);
  b64_encode(&line, (const unsigned char *)out->p, out->len);
  buf_add(&line, " ", 1);
  b64_encode(&line, (const unsigned char *)err->p, err->len);
  buf_add(&line, "\n", 1);
  write_all(line.p, line.len);
  buf_free(&line);
}

static void fail_now(unsigned long long id, int code, const char *what) {
  char msg[256];
  struct buf none = {0}, err = {0};
  int n = snprintf(msg, sizeof msg, "pw-exec: %s: %s\n", what, strerror(errno));
  buf_add(&err, msg, (size_t)n);
  char started[64];
  snprintf(started, sizeof started, "PW %llu S\n", id);
  answer(started);
  send_result(id, code, &none, &err);
  buf_free(&err);
}

/* Sets NAME=value in env (a NULL-terminated array with room), replacing an earlier NAME. */
static void env_set(char **env, size_t *count, char *kv) {
  char *eq = strchr(kv, '=');
  size_t name = eq ? (size_t)(eq - kv) : strlen(kv);
  for (size_t i = 0; i < *count; i++) {
    if (strncmp(env[i], kv, name) == 0 && env[i][name] == '=') {
      env[i] = kv;
      return;
    }
  }
  env[(*count)++] = kv;
  env[*count] = NULL;
}

/* The container's environment as commands get it (see the top of this file). */
static char **base_env;
static size_t base_count;

static int inherited(const char *kv) {
  static const char *dropped[] = {"PW_EXEC_ID=", "HTTP_PROXY=", "HTTPS_PROXY=", "http_proxy=", "https_proxy=",
                                  "NO_PROXY=",   "no_proxy=",   "BASH_ENV=",    "ENV=",        NULL};
  for (int i = 0; dropped[i]; i++)
    if (strncmp(kv, dropped[i], strlen(dropped[i])) == 0) return 0;
  return strchr(kv, '=') != NULL;
}

static void start_job(char *line) {
  char *p = line;
  char *tok = strsep(&p, " "); /* RUN */
  if (!(tok = strsep(&p, " "))) return;
  char *end;
  unsigned long long id = strtoull(tok, &end, 10);
  if (*end) return;
  if (!(tok = strsep(&p, " "))) return;
  unsigned long long cap = strtoull(tok, &end, 10);
  if (*end) return;
  char *cwd = strsep(&p, " ");
  if (!cwd || b64_decode(cwd) < 0) return;
  if (!(tok = strsep(&p, " "))) return;
  unsigned long argc = strtoul(tok, &end, 10);
  if (*end || argc == 0 || argc > MAX_ITEMS) return;
  char **argv = calloc(argc + 1, sizeof(char *));
  char **env = calloc(MAX_ITEMS + base_count + 8, sizeof(char *));
  if (!argv || !env) _exit(125);
  for (unsigned long i = 0; i < argc; i++) {
    argv[i] = strsep(&p, " ");
    if (!argv[i] || b64_decode(argv[i]) < 0) goto invalid;
  }
  if (!(tok = strsep(&p, " "))) goto invalid;
  unsigned long envc = strtoul(tok, &end, 10);
  if (*end || envc > MAX_ITEMS) goto invalid;
  size_t count = 0;
  for (size_t i = 0; i < base_count; i++) env_set(env, &count, base_env[i]);
  env_set(env, &count, "BASH_ENV=");
  env_set(env, &count, "ENV=");
  for (unsigned long i = 0; i < envc; i++) {
    char *kv = strsep(&p, " ");
    if (!kv || b64_decode(kv) < 0 || !strchr(kv, '=')) goto invalid;
    env_set(env, &count, kv);
  }
  char *in = strsep(&p, " ");
  if (!in || p != NULL) goto invalid;
  long in_len = -1;
  if (strcmp(in, "-") != 0 && (in_len = b64_decode(in)) < 0) goto invalid;

  struct job *job = NULL;
  for (int i = 0; i < MAX_JOBS; i++)
    if (!jobs[i].used) {
      job = &jobs[i];
      break;
    }
  if (!job) {
    errno = EAGAIN;
    fail_now(id, 126, "too many commands at once");
    goto done;
  }
  int out[2], err[2], inp[2] = {-1, -1};
  if (pipe2(out, O_CLOEXEC) != 0) {
    fail_now(id, 126, "pipe");
    goto done;
  }
  if (pipe2(err, O_CLOEXEC) != 0) {
    close(out[0]);
    close(out[1]);
    fail_now(id, 126, "pipe");
    goto done;
  }
  if (in_len >= 0 && pipe2(inp, O_CLOEXEC) != 0) {
    close(out[0]);
    close(out[1]);
    close(err[0]);
    close(err[1]);
    fail_now(id, 126, "pipe");
    goto done;
  }
  /* posix_spawn (a vfork underneath): no copy of the server's pages per command. */
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  if (inp[0] >= 0) posix_spawn_file_actions_adddup2(&fa, inp[0], 0);
  else posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  posix_spawn_file_actions_addchdir_np(&fa, cwd);
  sigset_t none, dfl;
  sigemptyset(&none);
  sigemptyset(&dfl);
  sigaddset(&dfl, SIGPIPE);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &dfl);
  /* Its own session: the worker's kill takes the command's whole session, never the server. */
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid;
  char **saved = environ;
  environ = env; /* posix_spawnp looks the command up in the command's own PATH */
  int spawn_err = posix_spawnp(&pid, argv[0], &fa, &attr, argv, env);
  environ = saved;
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (spawn_err != 0) {
    close(out[0]);
    close(out[1]);
    close(err[0]);
    close(err[1]);
    if (inp[0] >= 0) {
      close(inp[0]);
      close(inp[1]);
    }
    /* What pw-exec says when its exec fails (a missing command or working folder: 127). */
    errno = spawn_err;
    fail_now(id, spawn_err == ENOENT ? 127 : 126, argv[0]);
    goto done;
  }
  close(out[1]);
  close(err[1]);
  memset(job, 0, sizeof *job);
  job->used = 1;
  job->id = id;
  job->pid = pid;
  job->fd[0] = out[0];
  job->fd[1] = err[0];
  job->limit = cap + 1;
  job->in_fd = -1;
  fcntl(out[0], F_SETFL, O_NONBLOCK);
  fcntl(err[0], F_SETFL, O_NONBLOCK);
  if (inp[0] >= 0) {
    close(inp[0]);
    if (in_len > 0) {
      job->in_fd = inp[1];
      fcntl(inp[1], F_SETFL, O_NONBLOCK);
      job->in_data = malloc((size_t)in_len);
      if (!job->in_data) _exit(125);
      memcpy(job->in_data, in, (size_t)in_len);
      job->in_len = (size_t)in_len;
    } else {
      close(inp[1]);
    }
  }
  char started[64];
  snprintf(started, sizeof started, "PW %llu S\n", id);
  answer(started);
  goto done;
invalid:
  /* Not a request the worker sends: no answer; the worker falls back after its ack timeout. */
done:
  free(argv);
  free(env);
}

static void handle_line(char *line) {
  if (strncmp(line, "PING ", 5) == 0) {
    char *end;
    unsigned long long id = strtoull(line + 5, &end, 10);
    if (*end || end == line + 5) return;
    char pong[64];
    snprintf(pong, sizeof pong, "PW %llu P\n", id);
    answer(pong);
  } else if (strncmp(line, "RUN ", 4) == 0) {
    start_job(line);
  }
}

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

static void finish_job(struct job *job) {
  close_fd(&job->fd[0]);
  close_fd(&job->fd[1]);
  close_fd(&job->in_fd);
  int code = 125;
  if (WIFEXITED(job->status)) code = WEXITSTATUS(job->status);
  else if (WIFSIGNALED(job->status)) code = 128 + WTERMSIG(job->status);
  send_result(job->id, code, &job->out[0], &job->out[1]);
  buf_free(&job->out[0]);
  buf_free(&job->out[1]);
  free(job->in_data);
  memset(job, 0, sizeof *job);
}

static void reap(void) {
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    for (int i = 0; i < MAX_JOBS; i++) {
      if (jobs[i].used && jobs[i].pid == pid && !jobs[i].exited) {
        jobs[i].exited = 1;
        jobs[i].status = status;
        jobs[i].exited_at = now_ms();
      }
    }
  }
}

int main(void) {
  size_t n_env = 0;
  while (environ[n_env]) n_env++;
  base_env = calloc(n_env + 1, sizeof(char *));
  if (!base_env) return 125;
  for (size_t i = 0; i < n_env; i++)
    if (inherited(environ[i])) base_env[base_count++] = environ[i];
  signal(SIGPIPE, SIG_IGN);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) return 125;

  struct buf in = {0};
  int skipping = 0; /* inside a line past MAX_LINE: dropped up to its newline */
  int stdin_open = 1;
  static char chunk[65536];
  struct pollfd fds[2 + MAX_JOBS * 3];
  int owner[2 + MAX_JOBS * 3], which[2 + MAX_JOBS * 3];

  for (;;) {
    int n = 0, running = 0;
    long long now = now_ms();
    int timeout = -1;
    if (stdin_open) fds[n++] = (struct pollfd){0, POLLIN, 0};
    int sig_at = n;
    fds[n++] = (struct pollfd){sfd, POLLIN, 0};
    for (int i = 0; i < MAX_JOBS; i++) {
      struct job *job = &jobs[i];
      if (!job->used) continue;
      running++;
      for (int k = 0; k < 2; k++) {
        if (job->fd[k] < 0) continue;
        owner[n] = i;
        which[n] = k;
        fds[n++] = (struct pollfd){job->fd[k], POLLIN, 0};
      }
      if (job->in_fd >= 0) {
        owner[n] = i;
        which[n] = 2;
        fds[n++] = (struct pollfd){job->in_fd, POLLOUT, 0};
      }
      if (job->exited) {
        long long left = DRAIN_GRACE_MS - (now - job->exited_at);
        if (left < 0) left = 0;
        if (timeout < 0 || left < timeout) timeout = (int)left;
      }
    }
    if (!stdin_open && running == 0) return 0;
    int r = poll(fds, (nfds_t)n, timeout);
    if (r < 0 && errno != EINTR) return 125;
    if (r > 0) {
      if (stdin_open && fds[0].revents) {
        ssize_t got = read(0, chunk, sizeof chunk);
        if (got <= 0 && !(got < 0 && errno == EINTR)) {
          stdin_open = 0;
        } else if (got > 0) {
          char *p = chunk, *stop = chunk + got;
          while (p < stop) {
            char *nl = memchr(p, '\n', (size_t)(stop - p));
            size_t len = nl ? (size_t)(nl - p) : (size_t)(stop - p);
            if (!skipping) buf_add(&in, p, len);
            if (in.len > MAX_LINE) {
              skipping = 1;
              in.len = 0;
            }
            if (nl) {
              if (!skipping && in.len > 0) {
                in.p[in.len] = '\0';
                handle_line(in.p);
              }
              skipping = 0;
              in.len = 0;
              p = nl + 1;
            } else {
              p = stop;
            }
          }
        }
      }
      if (fds[sig_at].revents) {
        struct signalfd_siginfo info;
        while (read(sfd, &info, sizeof info) > 0) {
        }
        reap();
      }
      for (int f = sig_at + 1; f < n; f++) {
        if (!fds[f].revents) continue;
        struct job *job = &jobs[owner[f]];
        if (!job->used) continue;
        if (which[f] == 2) {
          ssize_t w = write(job->in_fd, job->in_data + job->in_off, job->in_len - job->in_off);
          if (w > 0) job->in_off += (size_t)w;
          if ((w < 0 && errno != EAGAIN && errno != EINTR) || job->in_off >= job->in_len)
            close_fd(&job->in_fd);
          continue;
        }
        int k = which[f];
        ssize_t got = read(job->fd[k], chunk, sizeof chunk);
        if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (got <= 0) {
          close_fd(&job->fd[k]);
          continue;
        }
        if (job->out[k].len < job->limit) {
          size_t room = (size_t)(job->limit - job->out[k].len);
          buf_add(&job->out[k], chunk, (size_t)got < room ? (size_t)got : room);
        }
      }
    }
    reap();
    now = now_ms();
    for (int i = 0; i < MAX_JOBS; i++) {
      struct job *job = &jobs[i];
      if (!job->used || !job->exited) continue;
      if ((job->fd[0] < 0 && job->fd[1] < 0) || now - job->exited_at >= DRAIN_GRACE_MS) finish_job(job);
    }
  }
}
