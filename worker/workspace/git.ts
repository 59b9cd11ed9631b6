import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PullwrightError } from '../../src/errors.js';
import { redactText } from '../../src/logger.js';
import { ensurePrivateDir } from '../sandbox/private-dir.js';

/**
 * The one way the host runs git. Every call gets a clean environment: no system or
 * global config (GIT_CONFIG_NOSYSTEM, GIT_CONFIG_GLOBAL=/dev/null, an empty HOME),
 * hooks pointed at /dev/null, no fsmonitor and no credential helper. Nothing of the
 * worker's own environment (tokens, keys, GIT_* variables) leaks into git or its
 * children, and nothing a repository or an agent wrote can configure the host's git.
 */

/** Shared with run-limited-git.ts, which runs git over the agent's tree under limits. */
export const SAFE_GIT_CONFIG: readonly string[] = [
  'core.hooksPath=/dev/null',
  'core.fsmonitor=false',
  'core.untrackedCache=false',
  'credential.helper=',
  // Only the transports we use; `ext::` would run an arbitrary command.
  'protocol.allow=never',
  'protocol.https.allow=always',
  'protocol.http.allow=always',
  'protocol.file.allow=always',
  'advice.detachedHead=false',
  'init.defaultBranch=main',
  'gc.auto=0',
  'maintenance.auto=false',
];

/** git's HOME (and XDG_CONFIG_HOME under it): empty, one per user and host. */
function gitHomePath(): string {
  return join(tmpdir(), `pullwright-git-home-${process.getuid?.() ?? 'u'}`);
}

const checkedHomes = new Map<string, Promise<void>>();
/**
 * The git home sits in the shared temp folder, so another local user could create it
 * first (or a symlink there) and plant `xdg/git/attributes` (`* -diff` hides text from the
 * patch checks) or `xdg/git/ignore` (drops files from the extracted change). Checked once
 * per process and path with the one private-folder rule; a refused folder is checked again
 * next time, not cached.
 */
function ensureGitHome(): Promise<void> {
  const path = gitHomePath();
  let check = checkedHomes.get(path);
  if (!check) {
    check = ensurePrivateDir(path, 'git home folder');
    checkedHomes.set(path, check);
    check.catch(() => checkedHomes.delete(path));
  }
  return check;
}

/**
 * Env that hands the installation token to one git command as an HTTP header.
 * It lives only in that process's environment: never in `.git/config`, a
 * credential file or a remote URL, so nothing on disk (and nothing the agent's
 * copy inherits) can leak it.
 */
export function gitAuthEnv(token: string | undefined): Record<string, string> {
  if (!token) return {};
  const basic = Buffer.from(`x-access-token:${token}`).toString('base64');
  return {
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: 'http.extraHeader',
    GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
  };
}

export interface GitRunOptions {
  cwd?: string;
  env?: Record<string, string>;
  input?: string | Buffer;
  token?: string;
  /** Exit codes that are not failures (e.g. `diff --quiet` uses 1). */
  okCodes?: number[];
  timeoutMs?: number;
}

export interface GitRunResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

export function safeGitEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: gitHomePath(),
    XDG_CONFIG_HOME: join(gitHomePath(), 'xdg'),
    LANG: 'C',
    LC_ALL: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: '/bin/false',
    SSH_ASKPASS: '/bin/false',
    GIT_PAGER: 'cat',
    PAGER: 'cat',
    GIT_OPTIONAL_LOCKS: '0',
    ...extra,
  };
}

export async function runGit(args: string[], options: GitRunOptions = {}): Promise<GitRunResult> {
  const fullArgs = [...SAFE_GIT_CONFIG.flatMap((c) => ['-c', c]), ...args];
  await ensureGitHome();
  const env = safeGitEnv({ ...options.env, ...gitAuthEnv(options.token) });
  return new Promise((resolve, reject) => {
    const child = spawn('git', fullArgs, { cwd: options.cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let errBytes = 0;
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 10 * 60_000);
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => {
      if (errBytes < 64 * 1024) err.push(c);
      errBytes += c.length;
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new PullwrightError('git_failed', `git could not start: ${e.message}`, { cause: e }));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stderr = redactText(Buffer.concat(err).toString('utf8'), options.token ? [options.token] : []);
      const exit = code ?? -1;
      if (exit === 0 || options.okCodes?.includes(exit)) {
        resolve({ code: exit, stdout: Buffer.concat(out), stderr });
        return;
      }
      const what = args.find((a) => !a.startsWith('-')) ?? 'command';
      reject(
        new PullwrightError(
          'git_failed',
          `git ${what} failed (${signal ?? exit}): ${stderr.trim().slice(0, 2000)}`,
          {
            retryable: false,
            details: { args: args.slice(0, 6), code: exit },
          },
        ),
      );
    });
  });
}

export async function gitText(args: string[], options: GitRunOptions = {}): Promise<string> {
  return (await runGit(args, options)).stdout.toString('utf8').trim();
}
