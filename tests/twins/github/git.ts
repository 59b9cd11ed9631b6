import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { PullwrightError } from '../../../src/errors.js';
import type { CommitInfo } from './types.js';

export const ZERO_SHA = '0000000000000000000000000000000000000000';

const SHA = /^[0-9a-f]{40}$/;

/**
 * Answers about commits never change, so the twin keeps them per repository instead of spawning git
 * again: every spawn forks the whole test process (hundreds of MB under vitest), which costs more than
 * git's own work. Keys hold only full shas, never a ref name; refs are read from the files each time.
 * A repository made anew at the same path (initBareRepo) starts with an empty memo.
 */
const memo = new Map<string, Map<string, unknown>>();
const MEMO_LIMIT = 20_000;
let memoSize = 0;

function remembered<T>(gitDir: string, key: string): T | undefined {
  return memo.get(gitDir)?.get(key) as T | undefined;
}

function remember<T>(gitDir: string, key: string, value: T): T {
  if (memoSize >= MEMO_LIMIT) {
    memo.clear();
    memoSize = 0;
  }
  let entries = memo.get(gitDir);
  if (!entries) {
    entries = new Map();
    memo.set(gitDir, entries);
  }
  if (!entries.has(key)) memoSize++;
  entries.set(key, value);
  return value;
}

function forgetRepo(gitDir: string): void {
  memoSize -= memo.get(gitDir)?.size ?? 0;
  memo.delete(gitDir);
}

/** Marks `sha` as a commit of `gitDir` (fast-import just wrote it, or git said so). */
function knownCommit(gitDir: string, sha: string): void {
  remember(gitDir, `commit ${sha}`, true);
}

/**
 * Environment for every git process the twin runs. No system/global config and no hooks: the served
 * repos receive pushes from tests and agents, and a pushed config or hook must never run on this host.
 */
export function gitEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    LANG: 'C',
    ...extra,
  };
}

export interface GitResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

export function runGit(
  args: string[],
  options: { cwd?: string; input?: Buffer | string; env?: Record<string, string> } = {},
): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['-c', 'core.hooksPath=/dev/null', ...args], {
      cwd: options.cwd,
      env: gitEnv(options.env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ code: code ?? 1, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') }),
    );
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
  });
}

async function gitOk(args: string[], options: Parameters<typeof runGit>[1] = {}): Promise<string> {
  const r = await runGit(args, options);
  if (r.code !== 0) throw new PullwrightError('git_failed', `git ${args[0]} failed: ${r.stderr.trim()}`);
  return r.stdout.toString('utf8');
}

/**
 * Creates a bare repository by writing its few files directly: the same layout `git init --bare` makes, without
 * spawning git (tests start many twins). Hooks are pointed at /dev/null so a planted hook never runs here.
 */
export async function initBareRepo(gitDir: string, defaultBranch: string): Promise<void> {
  forgetRepo(gitDir);
  await Promise.all([
    mkdir(join(gitDir, 'objects', 'info'), { recursive: true }),
    mkdir(join(gitDir, 'objects', 'pack'), { recursive: true }),
    mkdir(join(gitDir, 'refs', 'heads'), { recursive: true }),
    mkdir(join(gitDir, 'refs', 'tags'), { recursive: true }),
  ]);
  const config = [
    '[core]',
    '\trepositoryformatversion = 0',
    '\tfilemode = true',
    '\tbare = true',
    '\thooksPath = /dev/null',
    '[http]',
    '\treceivepack = true',
    '[uploadpack]',
    '\tallowAnySHA1InWant = true',
    '',
  ].join('\n');
  await Promise.all([
    writeFile(join(gitDir, 'HEAD'), `ref: refs/heads/${defaultBranch}\n`),
    writeFile(join(gitDir, 'config'), config),
    writeFile(join(gitDir, 'description'), 'GitHub twin repository\n'),
  ]);
}

export interface Signature {
  name: string;
  email: string;
}

