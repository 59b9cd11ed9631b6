import { posix } from 'node:path';
import type { Sandbox } from '../../sandbox/sandbox.js';
import { resolveWorkspacePath } from '../tools/workspace-path.js';

/** What the context builder learns about the repository, gathered inside the sandbox. */
export interface RepoFacts {
  files: string[];
  /** True when the listing hit its cap. */
  filesCapped: boolean;
  branch: string | null;
  head: string | null;
  commits: string[];
  dirtyFiles: number;
}

const MAX_FILES = 50_000;

/** Lists the tracked-or-not-ignored files (rg --files respects .gitignore; git ls-files as a fallback). */
export async function getRepoFacts(sandbox: Sandbox, signal?: AbortSignal): Promise<RepoFacts> {
  const list = await sandbox.exec({
    cmd: [
      'bash',
      '-c',
      'if command -v rg >/dev/null; then rg --files --hidden --glob "!.git" --sort path; else git ls-files --cached --others --exclude-standard; fi',
    ],
    timeoutMs: 60_000,
    maxOutputBytes: 8 * 1024 ** 2,
    signal,
  });
  const all = list.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (l.startsWith('./') ? l.slice(2) : l));
  // -c safe.directory: the workspace belongs to the sandbox user; the command runs inside the sandbox only.
  const git = await sandbox.exec({
    cmd: [
      'bash',
      '-c',
      'git rev-parse --abbrev-ref HEAD 2>/dev/null || echo; git rev-parse --short HEAD 2>/dev/null || echo; git status --porcelain 2>/dev/null | wc -l; git log -n 5 --format="%h %s" 2>/dev/null',
    ],
    timeoutMs: 30_000,
    maxOutputBytes: 64 * 1024,
    signal,
  });
  const [branch = '', head = '', dirty = '0', ...commits] = git.stdout.split('\n');
  return {
    files: all.slice(0, MAX_FILES),
    filesCapped: all.length > MAX_FILES || list.stdoutTruncated,
    branch: branch.trim() === '' || branch.trim() === 'HEAD' ? null : branch.trim(),
    head: head.trim() === '' ? null : head.trim(),
    commits: commits.filter((c) => c.trim() !== ''),
    dirtyFiles: Number.parseInt(dirty.trim(), 10) || 0,
  };
}

/**
 * Reads a small text file of the repository, or null when it is missing, binary, or a
 * symlink leading out of the workspace (the repo is untrusted; a link to a file of the
 * sandbox image must not end up in the prompt).
 */
export async function readRepoText(
  sandbox: Sandbox,
  path: string,
  maxChars: number,
  signal?: AbortSignal,
): Promise<{ text: string; cut: boolean } | null> {
  const resolved = await resolveWorkspacePath(sandbox, path, signal);
  if (!resolved.ok || resolved.kind !== 'file') return null;
  const head = await sandbox.exec({
    cmd: ['head', '-c', String(maxChars * 4 + 1), '--', resolved.absolute],
    timeoutMs: 15_000,
    maxOutputBytes: maxChars * 4 + 1024,
    signal,
  });
  if (head.exitCode !== 0 || head.stdout.includes('\0')) return null;
  const text = head.stdout;
  if (text.length <= maxChars) return { text, cut: false };
  return { text: text.slice(0, maxChars), cut: true };
}

export function parentDirs(path: string): string[] {
  const dirs: string[] = [];
  let dir = posix.dirname(path);
  while (dir !== '.' && dir !== '/' && dir !== '') {
    dirs.push(dir);
    dir = posix.dirname(dir);
  }
  return dirs;
}
