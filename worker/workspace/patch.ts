import { type Dirent, lstatSync } from 'node:fs';
import { lstat, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { PullwrightError } from '../../src/errors.js';
import { MAX_PATCH_BYTES } from '../delivery/patch-safety.js';
import { runGit } from './git.js';
import type { RepoCache } from './repo-cache.js';
import { type GitLimit, runLimitedGit } from './run-limited-git.js';

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
  /** Patch cap, enforced while git writes it. Default MAX_PATCH_BYTES. */
  maxBytes?: number;
  /** Narrower bounds for host git (tests); default EXTRACT_LIMITS. */
  limits?: Partial<typeof EXTRACT_LIMITS>;
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

/**
 * Bounds for host git over the agent's tree (see run-limited-git.ts for what each
 * stops). Generous for an honest change: the sizes are checked before git runs, so
 * these only matter for a tree that changes while git reads it.
 */
export const EXTRACT_LIMITS = {
  /** Wall time of one git command over the tree. */
  timeoutMs: 5 * 60_000,
  cpuSeconds: 5 * 60,
  /** Address space of one git process. */
  memoryBytes: 2 * 1024 ** 3,
  /** `ls-files`/`numstat` output: names only (about 50 MB for a million files). */
  maxListBytes: 128 * 1024 ** 2,
};

/**
 * Checks every file git will read, with `lstat` only, BEFORE git reads any content:
 * - a regular file with more than one hard link is refused. The sandbox's disk
 *   watchdog (`du`) counts a hard-linked file once, while git adds each name as a
 *   full copy: a 5 MB file and 20 links would be a 105 MB change in host memory.
 *   A fresh checkout has no hard links (`clone --no-hardlinks`), so only the agent
 *   makes them.
 * - a file whose apparent size is over the patch cap is refused: a sparse
 *   `truncate -s 1T` file takes no disk (the watchdog may never see it) but git
 *   would hash a terabyte of zeros. No such file can be part of an acceptable change.
 * Candidates are what `git add --all` will look at: the base's paths and the
 * untracked, non-ignored ones (git lists them from directory entries, reading no
 * file's content), so ignored build output (`node_modules`, pnpm's hard links)
 * is never judged. A name below a symlinked folder is skipped (git never follows
 * one); nothing here follows a symlink. A file over the cap that the base already
 * held at the same size passes (repositories may track big assets): git reads no
 * more than the repository already stored, and the diff's output is capped anyway.
 */
async function assertTreeReadable(
  workDir: string,
  candidates: string[],
  maxBytes: number,
  baseSizes: () => Promise<ReadonlyMap<string, number>>,
): Promise<void> {
  const symlinkedDirs = new Map<string, Promise<boolean>>();
  const throughSymlink = (rel: string): Promise<boolean> => {
    const parent = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '';
    if (parent === '') return Promise.resolve(false);
    let known = symlinkedDirs.get(parent);
    if (!known) {
      known = throughSymlink(parent).then(async (above) => {
        if (above) return true;
        const st = await lstat(join(workDir, parent)).catch(() => null);
        return !st?.isDirectory();
      });
      symlinkedDirs.set(parent, known);
    }
    return known;
  };
  const refuse = (message: string, kind: string, path: string) => {
    throw new PullwrightError('patch_rejected', message, {
      retryable: false,
      details: { findings: [{ kind, path }] },
    });
  };
  const check = async (rel: string) => {
    if (rel === '' || rel.endsWith('/') || isGitInternalPath(rel)) return;
    if (await throughSymlink(rel)) return;
    const st = lstatSync(join(workDir, rel), { throwIfNoEntry: false });
    if (!st?.isFile()) return;
    if (st.nlink > 1)
      refuse(`The change has a hard-linked file, which is not allowed: ${rel}`, 'hard-link', rel);
    // A large file the repository already had, at its old size, is the base's, not the agent's.
    if (st.size > maxBytes && (await baseSizes()).get(rel) !== st.size)
      refuse(`The file ${rel} is ${st.size} bytes, over the ${maxBytes}-byte limit.`, 'too-large', rel);
  };
  // Synchronous lstat is several times faster than the thread pool's for tens of thousands
  // of files; batches with a yield in between keep the worker's event loop responsive.
  for (let i = 0; i < candidates.length; i += 2_000) {
    for (const rel of candidates.slice(i, i + 2_000)) await check(rel);
    await new Promise((resolve) => setImmediate(resolve));
  }
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
  const maxBytes = input.maxBytes ?? MAX_PATCH_BYTES;
  const tmp = await mkdtemp(join(tmpdir(), 'pw-extract-'));
  const gitDir = join(tmp, 'git');
  try {
    // runGit first: it checks the git home folder the limited runs share.
    await runGit(['init', '--quiet', '--bare', gitDir]);
    // Base objects are read from the cache; new blobs are written to the temporary git dir.
    await writeFile(join(gitDir, 'objects', 'info', 'alternates'), `${join(input.cache.dir, 'objects')}\n`);
    const limits = { ...EXTRACT_LIMITS, ...input.limits };
    const git = (args: string[], maxStdoutBytes = limits.maxListBytes) =>
      runLimitedGit(['--git-dir', gitDir, '--work-tree', input.workDir, ...READ_CONFIG, ...args], {
        cwd: tmp,
        env: { GIT_INDEX_FILE: join(gitDir, 'index') },
        maxStdoutBytes,
        timeoutMs: limits.timeoutMs,
        cpuSeconds: limits.cpuSeconds,
        memoryBytes: limits.memoryBytes,
      }).catch((err) => {
        throw asPatchRejection(err, maxBytes);
      });
    await git(['read-tree', input.baseSha]);
    let sizes: Promise<Map<string, number>> | undefined;
    // Names only (a nested repository shows as `dir/`); no file content is read yet.
    const listed = await git(['ls-files', '-z', '--cached', '--others', '--exclude-standard']);
    await assertTreeReadable(
      input.workDir,
      [...new Set(listed.stdout.toString('utf8').split('\0'))],
      maxBytes,
      () => (sizes ??= readBaseSizes(git, input.baseSha)),
    );
    const skipped = await findNestedRepos(input.workDir);
    const excludes = skipped.map((p) => `:(top,exclude,literal)${p}`);
    await git(['add', '--all', '--', ':(top)', ...excludes]);
    const diff = ['diff', '--cached', '--no-ext-diff', '--no-textconv', '--no-color', '-M'];
    // The patch cap is enforced while git writes: over it, git is killed (`too-large`).
    const patch = (await git([...diff, '--binary', '--full-index', input.baseSha], maxBytes)).stdout;
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

/** Blob sizes of the base tree (`ls-tree -l` reads object headers, not the work tree). */
async function readBaseSizes(
  git: (args: string[]) => Promise<{ stdout: Buffer }>,
  baseSha: string,
): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  const out = (await git(['ls-tree', '-r', '-l', '-z', baseSha])).stdout.toString('utf8');
  for (const entry of out.split('\0')) {
    const m = /^\d+ blob [0-9a-f]+ +(\d+)\t(.*)$/s.exec(entry);
    if (m) sizes.set(m[2] as string, Number(m[1]));
  }
  return sizes;
}

/** A limit that stopped git is the tree's doing: the change is refused, not retried. */
function asPatchRejection(err: unknown, maxBytes: number): unknown {
  const limit =
    err instanceof PullwrightError ? (err.details as { limit?: GitLimit } | undefined)?.limit : undefined;
  if (limit === 'output')
    return new PullwrightError('patch_rejected', `The change is over the ${maxBytes}-byte limit.`, {
      cause: err,
      retryable: false,
      details: { findings: [{ kind: 'too-large' }] },
    });
  if (limit === 'time')
    return new PullwrightError('patch_rejected', 'Reading the change took too long (over the time limit).', {
      cause: err,
      retryable: false,
      details: { findings: [{ kind: 'too-large' }] },
    });
  return err;
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