/** One `git fast-import` run commits all files at once: much faster than a temp clone. */
export async function commitFiles(
  gitDir: string,
  input: {
    branch: string;
    parent: string | null;
    files: Record<string, string | null>;
    message: string;
    author: Signature;
    committer?: Signature;
  },
): Promise<string> {
  const when = `${Math.floor(Date.now() / 1000)} +0000`;
  const committer = input.committer ?? input.author;
  const chunks: Buffer[] = [];
  const line = (s: string) => chunks.push(Buffer.from(`${s}\n`, 'utf8'));
  const data = (s: string) => {
    const b = Buffer.from(s, 'utf8');
    line(`data ${b.length}`);
    chunks.push(b);
    line('');
  };
  line(`commit refs/heads/${input.branch}`);
  line(`author ${input.author.name} <${input.author.email}> ${when}`);
  line(`committer ${committer.name} <${committer.email}> ${when}`);
  data(input.message);
  if (input.parent) line(`from ${input.parent}`);
  for (const [path, content] of Object.entries(input.files)) {
    const quoted = JSON.stringify(path);
    if (content === null) line(`D ${quoted}`);
    else {
      line(`M 100644 inline ${quoted}`);
      data(content);
    }
  }
  line('done');
  await gitOk(['fast-import', '--quiet', '--done', '--force'], { cwd: gitDir, input: Buffer.concat(chunks) });
  // fast-import writes a loose ref; reading it saves a process. Packed refs fall back to rev-parse.
  const loose = await readFile(join(gitDir, 'refs', 'heads', ...input.branch.split('/')), 'utf8').catch(
    () => '',
  );
  const sha = /^[0-9a-f]{40}\s*$/.test(loose)
    ? loose.trim()
    : (await gitOk(['rev-parse', `refs/heads/${input.branch}`], { cwd: gitDir })).trim();
  knownCommit(gitDir, sha);
  return sha;
}

/**
 * The branches as `git for-each-ref refs/heads/` lists them, read from the ref files: loose refs
 * override packed-refs, sorted by name. Null when a file is not a plain sha (a symbolic ref, a ref
 * being written), so the caller asks git instead.
 */
async function readBranchFiles(gitDir: string): Promise<Record<string, string> | null> {
  const found = new Map<string, string>();
  const packed = await readFile(join(gitDir, 'packed-refs'), 'utf8').catch(() => '');
  for (const l of packed.split('\n')) {
    if (!l || l.startsWith('#') || l.startsWith('^')) continue;
    const [sha = '', ref = ''] = l.split(' ');
    if (!SHA.test(sha)) return null;
    if (ref.startsWith('refs/heads/')) found.set(ref, sha);
  }
  const walk = async (dir: string, prefix: string): Promise<boolean> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const ref = `${prefix}${e.name}`;
      if (e.isDirectory()) {
        if (!(await walk(join(dir, e.name), `${ref}/`))) return false;
        continue;
      }
      if (e.name.endsWith('.lock') || !e.isFile()) return false;
      const content = await readFile(join(dir, e.name), 'utf8').catch(() => null);
      if (content === null) return false;
      const sha = content.trim();
      if (!SHA.test(sha) || content !== `${sha}\n`) return false;
      found.set(ref, sha);
    }
    return true;
  };
  if (!(await walk(join(gitDir, 'refs', 'heads'), 'refs/heads/'))) return null;
  const branches: Record<string, string> = {};
  for (const ref of [...found.keys()].sort(byBytes))
    branches[ref.slice('refs/heads/'.length)] = found.get(ref)!;
  return branches;
}

/** git sorts ref names by bytes. */
function byBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

export async function listBranches(gitDir: string): Promise<Record<string, string>> {
  const fromFiles = await readBranchFiles(gitDir);
  if (fromFiles) return fromFiles;
  const out = await gitOk(['for-each-ref', '--format=%(objectname) %(refname)', 'refs/heads/'], {
    cwd: gitDir,
  });
  const branches: Record<string, string> = {};
  for (const l of out.split('\n')) {
    const [sha, ref] = l.split(' ');
    if (sha && ref?.startsWith('refs/heads/')) branches[ref.slice('refs/heads/'.length)] = sha;
  }
  return branches;
}

export async function resolveRef(gitDir: string, ref: string): Promise<string | null> {
  if (ref.startsWith('-')) return null;
  // A full sha git has already called a commit here is still one (objects are never deleted here).
  if (SHA.test(ref) && remembered(gitDir, `commit ${ref}`)) return ref;
  const r = await runGit(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { cwd: gitDir });
  if (r.code !== 0) return null;
  const sha = r.stdout.toString('utf8').trim();
  if (SHA.test(sha)) knownCommit(gitDir, sha);
  return sha;
}

export async function deleteBranch(gitDir: string, branch: string): Promise<boolean> {
  const r = await runGit(['update-ref', '-d', `refs/heads/${branch}`], { cwd: gitDir });
  return r.code === 0;
}

/** Copies `refspecs`, and the objects they need, from the repository at `from` into `gitDir`. */
export async function fetchRefs(gitDir: string, from: string, refspecs: string[]): Promise<void> {
  await gitOk(['fetch', '--no-tags', '--quiet', from, ...refspecs], { cwd: gitDir });
}

