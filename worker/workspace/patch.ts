import type { Dirent } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { PullwrightError } from '../../src/errors.js';
import { runGit } from './git.js';
import type { RepoCache } from './repo-cache.js';

/**
 * The way back from the sandbox is a patch, not trust.
 *
 * The workspace was writable by the agent, so everything in it is hostile data:
 * its `.git/config` may set `core.fsmonitor`, `core.sshCommand`, `core.pager` or
 * aliases; its `.git/hooks` may hold a `post-checkout`; a symlink may point at a
 * host file; `.gitattributes` may name a filter driver. The host therefore never
 * runs git *in* that tree. It reads the tree as a work tree of a git dir the host
 * made (`--git-dir=<tmp> --work-tree=<workspace>`), with no system, global or repo
 * config but its own, hooks at /dev/null and fsmonitor off, so no config from the
 * tree is ever read and no filter, textconv or hook can be defined. Git stores
 * symlinks as links (their target text), never following them, and skips every
 * `.git` entry. Nested repositories (a `.git` below the root) are left out, since
 * resolving one would read refs through a path the agent chose.
 */

export interface PatchStats {
  files: number;
  additions: number;
  deletions: number;
  bytes: number;
}

export interface ExtractedPatch {
  patch: string;
  stats: PatchStats;
  /** Every path the patch touches (both sides of a rename). */
  paths: string[];
  /** Nested repositories that were left out of the patch. */
  skipped: string[];
}

export interface ExtractPatchInput {
  /** The agent-writable workspace (read as data only). */
  workDir: string;
  /** The commit the workspace started from. */
  baseSha: string;
  /** The repository cache that holds `baseSha`'s objects (used read-only, via alternates). */
  cache: RepoCache;
}

/** Config for reading an untrusted tree: nothing host- or tree-dependent changes the bytes. */
const READ_CONFIG = [
  'core.autocrlf=false',
  'core.safecrlf=false',
  'core.symlinks=true',
  'core.fileMode=true',
  'core.ignoreCase=false',
  'core.precomposeUnicode=false',
  'core.excludesFile=/dev/null',
  'core.attributesFile=/dev/null',
  'core.quotePath=false',
  'core.protectNTFS=true',
  'core.protectHFS=true',
  'diff.renames=true',
  'diff.noprefix=false',
  'diff.mnemonicPrefix=false',
  'diff.external=',
].flatMap((c) => ['-c', c]);

/** True for `.git` and the spellings other filesystems treat as the same name. */
export function isGitInternalPath(path: string): boolean {
  return path.split('/').some((segment) => {
    const s = segment.toLowerCase().replace(/[. ]+$/, '');
    return s === '.git' || s === 'git~1';
  });
}

async function findNestedRepos(root: string): Promise<string[]> {
  const found: string[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const dir = stack.pop() as string;
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of entries) {
      const full = join(dir, entry.name);
      if (entry.name === '.git') {
        if (dir !== root) found.push(relative(root, dir));
        continue;
      }
      // Dirent types come from lstat: symlinks are never followed.
      if (entry.isDirectory()) stack.push(full);
    }
  }
  return found;
}

export async function extractPatch(input: ExtractPatchInput): Promise<ExtractedPatch> {
  if (!/^[0-9a-f]{40}$/.test(input.baseSha))
    throw new PullwrightError('input_invalid', 'The base must be a full commit sha.');
  const tmp = await mkdtemp(join(tmpdir(), 'pw-extract-'));
  const gitDir = join(tmp, 'git');
  try {
    await runGit(['init', '--quiet', '--bare', gitDir]);
    // Base objects are read from the cache; new blobs are written to the temporary git dir.
    await writeFile(join(gitDir, 'objects', 'info', 'alternates'), `${join(input.cache.dir, 'objects')}\n`);
    const git = (args: string[], input2?: { okCodes?: number[] }) =>
      runGit(['--git-dir', gitDir, '--work-tree', input.workDir, ...READ_CONFIG, ...args], {
        cwd: tmp,
        env: { GIT_INDEX_FILE: join(gitDir, 'index') },
        okCodes: input2?.okCodes,
      });
    await git(['read-tree', input.baseSha]);
    const skipped = await findNestedRepos(input.workDir);
    const excludes = skipped.map((p) => `:(top,exclude,literal)${p}`);
    await git(['add', '--all', '--', ':(top)', ...excludes]);
    const diff = ['diff', '--cached', '--no-ext-diff', '--no-textconv', '--no-color', '-M'];
    const patch = (await git([...diff, '--binary', '--full-index', input.baseSha])).stdout;
    const numstat = (await git([...diff, '--numstat', '-z', input.baseSha])).stdout.toString('utf8');
    const { paths, stats } = parseNumstat(numstat);
    stats.bytes = patch.length;
    const bad = paths.find(isGitInternalPath);
    if (bad)
      throw new PullwrightError('patch_rejected', `The change touches git internals: ${bad}`, {
        retryable: false,
      });
    return { patch: patch.toString('utf8'), stats, paths, skipped };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Parses `git diff --numstat -z`: `add\tdel\tpath\0`, or for a rename
 * `add\tdel\t\0old\0new\0`. Binary files show `-` for both counts.
 */
export function parseNumstat(raw: string): { paths: string[]; stats: PatchStats } {
  const fields = raw.split('\0');
  const paths: string[] = [];
  const stats: PatchStats = { files: 0, additions: 0, deletions: 0, bytes: 0 };
  let i = 0;
  while (i < fields.length) {
    const field = fields[i] as string;
    i++;
    if (field === '') continue;
    const m = /^(-|\d+)\t(-|\d+)\t(.*)$/s.exec(field);
    if (!m) continue;
    stats.files++;
    if (m[1] !== '-') stats.additions += Number(m[1]);
    if (m[2] !== '-') stats.deletions += Number(m[2]);
    if (m[3] === '') {
      paths.push(fields[i] as string, fields[i + 1] as string);
      i += 2;
    } else {
      paths.push(m[3] as string);
    }
  }
  return { paths: [...new Set(paths)], stats };
}

export interface ApplyPatchInput {
  /** A clean checkout that only the host controls (see `createCleanCheckout`). */
  cleanDir: string;
  patch: string;
}

/**
 * Applies a patch to the index and tree of a host-controlled checkout. Paths
 * inside `.git`, outside the tree or through a symlink are refused (git apply's
 * own checks, plus ours on every named path first).
 */
export async function applyPatch(input: ApplyPatchInput): Promise<{ paths: string[] }> {
  if (input.patch.trim() === '')
    throw new PullwrightError('patch_rejected', 'The patch is empty.', { retryable: false });
  const listed = await runGit(['apply', '--numstat', '-z', '--binary', '-'], {
    cwd: input.cleanDir,
    input: input.patch,
  }).catch((err) => {
    throw new PullwrightError('patch_rejected', 'The patch cannot be parsed.', {
      cause: err,
      retryable: false,
    });
  });
  const { paths } = parseNumstat(listed.stdout.toString('utf8'));
  const bad = paths.find((p) => isGitInternalPath(p) || p.startsWith('/') || p.split('/').includes('..'));
  if (bad)
    throw new PullwrightError('patch_rejected', `The patch touches a forbidden path: ${bad}`, {
      retryable: false,
    });
  await runGit(['apply', '--index', '--binary', '--whitespace=nowarn', '-'], {
    cwd: input.cleanDir,
    input: input.patch,
  }).catch((err) => {
    throw new PullwrightError('conflict', 'The patch does not apply to the clean checkout.', {
      cause: err,
      retryable: false,
    });
  });
  return { paths };
}
