import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PullwrightError } from '../../src/errors.js';
import { gitText, runGit } from './git.js';
import { withHostLock } from './host-lock.js';

/**
 * A per-repository cache: a bare repository under the work dir, keyed by
 * host/owner/repo, holding branches and tags (and any PR head asked for). The
 * second job on a repository fetches only new objects. Only the host ever
 * touches it: working copies get their own copies of the objects, never links.
 */
export interface RepoCache {
  /** The bare repository's folder. */
  dir: string;
  /** The remote URL without credentials. */
  remoteUrl: string;
}

export interface EnsureRepoCacheInput {
  remoteUrl: string;
  /** The installation token; passed to git through env only. */
  token?: string;
  /** Root folder of all caches (e.g. `<WORK_DIR>/cache`). */
  cacheDir: string;
  /** Extra refs to fetch, e.g. `refs/pull/12/head` (stored under the same name). */
  refs?: string[];
}

function cachePathFor(cacheDir: string, remoteUrl: string): string {
  let url: URL;
  try {
    url = new URL(remoteUrl);
  } catch {
    throw new PullwrightError('input_invalid', 'The remote URL is not a URL.');
  }
  if (url.username || url.password)
    throw new PullwrightError('input_invalid', 'The remote URL must not carry credentials.');
  const parts = `${url.host}${url.pathname}`
    .replace(/\.git$/, '')
    .split('/')
    .filter((p) => p.length > 0);
  if (parts.length < 2 || parts.some((p) => p === '.' || p === '..' || !/^[A-Za-z0-9_.:-]+$/.test(p)))
    throw new PullwrightError('input_invalid', 'The remote URL has an unexpected path.');
  return `${join(cacheDir, ...parts)}.git`;
}

// One fetch per cache at a time: in this process by promise chaining (cheap, and orders this
// process's own jobs), across the host's worker processes by a host lock (host-lock.ts).
const locks = new Map<string, Promise<unknown>>();
async function withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = locks.get(key) ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(fn);
  locks.set(key, run);
  try {
    return await run;
  } finally {
    if (locks.get(key) === run) locks.delete(key);
  }
}

const BASE_REFSPECS = ['+refs/heads/*:refs/heads/*', '+refs/tags/*:refs/tags/*'];

function refspecFor(ref: string): string {
  if (!/^refs\/[A-Za-z0-9_./-]+$/.test(ref) || ref.includes('..'))
    throw new PullwrightError('input_invalid', `Not a ref name: ${ref}`);
  return `+${ref}:${ref}`;
}

export async function ensureRepoCache(input: EnsureRepoCacheInput): Promise<RepoCache> {
  const dir = cachePathFor(input.cacheDir, input.remoteUrl);
  const extra = (input.refs ?? []).map(refspecFor);
  return withLock(dir, () => withHostLock(`${dir}.lock`, () => fetchIntoCache(dir, input, extra)));
}

async function fetchIntoCache(dir: string, input: EnsureRepoCacheInput, extra: string[]): Promise<RepoCache> {
  const fresh = !existsSync(join(dir, 'HEAD'));
  if (fresh) {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await runGit(['init', '--bare', '--quiet', dir]);
    await runGit(['--git-dir', dir, 'config', 'remote.origin.url', input.remoteUrl]);
  }
  await runGit(
    [
      '--git-dir',
      dir,
      'fetch',
      '--quiet',
      '--prune',
      '--no-tags',
      '--no-write-fetch-head',
      input.remoteUrl,
      ...BASE_REFSPECS,
      ...extra,
    ],
    { token: input.token },
  );
  // Point HEAD at the remote's default branch so "the default branch" has a name here too.
  // Asked on the first fetch only, or when the branch HEAD names is gone: one round trip
  // less for every warm job (a renamed default branch loses its old ref on prune).
  const headOk =
    !fresh &&
    (await runGit(['--git-dir', dir, 'rev-parse', '--verify', '--quiet', 'HEAD'], { okCodes: [1] })).code ===
      0;
  if (headOk) return { dir, remoteUrl: input.remoteUrl };
  const remoteHead = await runGit(['ls-remote', '--symref', input.remoteUrl, 'HEAD'], {
    token: input.token,
  }).catch(() => null);
  const m = remoteHead && /^ref: (refs\/heads\/\S+)\s+HEAD/m.exec(remoteHead.stdout.toString('utf8'));
  if (m?.[1]) await runGit(['--git-dir', dir, 'symbolic-ref', 'HEAD', m[1]]);
  return { dir, remoteUrl: input.remoteUrl };
}

/** Resolves a branch name, a full ref or a sha to a commit sha in the cache. */
export async function resolveRef(cache: RepoCache, ref: string): Promise<string> {
  if (ref.startsWith('-')) throw new PullwrightError('input_invalid', `Not a ref: ${ref}`);
  const candidates =
    ref.startsWith('refs/') || /^[0-9a-f]{40}$/.test(ref) ? [ref] : [`refs/heads/${ref}`, ref];
  for (const candidate of candidates) {
    try {
      return await gitText([
        '--git-dir',
        cache.dir,
        'rev-parse',
        '--verify',
        '--quiet',
        `${candidate}^{commit}`,
      ]);
    } catch {
      // try the next form
    }
  }
  throw new PullwrightError('not_found', `No commit for ref ${ref} in the repository cache.`, {
    retryable: false,
  });
}

/** The default branch's name, as the remote's HEAD said on the last fetch. */
export async function defaultBranch(cache: RepoCache): Promise<string> {
  const head = await gitText(['--git-dir', cache.dir, 'symbolic-ref', 'HEAD']);
  return head.replace(/^refs\/heads\//, '');
}