/** Points `ref` at `sha`, or deletes it when `sha` is null. */
export async function setRef(gitDir: string, ref: string, sha: string | null): Promise<void> {
  await gitOk(sha === null ? ['update-ref', '-d', ref] : ['update-ref', ref, sha], { cwd: gitDir });
}

export async function countAhead(gitDir: string, base: string, head: string): Promise<number> {
  const key = `ahead ${base}..${head}`;
  const immutable = SHA.test(base) && SHA.test(head);
  const known = immutable ? remembered<number>(gitDir, key) : undefined;
  if (known !== undefined) return known;
  const out = await gitOk(['rev-list', '--count', `${base}..${head}`], { cwd: gitDir });
  const count = Number(out.trim());
  return immutable ? remember(gitDir, key, count) : count;
}

export type PathEntry =
  | { type: 'file'; sha: string; size: number; content: Buffer }
  | {
      type: 'dir';
      entries: { name: string; type: 'file' | 'dir' | 'submodule'; sha: string; size: number }[];
    };

export async function readPath(gitDir: string, commit: string, path: string): Promise<PathEntry | null> {
  const clean = path.replace(/^\/+|\/+$/g, '');
  const spec = `${commit}:${clean}`;
  const t = await runGit(['cat-file', '-t', spec], { cwd: gitDir });
  if (t.code !== 0) return null;
  const type = t.stdout.toString('utf8').trim();
  if (type === 'blob') {
    const sha = (await gitOk(['rev-parse', spec], { cwd: gitDir })).trim();
    const content = (await runGit(['cat-file', 'blob', sha], { cwd: gitDir })).stdout;
    return { type: 'file', sha, size: content.length, content };
  }
  if (type !== 'tree') return null;
  const out = await gitOk(['ls-tree', '-l', '-z', spec], { cwd: gitDir });
  const entries = out
    .split('\0')
    .filter(Boolean)
    .map((rec) => {
      const [meta = '', name = ''] = rec.split('\t');
      const [, kind, sha = '', size] = meta.split(/\s+/);
      const entryType: 'file' | 'dir' | 'submodule' =
        kind === 'tree' ? 'dir' : kind === 'commit' ? 'submodule' : 'file';
      return { name, type: entryType, sha, size: size === '-' || size === undefined ? 0 : Number(size) };
    });
  return { type: 'dir', entries };
}

/** Commits reachable from `ref` (a sha, `a..b` of shas, or a ref name), newest first. */
export async function gitLog(gitDir: string, ref: string): Promise<CommitInfo[]> {
  if (ref.startsWith('refs/heads/')) {
    // A branch is read from its file, so its history is the memoized history of a sha.
    const branches = await readBranchFiles(gitDir);
    if (branches) {
      const sha = branches[ref.slice('refs/heads/'.length)];
      return sha ? gitLog(gitDir, sha) : [];
    }
  }
  const immutable = ref.split('..').every((part) => SHA.test(part)) && ref.split('..').length <= 2;
  const key = `log ${ref}`;
  const known = immutable ? remembered<CommitInfo[]>(gitDir, key) : undefined;
  // Callers may reorder the list (git-http reverses it): each gets its own copy.
  if (known) return known.map((c) => ({ ...c, parents: [...c.parents] }));
  const commits = await gitLogUncached(gitDir, ref);
  if (immutable && commits.length > 0) {
    remember(
      gitDir,
      key,
      commits.map((c) => ({ ...c, parents: [...c.parents] })),
    );
  }
  for (const c of commits) knownCommit(gitDir, c.sha);
  return commits;
}

async function gitLogUncached(gitDir: string, ref: string): Promise<CommitInfo[]> {
  const r = await runGit(['log', '-z', '--format=%H%x1f%P%x1f%an%x1f%ae%x1f%cn%x1f%B', ref, '--'], {
    cwd: gitDir,
  });
  if (r.code !== 0) return [];
  return r.stdout
    .toString('utf8')
    .split('\0')
    .filter(Boolean)
    .map((rec) => {
      const [sha = '', parents = '', authorName = '', authorEmail = '', committerName = '', message = ''] =
        rec.split('\x1f');
      return {
        sha,
        parents: parents ? parents.split(' ') : [],
        authorName,
        authorEmail,
        committerName,
        message: message.trimEnd(),
      };
    });
}

export async function gitDiff(gitDir: string, base: string, head: string): Promise<string> {
  const immutable = SHA.test(base) && SHA.test(head);
  const key = `diff ${base}...${head}`;
  const known = immutable ? remembered<string>(gitDir, key) : undefined;
  if (known !== undefined) return known;
  const diff = await gitOk(['diff', `${base}...${head}`], { cwd: gitDir });
  return immutable ? remember(gitDir, key, diff) : diff;
}

export async function diffStat(
  gitDir: string,
  base: string,
  head: string,
): Promise<{ additions: number; deletions: number; changedFiles: number }> {
  const immutable = SHA.test(base) && SHA.test(head);
  const key = `numstat ${base}...${head}`;
  const known = immutable ? remembered<string>(gitDir, key) : undefined;
  const out = known ?? (await gitOk(['diff', '--numstat', `${base}...${head}`], { cwd: gitDir }));
  if (immutable && known === undefined) remember(gitDir, key, out);
  let additions = 0;
  let deletions = 0;
  let changedFiles = 0;
  for (const l of out.split('\n').filter(Boolean)) {
    const [a, d] = l.split('\t');
    additions += Number(a) || 0;
    deletions += Number(d) || 0;
    changedFiles++;
  }
  return { additions, deletions, changedFiles };
}

/**
 * Runs `git http-backend` as a CGI for one request, streaming the body in and the answer out.
 * Gzip request bodies are inflated by http-backend itself (it reads HTTP_CONTENT_ENCODING).
 */
export function serveGitHttp(
  req: IncomingMessage,
  res: ServerResponse,
  input: { projectRoot: string; pathInfo: string; query: string; remoteUser: string },
): Promise<number> {
  return new Promise((resolve) => {
    const env: Record<string, string> = {
      GIT_PROJECT_ROOT: input.projectRoot,
      GIT_HTTP_EXPORT_ALL: '1',
      PATH_INFO: input.pathInfo,
      REMOTE_USER: input.remoteUser,
      REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
      QUERY_STRING: input.query,
      REQUEST_METHOD: req.method ?? 'GET',
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      GATEWAY_INTERFACE: 'CGI/1.1',
    };
    if (req.headers['content-length']) env.CONTENT_LENGTH = req.headers['content-length'];
    const encoding = req.headers['content-encoding'];
    if (encoding) env.HTTP_CONTENT_ENCODING = encoding;
    const protocol = req.headers['git-protocol'];
    if (typeof protocol === 'string') env.GIT_PROTOCOL = protocol;
    const child = spawn('git', ['http-backend'], { env: gitEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
    let headerBuf = Buffer.alloc(0);
    let headersDone = false;
    let status = 200;
    child.stderr.on('data', () => {});
    child.stdin.on('error', () => {});
    req.pipe(child.stdin);
    child.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) {
        res.write(chunk);
        return;
      }
      headerBuf = Buffer.concat([headerBuf, chunk]);
      let end = headerBuf.indexOf('\r\n\r\n');
      let sepLen = 4;
      if (end < 0) {
        end = headerBuf.indexOf('\n\n');
        sepLen = 2;
      }
      if (end < 0) return;
      headersDone = true;
      const head = headerBuf.subarray(0, end).toString('utf8');
      for (const l of head.split(/\r?\n/)) {
        const i = l.indexOf(':');
        if (i < 0) continue;
        const name = l.slice(0, i).trim();
        const value = l.slice(i + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 200;
        else res.setHeader(name, value);
      }
      res.statusCode = status;
      res.write(headerBuf.subarray(end + sepLen));
    });
    child.on('close', () => {
      if (!headersDone) {
        res.statusCode = 500;
        status = 500;
      }
      // The caller ends the response, after it has updated state (pushes must be visible when git returns).
      resolve(status);
    });
    child.on('error', () => {
      if (!res.headersSent) res.statusCode = 500;
      resolve(500);
    });
  });
}

/**
 * The hunk of `git diff base...head -- path` that contains new-side `line`, cut after that line, which is what
 * GitHub puts in a review comment's `diff_hunk`. Null when the line is outside the diff.
 */
export async function diffHunkAt(
  gitDir: string,
  base: string,
  head: string,
  path: string,
  line: number,
): Promise<string | null> {
  const r = await runGit(['diff', `${base}...${head}`, '--', path], { cwd: gitDir });
  if (r.code !== 0) return null;
  let hunk: string[] | null = null;
  let newLine = 0;
  for (const l of r.stdout.toString('utf8').split('\n')) {
    const header = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(l);
    if (header) {
      hunk = [l];
      newLine = Number(header[1]) - 1;
      continue;
    }
    if (!hunk || l.startsWith('\\')) continue;
    hunk.push(l);
    if (l.startsWith('-')) continue;
    newLine += 1;
    if (newLine === line) return hunk.join('\n');
  }
  return null;
}
