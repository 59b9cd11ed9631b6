import { createPublicKey, generateKeyPairSync, randomBytes, verify as verifySignature } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PullwrightError } from '../../../src/errors.js';
import { FaultInjector } from './faults.js';
import {
  commitFiles,
  countAhead,
  deleteBranch,
  diffHunkAt,
  diffStat,
  fetchRefs,
  gitDiff,
  gitLog,
  initBareRepo,
  listBranches,
  readPath,
  resolveRef,
  serveGitHttp,
  setRef,
  ZERO_SHA,
} from './git.js';
import { answerGraphql, parseGraphqlOperation } from './graphql.js';
import { type Json, nodeId, Serializer } from './serialize.js';
import {
  DEFAULT_PERMISSIONS,
  type InstallationRec,
  type IssueRec,
  type RepoRec,
  type ReviewCommentRec,
  type TokenRec,
  TwinState,
  type UserRec,
} from './state.js';
import type {
  AccessLevel,
  AuthKind,
  Delivery,
  FaultRule,
  GitHubTwin,
  Permission,
  PushRecord,
  RequestRecord,
  SeedFile,
  StartGitHubTwinOptions,
  TwinActions,
  TwinInspect,
  TwinSeed,
} from './types.js';
import { Deliverer } from './webhooks.js';

const DOCS = 'https://docs.github.com/rest';
const REACTIONS = new Set(['+1', '-1', 'laugh', 'confused', 'heart', 'hooray', 'rocket', 'eyes']);
const PERMISSION_RANK: Record<Permission | 'none', number> = {
  none: 0,
  read: 1,
  triage: 2,
  write: 3,
  maintain: 4,
  admin: 5,
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Json,
    readonly headers: Record<string, string> = {},
  ) {
    super(String(body.message));
  }
}

const notFound = () => new HttpError(404, { message: 'Not Found', documentation_url: DOCS, status: '404' });
const badCredentials = () =>
  new HttpError(401, { message: 'Bad credentials', documentation_url: DOCS, status: '401' });
const requiresAuth = () =>
  new HttpError(401, { message: 'Requires authentication', documentation_url: DOCS, status: '401' });
const forbidden = (message = 'Resource not accessible by integration') =>
  new HttpError(403, { message, documentation_url: DOCS, status: '403' });
const validation = (errors: Json[], message = 'Validation Failed') =>
  new HttpError(422, { message, errors, documentation_url: DOCS, status: '422' });
const invalidBody = (message: string) =>
  new HttpError(422, { message, documentation_url: DOCS, status: '422' });

type Auth =
  | { kind: 'none' }
  | { kind: 'invalid' }
  | { kind: 'jwt' }
  | { kind: 'installation'; token: string; rec: TokenRec }
  | { kind: 'user'; user: UserRec };

interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: string[];
  auth: Auth;
  record: { installationId: number | null; login: string | null; outOfScope: boolean };
  body(): Promise<Json>;
}

type Handler = (
  ctx: Ctx,
) => Promise<{ status: number; json?: unknown; raw?: Buffer; headers?: Record<string, string> }>;

interface Route {
  method: string;
  pattern: RegExp;
  handler: Handler;
}

function nowIso(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function randomToken(prefix: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(36);
  let out = prefix;
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return out;
}

function b64urlJson(part: string): Json | null {
  try {
    const v: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : null;
  } catch {
    return null;
  }
}

function isLoopback(address: string | undefined): boolean {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}

async function readBody(req: IncomingMessage, limit = 25 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > limit) throw invalidBody('Body too large');
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function strList(v: unknown): string[] {
  if (!Array.isArray(v)) return [];
  return v.filter((x): x is string => typeof x === 'string');
}

let cachedKey: string | undefined;

/** One generated key per process: RSA generation costs ~100 ms and tests start many twins. */
function sharedKey(): string {
  cachedKey ??= generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  }).privateKey;
  return cachedKey;
}

/** Starts a GitHub twin on loopback. See README.md for the contract. */
export async function startGitHubTwin(options: StartGitHubTwinOptions = {}): Promise<GitHubTwin> {
  const host = options.host ?? '127.0.0.1';
  const ownDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'gh-twin-')));
  const reposRoot = join(dataDir, 'repos');
  const appId = options.appId ?? 1;
  const slug = options.appSlug ?? 'pullwright';
  const tokenTtl = options.tokenTtlSeconds ?? 3600;
  const pushWebhooks = options.pushWebhooks ?? true;
  const restWebhooks = options.restWebhooks ?? false;
  const webhookSecret = options.webhookSecret ?? randomBytes(20).toString('hex');
  const privateKey = options.privateKey ?? sharedKey();
  const publicKeyObject = createPublicKey(privateKey);
  const publicKey = publicKeyObject.export({ type: 'spki', format: 'pem' }).toString();

  const state = new TwinState();
  const botLogin = `${slug}[bot]`;
  // The bot acts only through installation tokens: an empty personal token never authenticates.
  const bot: UserRec = { login: botLogin, id: state.id(), type: 'Bot', token: '' };
  state.users.set(botLogin.toLowerCase(), bot);
  const appOwner = 'twin-app-owner';
  state.users.set(appOwner, { login: appOwner, id: state.id(), type: 'User', token: '' });

  const faults = new FaultInjector();
  const deliverer = new Deliverer(webhookSecret, options.webhookUrl ?? null, appId);
  const requests: RequestRecord[] = [];
  const pushes: PushRecord[] = [];
  const repoLocks = new Map<number, Promise<unknown>>();
  const hunks = new Map<string, string | null>();
  const createdAt = nowIso();

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        res.statusCode = 500;
        res.setHeader('content-type', 'application/json; charset=utf-8');
        res.end(
          JSON.stringify({ message: `twin error: ${err instanceof Error ? err.message : String(err)}` }),
        );
      } else res.end();
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const ser = new Serializer(url, state, {
    id: appId,
    slug,
    name: slug,
    owner: appOwner,
    botLogin,
    botId: bot.id,
    createdAt,
  });

  // ---------- helpers over state ----------

  function mustUser(login: string): UserRec {
    const u = state.findUser(login);
    if (!u) throw new PullwrightError('not_found', `Unknown user ${login}; seed it with twin.seed.user()`);
    return u;
  }

  function ensureUser(login: string): UserRec {
    const existing = state.findUser(login);
    if (existing) return existing;
    return seedUser({ login });
  }

  function mustRepo(fullName: string): RepoRec {
    const r = state.findRepo(fullName);
    if (!r) throw new PullwrightError('not_found', `Unknown repo ${fullName}`);
    return r;
  }

  function mustIssue(repo: RepoRec, number: number): IssueRec {
    const i = state.issuesOf(repo).get(number);
    if (!i) throw new PullwrightError('not_found', `Unknown issue ${repo.fullName}#${number}`);
    return i;
  }

  function withRepoLock<T>(repo: RepoRec, fn: () => Promise<T>): Promise<T> {
    const prev = repoLocks.get(repo.id) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    repoLocks.set(
      repo.id,
      next.catch(() => {}),
    );
    return next;
  }

  function installationPayload(repo: RepoRec | null, inst?: InstallationRec): Json | undefined {
    const i = inst ?? (repo ? state.installationForRepo(repo) : undefined);
    return i ? { id: i.id, node_id: nodeId('Installation', i.id) } : undefined;
  }

  async function send(event: string, payload: Json, repo: RepoRec | null, inst?: InstallationRec) {
    const installation = installationPayload(repo, inst);
    const full: Json = { ...payload };
    if (installation && !full.installation) full.installation = installation;
    const id = inst?.id ?? (repo ? (state.installationForRepo(repo)?.id ?? null) : null);
    return deliverer.deliver(event, full, id);
  }

  /**
   * Like GitHub, a REST change can itself trigger a webhook (the app sees its own comments). Off by default
   * (`restWebhooks`); when on, deliveries run in the background after the response, tracked by settled().
   */
  function restEvent(ctx: Ctx, repo: RepoRec, event: string, build: (sender: Json) => Promise<Json> | Json) {
    if (!restWebhooks) return;
    const sender = ser.user(actorLogin(ctx.auth));
    void deliverer.track(
      (async () => {
        await send(event, await build(sender), repo);
      })().catch(() => {}),
    );
  }

  function issueCounts(repo: RepoRec, i: IssueRec) {
    return ser.issue(repo, i);
  }

  async function fullPull(repo: RepoRec, i: IssueRec): Promise<Json> {
    const p = i.pull!;
    let commits = 0;
    let stat = { additions: 0, deletions: 0, changedFiles: 0 };
    try {
      commits = await countAhead(repo.gitDir, p.baseSha, p.headSha);
      stat = await diffStat(repo.gitDir, p.baseSha, p.headSha);
    } catch {
      // A deleted head keeps the recorded numbers at zero, as a closed PR whose branch is gone.
    }
    return ser.pull(repo, i, { commits, ...stat });
  }

  // ---------- seeding ----------

  function seedUser(input: { login: string; type?: 'User' | 'Bot'; token?: string }) {
    const existing = state.findUser(input.login);
    if (existing) return { ...existing };
    const u: UserRec = {
      login: input.login,
      id: state.id(),
      type: input.type ?? 'User',
      token: input.token ?? randomToken('ghp_'),
    };
    state.users.set(u.login.toLowerCase(), u);
    return { ...u };
  }

  async function seedRepo(input: {
    owner: string;
    name: string;
    files?: Record<string, string>;
    defaultBranch?: string;
    private?: boolean;
    description?: string;
  }) {
    ensureUser(input.owner);
    const fullName = `${input.owner}/${input.name}`;
    if (state.findRepo(fullName)) throw new PullwrightError('conflict', `Repo ${fullName} already exists`);
    if (!/^[A-Za-z0-9_.-]+$/.test(input.name) || !/^[A-Za-z0-9-]+$/.test(input.owner)) {
      throw new PullwrightError('input_invalid', `Invalid repo name ${fullName}`);
    }
    const defaultBranch = input.defaultBranch ?? 'main';
    const gitDir = join(reposRoot, input.owner.toLowerCase(), `${input.name.toLowerCase()}.git`);
    await initBareRepo(gitDir, defaultBranch);
    const files = input.files ?? { 'README.md': `# ${input.name}\n` };
    const headSha = await commitFiles(gitDir, {
      branch: defaultBranch,
      parent: null,
      files,
      message: 'Initial commit',
      author: { name: input.owner, email: `${input.owner}@users.noreply.twin` },
    });
    const repo = addRepo({
      owner: input.owner,
      name: input.name,
      private: input.private ?? false,
      description: input.description ?? null,
      defaultBranch,
      gitDir,
      forkOf: null,
    });
    return { id: repo.id, fullName, defaultBranch, headSha };
  }

  /** Records a repository whose git dir is ready: a fresh id, no collaborators, labels or issues yet. */
  function addRepo(
    input: Pick<
      RepoRec,
      'owner' | 'name' | 'private' | 'description' | 'defaultBranch' | 'gitDir' | 'forkOf'
    >,
  ): RepoRec {
    const at = nowIso();
    const repo: RepoRec = {
      ...input,
      id: state.id(),
      fullName: `${input.owner}/${input.name}`,
      createdAt: at,
      pushedAt: at,
      collaborators: new Map(),
      labels: new Map(),
      nextNumber: 1,
    };
    state.repos.set(repo.fullName.toLowerCase(), repo);
    return repo;
  }

  function seedInstallation(input: {
    account: string;
    repos?: string[];
    permissions?: Record<string, AccessLevel>;
  }): InstallationRec {
    ensureUser(input.account);
    for (const inst of state.installations.values()) {
      if (inst.account.toLowerCase() === input.account.toLowerCase()) {
        throw new PullwrightError('conflict', `The app is already installed on ${input.account}`);
      }
    }
    const inst: InstallationRec = {
      id: state.nextInstallationId++,
      account: input.account,
      repos: input.repos ? new Set(input.repos.map((r) => r.toLowerCase())) : 'all',
      permissions: { ...(input.permissions ?? DEFAULT_PERMISSIONS) },
      createdAt: nowIso(),
    };
    state.installations.set(inst.id, inst);
    return inst;
  }

  function newIssue(
    repo: RepoRec,
    input: { title: string; body?: string | null; author: string; labels?: string[]; assignees?: string[] },
  ): IssueRec {
    ensureUser(input.author);
    const at = nowIso();
    for (const l of input.labels ?? []) ensureLabel(repo, l);
    const issue: IssueRec = {
      id: state.id(),
      repoId: repo.id,
      number: repo.nextNumber++,
      title: input.title,
      body: input.body ?? null,
      state: 'open',
      stateReason: null,
      author: input.author,
      labels: [...new Set(input.labels ?? [])],
      assignees: (input.assignees ?? []).filter((a) => state.findUser(a)).map((a) => mustUser(a).login),
      createdAt: at,
      updatedAt: at,
      closedAt: null,
      pull: null,
    };
    state.issuesOf(repo).set(issue.number, issue);
    return issue;
  }

  function ensureLabel(repo: RepoRec, name: string) {
    const key = name.toLowerCase();
    let l = repo.labels.get(key);
    if (!l) {
      l = { id: state.id(), name, color: 'ededed', description: null };
      repo.labels.set(key, l);
    }
    return l;
  }

  function newComment(repo: RepoRec, number: number, body: string, author: string) {
    mustIssue(repo, number);
    ensureUser(author);
    const at = nowIso();
    const c = {
      id: state.id(),
      repoId: repo.id,
      issueNumber: number,
      body,
      author,
      createdAt: at,
      updatedAt: at,
      history: [body],
    };
    state.comments.set(c.id, c);
    touch(repo, number);
    return c;
  }

  function touch(repo: RepoRec, number: number) {
    const i = state.issuesOf(repo).get(number);
    if (i) i.updatedAt = nowIso();
  }

  async function newPull(
    repo: RepoRec,
    input: {
      head: string;
      headRepo?: string;
      base?: string;
      title: string;
      body?: string | null;
      author: string;
      draft?: boolean;
    },
  ): Promise<IssueRec> {
    const base = input.base ?? repo.defaultBranch;
    const headRepo = input.headRepo ? mustRepo(input.headRepo) : repo;
    if (headRepo !== repo && headRepo.forkOf !== repo.id) {
      throw validation([{ resource: 'PullRequest', field: 'head', code: 'invalid' }]);
    }
    const headSha = (await listBranches(headRepo.gitDir))[input.head];
    const baseSha = (await listBranches(repo.gitDir))[base];
    if (!headSha) throw validation([{ resource: 'PullRequest', field: 'head', code: 'invalid' }]);
    if (!baseSha) throw validation([{ resource: 'PullRequest', field: 'base', code: 'invalid' }]);
    const headRepoId = headRepo === repo ? null : headRepo.id;
    for (const i of state.issuesOf(repo).values()) {
      if (
        i.pull &&
        i.state === 'open' &&
        i.pull.head === input.head &&
        i.pull.headRepoId === headRepoId &&
        i.pull.base === base
      ) {
        throw validation([
          {
            resource: 'PullRequest',
            code: 'custom',
            message: `A pull request already exists for ${headRepo.owner}:${input.head}.`,
          },
        ]);
      }
    }
    // Like GitHub, the base repository gets the fork's commits (under refs/pull/N/head once
    // the number is known), so it can compare them and anyone can fetch them from it.
    const forkRef = `refs/twin-forks/${headRepo.id}/${input.head}`;
    if (headRepoId !== null) await fetchRefs(repo.gitDir, headRepo.gitDir, [`+${headSha}:${forkRef}`]);
    if ((await countAhead(repo.gitDir, baseSha, headSha)) === 0) {
      throw validation([
        { resource: 'PullRequest', code: 'custom', message: `No commits between ${base} and ${input.head}` },
      ]);
    }
    const issue = newIssue(repo, { title: input.title, body: input.body ?? null, author: input.author });
    issue.pull = {
      id: state.id(),
      headRepoId,
      head: input.head,
      base,
      headSha,
      baseSha,
      draft: input.draft ?? false,
      mergedAt: null,
    };
    if (headRepoId !== null) {
      await setRef(repo.gitDir, `refs/pull/${issue.number}/head`, headSha);
      await setRef(repo.gitDir, forkRef, null);
    }
    return issue;
  }

  function newReviewComment(
    repo: RepoRec,
    issue: IssueRec,
    input: {
      author: string;
      body: string;
      path?: string;
      line?: number;
      inReplyTo?: number;
      reviewId?: number;
    },
  ): ReviewCommentRec {
    ensureUser(input.author);
    const at = nowIso();
    let threadId: string;
    let path = input.path ?? '';
    let line = input.line ?? 1;
    let inReplyTo: number | null = null;
    if (input.inReplyTo !== undefined) {
      const parent = state.reviewComments.get(input.inReplyTo);
      if (!parent || parent.repoId !== repo.id || parent.number !== issue.number) throw notFound();
      // Replies attach to the thread's first comment, as GitHub does.
      const thread = state.threads.get(parent.threadId)!;
      inReplyTo = thread.commentIds[0] ?? parent.id;
      threadId = parent.threadId;
      path = parent.path;
      line = parent.line;
    } else {
      if (!input.path)
        throw validation([{ resource: 'PullRequestReviewComment', field: 'path', code: 'missing_field' }]);
      threadId = nodeId('PullRequestReviewThread', state.id());
      state.threads.set(threadId, {
        id: threadId,
        repoId: repo.id,
        number: issue.number,
        path,
        line,
        resolved: false,
        commentIds: [],
      });
    }
    const reviewId =
      input.reviewId ??
      (() => {
        const r = {
          id: state.id(),
          repoId: repo.id,
          number: issue.number,
          author: input.author,
          state: 'COMMENTED' as const,
          body: '',
          commitId: issue.pull!.headSha,
          submittedAt: at,
        };
        state.reviews.push(r);
        return r.id;
      })();
    const c: ReviewCommentRec = {
      id: state.id(),
      repoId: repo.id,
      number: issue.number,
      reviewId,
      threadId,
      inReplyTo,
      path,
      line,
      body: input.body,
      author: input.author,
      commitId: issue.pull!.headSha,
      createdAt: at,
      updatedAt: at,
    };
    state.reviewComments.set(c.id, c);
    state.threads.get(threadId)!.commentIds.push(c.id);
    return c;
  }

  /** Fills `diff_hunk` from the real diff the first time a review comment is read. */
  async function withHunks(repo: RepoRec, comments: ReviewCommentRec[]): Promise<ReviewCommentRec[]> {
    for (const c of comments) {
      if (c.diffHunk !== undefined) continue;
      const issue = state.issuesOf(repo).get(c.number);
      const key = issue?.pull ? `${issue.pull.baseSha}:${c.commitId}:${c.line}:${c.path}` : null;
      let hunk = key ? hunks.get(key) : undefined;
      if (key && hunk === undefined && issue?.pull) {
        // One git process per distinct position, not per comment: a long thread shares one hunk.
        hunk = await diffHunkAt(repo.gitDir, issue.pull.baseSha, c.commitId, c.path, c.line).catch(
          () => null,
        );
        hunks.set(key, hunk);
      }
      c.diffHunk = hunk ?? `@@ -${c.line},1 +${c.line},1 @@`;
    }
    return comments;
  }

  function mintToken(
    inst: InstallationRec,
    opts: {
      repositories?: string[];
      repositoryIds?: number[];
      permissions?: Record<string, AccessLevel>;
      ttlSeconds?: number;
    },
  ) {
    const instRepos = state.installationRepos(inst);
    let repos: Set<string> | null = null;
    if (opts.repositories || opts.repositoryIds) {
      repos = new Set();
      for (const name of opts.repositories ?? []) {
        const short = name.includes('/') ? name.split('/')[1]! : name;
        const r = instRepos.find((x) => x.name.toLowerCase() === short.toLowerCase());
        if (!r) {
          throw invalidBody(
            'There is at least one repository that does not exist or is not accessible to the parent installation.',
          );
        }
        repos.add(r.fullName.toLowerCase());
      }
      for (const id of opts.repositoryIds ?? []) {
        const r = instRepos.find((x) => x.id === id);
        if (!r) {
          throw invalidBody(
            'There is at least one repository that does not exist or is not accessible to the parent installation.',
          );
        }
        repos.add(r.fullName.toLowerCase());
      }
    }
    let permissions = { ...inst.permissions };
    if (opts.permissions) {
      permissions = {};
      for (const [k, v] of Object.entries(opts.permissions)) {
        const granted = inst.permissions[k];
        if (!granted || (granted === 'read' && v === 'write') || (v !== 'read' && v !== 'write')) {
          throw invalidBody('The permissions requested are not granted to this installation.');
        }
        permissions[k] = v;
      }
      if (!permissions.metadata && inst.permissions.metadata) permissions.metadata = 'read';
    }
    const token = randomToken('ghs_');
    const expiresAtMs = Date.now() + (opts.ttlSeconds ?? tokenTtl) * 1000;
    const rec: TokenRec = { installationId: inst.id, expiresAt: expiresAtMs, repos, permissions };
    state.tokens.set(token, rec);
    return { token, rec, expiresAt: new Date(expiresAtMs).toISOString().replace(/\.\d{3}Z$/, 'Z') };
  }

  // ---------- auth ----------

  function verifyJwt(jwt: string): boolean {
    const parts = jwt.split('.');
    if (parts.length !== 3) return false;
    const [h, p, s] = parts as [string, string, string];
    const header = b64urlJson(h);
    const payload = b64urlJson(p);
    if (!header || !payload || header.alg !== 'RS256') return false;
    const ok = verifySignature(
      'sha256',
      Buffer.from(`${h}.${p}`),
      publicKeyObject,
      Buffer.from(s, 'base64url'),
    );
    if (!ok) return false;
    if (String(payload.iss) !== String(appId)) return false;
    const now = Math.floor(Date.now() / 1000);
    const exp = payload.exp;
    const iat = payload.iat;
    if (typeof exp !== 'number' || typeof iat !== 'number') return false;
    // GitHub refuses expired tokens, tokens issued in the future, and lifetimes over 10 minutes.
    if (exp <= now) return false;
    if (iat > now + 60) return false;
    if (exp - iat > 660) return false;
    return true;
  }

  function credentialFromHeader(req: IncomingMessage): string | null | 'malformed' {
    const h = req.headers.authorization;
    if (!h) return null;
    const m = /^(token|bearer|basic)\s+(.+)$/i.exec(h.trim());
    if (!m) return 'malformed';
    const scheme = m[1]!.toLowerCase();
    const value = m[2]!.trim();
    if (scheme !== 'basic') return value;
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    return i < 0 ? decoded : decoded.slice(i + 1);
  }

  function authenticate(req: IncomingMessage): Auth {
    const cred = credentialFromHeader(req);
    if (cred === null) return { kind: 'none' };
    if (cred === 'malformed') return { kind: 'invalid' };
    if (cred.startsWith('ghs_')) {
      const rec = state.tokens.get(cred);
      if (!rec || rec.expiresAt <= Date.now() || !state.installations.has(rec.installationId)) {
        return { kind: 'invalid' };
      }
      return { kind: 'installation', token: cred, rec };
    }
    if (cred.startsWith('eyJ')) return verifyJwt(cred) ? { kind: 'jwt' } : { kind: 'invalid' };
    for (const u of state.users.values()) if (u.token && u.token === cred) return { kind: 'user', user: u };
    return { kind: 'invalid' };
  }

  function tokenRepos(rec: TokenRec): RepoRec[] {
    const inst = state.installations.get(rec.installationId);
    if (!inst) return [];
    const all = state.installationRepos(inst);
    return rec.repos ? all.filter((r) => rec.repos!.has(r.fullName.toLowerCase())) : all;
  }

  /**
   * Resolves {owner}/{repo} for a REST call and enforces access like GitHub: a repo the caller cannot see is
   * a 404 (never a 403, which would leak its existence); a visible repo without the needed permission is a 403.
   */
  function repoAccess(
    ctx: Ctx,
    owner: string,
    name: string,
    need: { perm: string; level: AccessLevel; userLevel?: Permission },
  ): RepoRec {
    const repo = state.findRepo(`${owner}/${name}`);
    const auth = ctx.auth;
    if (auth.kind === 'invalid') throw badCredentials();
    if (auth.kind === 'jwt') throw forbidden('A JSON web token could not be used for this endpoint.');
    if (auth.kind === 'installation') {
      ctx.record.installationId = auth.rec.installationId;
      const inScope = repo && tokenRepos(auth.rec).some((r) => r.id === repo.id);
      if (!repo || !inScope) {
        ctx.record.outOfScope = true;
        throw notFound();
      }
      const granted = auth.rec.permissions[need.perm];
      const ok =
        need.perm === 'metadata'
          ? true
          : granted === 'write' || (granted === 'read' && need.level === 'read');
      if (!ok) throw forbidden();
      return repo;
    }
    if (!repo) throw notFound();
    if (auth.kind === 'none') {
      if (repo.private) throw notFound();
      if (need.level === 'write') throw requiresAuth();
      return repo;
    }
    ctx.record.login = auth.user.login;
    const perm = state.permissionOf(repo, auth.user.login);
    if (perm === 'none') throw notFound();
    const required = need.userLevel ?? (need.level === 'write' ? 'write' : 'read');
    if (PERMISSION_RANK[perm] < PERMISSION_RANK[required]) {
      throw forbidden('Must have push access to this repository.');
    }
    return repo;
  }

  function actorLogin(auth: Auth): string {
    if (auth.kind === 'installation') return botLogin;
    if (auth.kind === 'user') return auth.user.login;
    return 'ghost';
  }

  function requireJwt(ctx: Ctx) {
    if (ctx.auth.kind !== 'jwt') {
      if (ctx.auth.kind === 'none') {
        throw new HttpError(401, {
          message: 'A JSON web token could not be decoded',
          documentation_url: DOCS,
          status: '401',
        });
      }
      throw badCredentials();
    }
  }

  function paginate<T>(ctx: Ctx, items: T[]): { items: T[]; headers: Record<string, string> } {
    const perPage = Math.min(100, Math.max(1, Number(ctx.url.searchParams.get('per_page') ?? 30) || 30));
    const page = Math.max(1, Number(ctx.url.searchParams.get('page') ?? 1) || 1);
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const link = (p: number) => {
      const u = new URL(ctx.url.toString());
      u.searchParams.set('per_page', String(perPage));
      u.searchParams.set('page', String(p));
      return `${url}${u.pathname}${u.search}`;
    };
    const links: string[] = [];
    if (page > 1) links.push(`<${link(page - 1)}>; rel="prev"`, `<${link(1)}>; rel="first"`);
    if (page < last) links.push(`<${link(page + 1)}>; rel="next"`, `<${link(last)}>; rel="last"`);
    return {
      items: items.slice((page - 1) * perPage, page * perPage),
      headers: links.length ? { link: links.join(', ') } : {},
    };
  }

  function issueParam(ctx: Ctx, repo: RepoRec, i: number): IssueRec {
    const issue = state.issuesOf(repo).get(Number(ctx.params[i]));
    if (!issue) throw notFound();
    return issue;
  }

  function pullParam(ctx: Ctx, repo: RepoRec, i: number): IssueRec {
    const issue = issueParam(ctx, repo, i);
    if (!issue.pull) throw notFound();
    return issue;
  }

  // ---------- routes ----------

  const routes: Route[] = [];
  const R = '([^/]+)';
  const on = (method: string, path: string, handler: Handler) =>
    routes.push({ method, pattern: new RegExp(`^${path}$`), handler });

  on('GET', '/app', async (ctx) => {
    requireJwt(ctx);
    return { status: 200, json: ser.appJson() };
  });

  on('GET', '/app/installations', async (ctx) => {
    requireJwt(ctx);
    const page = paginate(
      ctx,
      [...state.installations.values()].map((i) => ser.installation(i)),
    );
    return { status: 200, json: page.items, headers: page.headers };
  });

  on('GET', '/app/installations/(\\d+)', async (ctx) => {
    requireJwt(ctx);
    const inst = state.installations.get(Number(ctx.params[0]));
    if (!inst) throw notFound();
    return { status: 200, json: ser.installation(inst) };
  });

  on('POST', '/app/installations/(\\d+)/access_tokens', async (ctx) => {
    requireJwt(ctx);
    const inst = state.installations.get(Number(ctx.params[0]));
    if (!inst) throw notFound();
    const body = await ctx.body();
    const repositories = body.repositories === undefined ? undefined : strList(body.repositories);
    const repositoryIds = Array.isArray(body.repository_ids)
      ? body.repository_ids.filter((x): x is number => typeof x === 'number')
      : undefined;
    const permissions =
      body.permissions && typeof body.permissions === 'object'
        ? (body.permissions as Record<string, AccessLevel>)
        : undefined;
    const minted = mintToken(inst, { repositories, repositoryIds, permissions });
    const json: Json = {
      token: minted.token,
      expires_at: minted.expiresAt,
      permissions: minted.rec.permissions,
      repository_selection: minted.rec.repos ? 'selected' : inst.repos === 'all' ? 'all' : 'selected',
    };
    if (minted.rec.repos) json.repositories = tokenRepos(minted.rec).map((r) => ser.repo(r));
    return { status: 201, json };
  });

  on('GET', `/repos/${R}/${R}/installation`, async (ctx) => {
    requireJwt(ctx);
    const repo = state.findRepo(`${ctx.params[0]}/${ctx.params[1]}`);
    const inst = repo ? state.installationForRepo(repo) : undefined;
    if (!inst) throw notFound();
    return { status: 200, json: ser.installation(inst) };
  });

  on('GET', '/installation/repositories', async (ctx) => {
    if (ctx.auth.kind !== 'installation') throw ctx.auth.kind === 'none' ? requiresAuth() : badCredentials();
    const inst = state.installations.get(ctx.auth.rec.installationId)!;
    ctx.record.installationId = inst.id;
    const repos = tokenRepos(ctx.auth.rec);
    const page = paginate(ctx, repos);
    return {
      status: 200,
      json: {
        total_count: repos.length,
        repositories: page.items.map((r) => ser.repo(r)),
        repository_selection: inst.repos === 'all' ? 'all' : 'selected',
      },
      headers: page.headers,
    };
  });

  on('GET', `/repos/${R}/${R}`, async (ctx) => {
    const repo = repoAccess(ctx, ctx.params[0]!, ctx.params[1]!, { perm: 'metadata', level: 'read' });
    return { status: 200, json: ser.repo(repo, { full: true }) };
  });

  const contents: Handler = async (ctx) => {
    const repo = repoAccess(ctx, ctx.params[0]!, ctx.params[1]!, { perm: 'contents', level: 'read' });
    const path = decodeURIComponent(ctx.params[2] ?? '').replace(/^\/+|\/+$/g, '');
    const ref = ctx.url.searchParams.get('ref') ?? repo.defaultBranch;
    const sha = await resolveRef(repo.gitDir, ref);
    if (!sha) {
      throw new HttpError(404, {
        message: `No commit found for the ref ${ref}`,
        documentation_url: DOCS,
        status: '404',
      });
    }
    const entry = await readPath(repo.gitDir, sha, path);
    if (!entry) throw notFound();
    const accept = String(ctx.req.headers.accept ?? '');
    const itemJson = (p: string, type: string, entrySha: string, size: number) => {
      const self = `${url}/repos/${repo.fullName}/contents/${p}?ref=${encodeURIComponent(ref)}`;
      const gitUrl = `${url}/repos/${repo.fullName}/git/${type === 'dir' ? 'trees' : 'blobs'}/${entrySha}`;
      const html = `${url}/${repo.fullName}/${type === 'dir' ? 'tree' : 'blob'}/${ref}/${p}`;
      return {
        name: p.split('/').pop() ?? p,
        path: p,
        sha: entrySha,
        size,
        url: self,
        html_url: html,
        git_url: gitUrl,
        download_url: type === 'file' ? `${url}/${repo.fullName}/raw/${ref}/${p}` : null,
        type,
        _links: { self, git: gitUrl, html },
      };
    };
    if (entry.type === 'file') {
      if (/application\/vnd\.github(\.v3)?\.raw/.test(accept)) {
        return { status: 200, raw: entry.content, headers: { 'content-type': 'text/plain; charset=utf-8' } };
      }
      const b64 = entry.content.toString('base64').replace(/(.{60})/g, '$1\n');
      return {
        status: 200,
        json: { ...itemJson(path, 'file', entry.sha, entry.size), content: b64, encoding: 'base64' },
      };
    }
    return {
      status: 200,
      json: entry.entries.map((e) => itemJson(path ? `${path}/${e.name}` : e.name, e.type, e.sha, e.size)),
    };
  };
  on('GET', `/repos/${R}/${R}/contents`, contents);
  on('GET', `/repos/${R}/${R}/contents/(.+)`, contents);

  // Issues
  on('GET', `/repos/${R}/${R}/issues`, async (ctx) => {
    const repo = repoAccess(ctx, ctx.params[0]!, ctx.params[1]!, { perm: 'issues', level: 'read' });
    const q = ctx.url.searchParams;
    const wantState = q.get('state') ?? 'open';
    const labels = (q.get('labels') ?? '')
      .split(',')
      .filter(Boolean)
      .map((l) => l.toLowerCase());
    const assignee = q.get('assignee');
    const list = [...state.issuesOf(repo).values()]
      .filter((i) => wantState === 'all' || i.state === wantState)
      .filter((i) => labels.every((l) => i.labels.some((x) => x.toLowerCase() === l)))
      .filter((i) => !assignee || i.assignees.some((a) => a.toLowerCase() === assignee.toLowerCase()))
      .sort((a, b) => b.number - a.number);
    const page = paginate(ctx, list);
    return { status: 200, json: page.items.map((i) => issueCounts(repo, i)), headers: page.headers };
  });

  on('POST', `/repos/${R}/${R}/issues`, async (ctx) => {
    const repo = repoAccess(ctx, ctx.params[0]!, ctx.params[1]!, {
      perm: 'issues',
      level: 'write',
      userLevel: 'read',
    });
    const body = await ctx.body();
    const title = str(body.title);
    if (!title) throw validation([{ resource: 'Issue', field: 'title', code: 'missing_field' }]);
    const issue = newIssue(repo, {
      title,
      body: str(body.body) ?? null,
      author: actorLogin(ctx.auth),
      labels: strList(body.labels),
      assignees: strList(body.assignees),
    });
    restEvent(ctx, repo, 'issues', (sender) => ({
      action: 'opened',
      issue: ser.issue(repo, issue),
      repository: ser.repo(repo),
      sender,
    }));
    return { status: 201, json: ser.issue(repo, issue) };
  });

  on('GET', `/repos/${R}/${R}/issues/(\\d+)`, async (ctx) => {
    const repo = repoAccess(ctx, ctx.params[0]!, ctx.params[1]!, { perm: 'issues', level: 'read' });
    return { status: 200, json: ser.issue(repo, issueParam(ctx, repo, 2)) };
  });

  on('PATCH', `/repos/${R}/${R}/issues/(\\d+)`, async (ctx) => {
    const repo = repoAccess(ctx, ctx.params[0]!, ctx.params[1]!, {
      perm: 'issues',
      level: 'write',
      userLevel: 'triage',
    });
    const issue = issueParam(ctx, repo, 2);
    const body = await ctx.body();
    if (body.title !== undefined) {
      const t = str(body.title);
      if (!t) throw validation([{ resource: 'Issue', field: 'title', code: 'missing_field' }]);
      issue.title = t;
    }
    if (body.body !== undefined) issue.body = str(body.body) ?? null;
    if (body.state === 'closed' || body.state === 'open') {
      const wasState = issue.state;
      setIssueState(issue, body.state, str(body.state_reason));
      if (wasState !== issue.state) {
        restEvent(ctx, repo, 'issues', (sender) => ({
          action: issue.state === 'closed' ? 'closed' : 'reopened',
          issue: ser.issue(repo, issue),
          repository: ser.repo(repo),
          sender,
        }));
      }
    } else if (body.state !== undefined) {
      throw validation([{ resource: 'Issue', field: 'state', code: 'invalid' }]);
    }
    if (body.labels !== undefined) {
      const names = Array.isArray(body.labels)
        ? body.labels.map((l) => (typeof l === 'string' ? l : (str((l as Json).name) ?? ''))).filter(Boolean)
        : [];
      for (const n of names) ensureLabel(repo, n);
      issue.labels = [...new Set(names)];
    }
    if (body.assignees !== undefined) {
      issue.assignees = strList(body.assignees).flatMap((a) => {
        const u = state.findUser(a);
        return u ? [u.login] : [];
      });
    }
    issue.updatedAt = nowIso();
    return { status: 200, json: ser.issue(repo, issue) };
  });

  function setIssueState(issue: IssueRec, next: 'open' | 'closed', reason?: string) {
    if (issue.state === next) return;
    issue.state = next;
    issue.closedAt = next === 'closed' ? nowIso() : null;
    issue.stateReason =
      next === 'closed' ? (reason === 'not_planned' ? 'not_planned' : 'completed') : 'reopened';
    issue.updatedAt = nowIso();
  }

  // Issue comments
  on('GET', `/repos/${R}/${R}/issues/(\\d+)/comments`, async (ctx) => {
    const repo = repoAccess(ctx, ctx.params[0]!, ctx.params[1]!, { perm: 'issues', level: 'read' });
    const issue = issueParam(ctx, repo, 2);
    const since = ctx.url.searchParams.get('since');
    const list = [...state.comments.values()]
      .filter((c) => c.repoId === repo.id && c.issueNumber === issue.number)
      .filter((c) => !since || c.updatedAt >= since)
      .sort((a, b) => a.id - b.id);
    const page = paginate(ctx, list);
    return { status: 200, json: page.items.map((c) => ser.comment(repo, c)), headers: page.headers };
  });

  on('POST', `/repos/${R}/${R}/issues/(\\d+)/comments`, async (ctx) => {
    const repo = repoAccess(ctx, ctx.params[0]!, ctx.params[1]!, {
      perm: 'issues',
      level: 'write',
      userLevel: 'read',
    });
    const issue = issueParam(ctx, repo, 2);
    const body = str((await ctx.body()).body);
    if (!body) throw validation([{ resource: 'IssueComment', field: 'body', code: 'missing_field' }]);
    const c = newComment(repo, issue.number, body, actorLogin(ctx.auth));
    restEvent(ctx, repo, 'issue_comment', (sender) => ({
      action: 'created',
      issue: ser.issue(repo, issue),
      comment: ser.comment(repo, c),
      repository: ser.repo(repo),
      sender,
    }));
    return { status: 201, json: ser.comment(repo, c) };
  });

  const commentParam = (ctx: Ctx, repo: RepoRec) => {
    const c = state.comments.get(Number(ctx.params[2]));
    if (!c || c.repoId !== repo.id) throw notFound();
    return c;
  };

  on('GET', `/repos/${R}/${R}/issues/comments/(\\d+)`, async (ctx) => {
    const repo = repoAccess(ctx, ctx.params[0]!, ctx.params[1]!, { perm: 'issues', level: 'read' });
    return { status: 200, json: ser.comment(repo, commentParam(ctx, repo)) };
  });

  on('PATCH', `/repos/${R}/${R}/issues/comments/(\\d+)`, async (ctx) => {
    const repo = repoAccess(ctx, ctx.params[0]!, ctx.params[1]!, {
      perm: 'issues',
      level: 'write',
      userLevel: 'read',
    });
    const c = commentParam(ctx, repo);
    const actor = actorLogin(ctx.auth);
    if (ctx.auth.kind === 'user' && c.author.toLowerCase() !== actor.toLowerCase()) {
      if (PERMISSION_RANK[state.permissionOf(repo, actor)] < PERMISSION_RANK.write)
        throw forbidden('Forbidden');
    }
    const body = str((await ctx.body()).body);
    if (!body) throw validation([{ resource: 'IssueComment', field: 'body', code: 'missing_field' }]);
    const from = c.body;
    editCommentBody(c, body);
    restEvent(ctx, repo, 'issue_comment', (sender) => ({
      action: 'edited',
      changes: { body: { from } },
      issue: ser.issue(repo, mustIssue(repo, c.issueNumber)),
      comment: ser.comment(repo, c),
      repository: ser.repo(repo),
      sender,
    }));
    return { status: 200, json: ser.comment(repo, c) };
  });

  on('DELETE', `/repos/${R}/${R}/issues/comments/(\\d+)`, async (ctx) => {
    const repo = repoAccess(ctx, ctx.params[0]!, ctx.params[1]!, { perm: 'issues', level: 'write' });
    const c = commentParam(ctx, repo);
    state.comments.delete(c.id);
    return { status: 204 };
  });

  function editCommentBody(c: { body: string; updatedAt: string; history: string[] }, body: string) {
    c.body = body;
    c.updatedAt = nowIso();
    c.history.push(body);
  }

  // Reactions
  async function react(
    ctx: Ctx,
    repo: RepoRec,
    subject: 'issue' | 'issue_comment' | 'review_comment',
    subjectId: number,
  ) {
    const content = str((await ctx.body()).content);
    if (!content || !REACTIONS.has(content)) {
      throw validation([{ resource: 'Reaction', field: 'content', code: 'invalid' }]);
    }
    const user = actorLogin(ctx.auth);
    const existing = state.reactions.find(
      (r) =>
        r.subject === subject &&
        r.subjectId === subjectId &&
        r.content === content &&
        r.user.toLowerCase() === user.toLowerCase(),
    );
    if (existing) return { status: 200, json: ser.reaction(existing) };
    const r = { id: state.id(), repoId: repo.id, subject, subjectId, content, user, createdAt: nowIso() };
    state.reactions.push(r);
    return { status: 201, json: ser.reaction(r) };
  }

  const reactAccess = (ctx: Ctx, perm: string) =>
    repoAccess(ctx, ctx.params[0]!, ctx.params[1]!, { perm, level: 'write', userLevel: 'read' });

  on('POST', `/repos/${R}/${R}/issues/(\\d+)/reactions`, async (ctx) => {
    const repo = reactAccess(ctx, 'issues');
    return react(ctx, repo, 'issue', issueParam(ctx, repo, 2).id);
  });
  on('POST', `/repos/${R}/${R}/issues/comments/(\\d+)/reactions`, async (ctx) => {
    const repo = reactAccess(ctx, 'issues');
    return react(ctx, repo, 'issue_comment', commentParam(ctx, repo).id);
  });
  on('POST', `/repos/${R}/${R}/pulls/comments/(\\d+)/reactions`, async (ctx) => {
    const repo = reactAccess(ctx, 'pull_requests');
    const c = state.reviewComments.get(Number(ctx.params[2]));
    if (!c || c.repoId !== repo.id) throw notFound();
    return react(ctx, repo, 'review_comment', c.id);
  });

  // Collaborator permission
  on('GET', `/repos/${R}/${R}/collaborators/${R}/permission`, async (ctx) => {
    const repo = repoAccess(ctx, ctx.params[0]!, ctx.params[1]!, { perm: 'metadata', level: 'read' });
    const user = state.findUser(decodeURIComponent(ctx.params[2]!));
    if (!user) throw notFound();
    const role = state.permissionOf(repo, user.login);
    const permission =
      role === 'admin'
        ? 'admin'
        : role === 'maintain' || role === 'write'
          ? 'write'
          : role === 'none'
            ? 'none'
            : 'read';
    return {
      status: 200,
      json: {
        permission,
        role_name: role,
        user: {
          ...ser.user(user.login),
          permissions: {
            admin: role === 'admin',
            maintain: PERMISSION_RANK[role] >= PERMISSION_RANK.maintain,
            push: PERMISSION_RANK[role] >= PERMISSION_RANK.write,
            triage: PERMISSION_RANK[role] >= PERMISSION_RANK.triage,
            pull: PERMISSION_RANK[role] >= PERMISSION_RANK.read,
          },
          role_name: role,
        },
      },
    };
  });

  // Labels and assignees
  on('POST', `/repos/${R}/${R}/issues/(\\d+)/labels`, async (ctx) => {
    const repo = repoAccess(ctx, ctx.params[0]!, ctx.params[1]!, {
      perm: 'issues',
      level: 'write',
      userLevel: 'triage',
    });
    const issue = issueParam(ctx, repo, 2);
    const raw = await ctx.body();
    const names = Array.isArray(raw.labels)
      ? raw.labels.map((l) => (typeof l === 'string' ? l : (str((l as Json).name) ?? ''))).filter(Boolean)
      : [];
    if (names.length === 0) throw validation([{ resource: 'Label', field: 'labels', code: 'missing_field' }]);
    for (const n of names) {
      const l = ensureLabel(repo, n);
      if (!issue.labels.some((x) => x.toLowerCase() === l.name.toLowerCase())) issue.labels.push(l.name);
    }
    issue.updatedAt = nowIso();
    return {
      status: 200,
      json: issue.labels.map((n) => ser.label(repo, repo.labels.get(n.toLowerCase())!)),
    };
  });

  on('DELETE', `/repos/${R}/${R}/issues/(\\d+)/labels/${R}`, async (ctx) => {
    const repo = repoAccess(ctx, ctx.params[0]!, ctx.params[1]!, {
      perm: 'issues',
      level: 'write',
      userLevel: 'triage',
    });
    const issue = issueParam(ctx, repo, 2);
    const name = decodeURIComponent(ctx.params[3]!).toLowerCase();
    if (!issue.labels.some((l) => l.toLowerCase() === name)) {
      throw new HttpError(404, { message: 'Label does not exist', documentation_url: DOCS, status: '404' });
    }
    issue.labels = issue.labels.filter((l) => l.toLowerCase() !== name);
    return {
      status: 200,
      json: issue.labels.map((n) => ser.label(repo, repo.labels.get(n.toLowerCase())!)),
    };
  });

  on('POST', `/repos/${R}/${R}/issues/(\\d+)/assignees`, async (ctx) => {
    const repo = repoAccess(ctx, ctx.params[0]!, ctx.params[1]!, {
      perm: 'issues',
      level: 'write',
      userLevel: 'triage',
    });
    const issue = issueParam(ctx, repo, 2);
    for (const a of strList((await ctx.body()).assignees)) {
      const u = state.findUser(a);
      // GitHub silently ignores assignees that cannot be assigned.
      if (u && !issue.assignees.some((x) => x.toLowerCase() === u.login.toLowerCase()))
        issue.assignees.push(u.login);
    }
    issue.updatedAt = nowIso();
    return { status: 201, json: ser.issue(repo, issue) };
  });

  on('DELETE', `/repos/${R}/${R}/issues/(\\d+)/assignees`, async (ctx) => {
    const repo = repoAccess(ctx, ctx.params[0]!, ctx.params[1]!, {
      perm: 'issues',
      level: 'write',
      userLevel: 'triage',
    });
    const issue = issueParam(ctx, repo, 2);
    const remove = new Set(strList((await ctx.body()).assignees).map((a) => a.toLowerCase()));
    issue.assignees = issue.assignees.filter((a) => !remove.has(a.toLowerCase()));
    issue.updatedAt = nowIso();
    return { status: 200, json: ser.issue(repo, issue) };
  });

  // Pulls
  on('GET', `/repos/${R}/${R}/pulls`, async (ctx) => {
    const repo = repoAccess(ctx, ctx.params[0]!, ctx.params[1]!, { perm: 'pull_requests', level: 'read' });
    const q = ctx.url.searchParams;
    const wantState = q.get('state') ?? 'open';
    const head = q.get('head');
    const base = q.get('base');
    let headOwner: string | null = null;
    let headBranch: string | null = null;
    if (head) {
      const i = head.indexOf(':');
      headOwner = i < 0 ? head : head.slice(0, i);
      headBranch = i < 0 ? null : head.slice(i + 1);
    }
    const list = [...state.issuesOf(repo).values()]
      .filter((i) => i.pull)
      .filter((i) => wantState === 'all' || i.state === wantState)
      .filter((i) => !base || i.pull!.base === base)
      .filter((i) => {
        if (!head) return true;
        // `owner:branch` names the repository holding the branch: a fork's owner for a fork.
        const holder = i.pull!.headRepoId === null ? repo : state.repoById(i.pull!.headRepoId);
        return (
          headOwner?.toLowerCase() === holder?.owner.toLowerCase() &&
          (headBranch === null || i.pull!.head === headBranch)
        );
      })
      .sort((a, b) => b.number - a.number);
    const page = paginate(ctx, list);
    return { status: 200, json: page.items.map((i) => ser.pull(repo, i, null)), headers: page.headers };
  });

  on('POST', `/repos/${R}/${R}/pulls`, async (ctx) => {
    const repo = repoAccess(ctx, ctx.params[0]!, ctx.params[1]!, { perm: 'pull_requests', level: 'write' });
    const body = await ctx.body();
    const title = str(body.title);
    let head = str(body.head);
    const base = str(body.base);
    const missing: Json[] = [];
    if (!head) missing.push({ resource: 'PullRequest', field: 'head', code: 'missing_field' });
    if (!base) missing.push({ resource: 'PullRequest', field: 'base', code: 'missing_field' });
    if (!title && body.issue === undefined)
      missing.push({ resource: 'PullRequest', field: 'title', code: 'missing_field' });
    if (missing.length) throw validation(missing);
    if (head!.includes(':')) {
      const [owner, branch] = head!.split(':', 2) as [string, string];
      if (owner.toLowerCase() !== repo.owner.toLowerCase()) {
        throw validation([{ resource: 'PullRequest', field: 'head', code: 'invalid' }]);
      }
      head = branch;
    }
    const issue = await newPull(repo, {
      head: head!,
      base: base!,
      title: title ?? '',
      body: str(body.body) ?? null,
      author: actorLogin(ctx.auth),
      draft: body.draft === true,
    });
    restEvent(ctx, repo, 'pull_request', async (sender) => ({
      action: 'opened',
      number: issue.number,
      pull_request: await fullPull(repo, issue),
      repository: ser.repo(repo),
      sender,
    }));
    return { status: 201, json: await fullPull(repo, issue) };
  });

  on('GET', `/repos/${R}/${R}/pulls/(\\d+)`, async (ctx) => {
    const repo = repoAccess(ctx, ctx.params[0]!, ctx.params[1]!, { perm: 'pull_requests', level: 'read' });
    const issue = pullParam(ctx, repo, 2);
    const accept = String(ctx.req.headers.accept ?? '');
    if (accept.includes('application/vnd.github.diff') || accept.includes('application/vnd.github.v3.diff')) {
      const diff = await gitDiff(repo.gitDir, issue.pull!.baseSha, issue.pull!.headSha);
      return {
        status: 200,
        raw: Buffer.from(diff),
        headers: { 'content-type': 'text/plain; charset=utf-8' },
      };
    }
    return { status: 200, json: await fullPull(repo, issue) };
  });

  on('PATCH', `/repos/${R}/${R}/pulls/(\\d+)`, async (ctx) => {
    const repo = repoAccess(ctx, ctx.params[0]!, ctx.params[1]!, { perm: 'pull_requests', level: 'write' });
    const issue = pullParam(ctx, repo, 2);
    const body = await ctx.body();
    if (body.title !== undefined) issue.title = str(body.title) ?? issue.title;
    if (body.body !== undefined) issue.body = str(body.body) ?? null;
    if (body.base !== undefined) {
      const base = str(body.base) ?? '';
      const sha = (await listBranches(repo.gitDir))[base];
      if (!sha) throw validation([{ resource: 'PullRequest', field: 'base', code: 'invalid' }]);
      issue.pull!.base = base;
      issue.pull!.baseSha = sha;
    }
    if (body.state === 'open' || body.state === 'closed') {
      if (body.state === 'open' && issue.state === 'closed') {
        for (const other of state.issuesOf(repo).values()) {
          if (
            other !== issue &&
            other.pull &&
            other.state === 'open' &&
            other.pull.head === issue.pull!.head &&
            other.pull.headRepoId === issue.pull!.headRepoId
          ) {
            throw validation([
              {
                resource: 'PullRequest',
                code: 'custom',
                message: `A pull request already exists for ${repo.owner}:${issue.pull!.head}.`,
              },
            ]);
          }
        }
      }
      const wasState = issue.state;
      setIssueState(issue, body.state);
      if (wasState !== issue.state) {
        restEvent(ctx, repo, 'pull_request', async (sender) => ({
          action: issue.state === 'closed' ? 'closed' : 'reopened',
          number: issue.number,
          pull_request: await fullPull(repo, issue),
          repository: ser.repo(repo),
          sender,
        }));
      }
    } else if (body.state !== undefined) {
      throw validation([{ resource: 'PullRequest', field: 'state', code: 'invalid' }]);
    }
    issue.updatedAt = nowIso();
    return { status: 200, json: await fullPull(repo, issue) };
  });

  // Reviews
  on('GET', `/repos/${R}/${R}/pulls/(\\d+)/reviews`, async (ctx) => {
    const repo = repoAccess(ctx, ctx.params[0]!, ctx.params[1]!, { perm: 'pull_requests', level: 'read' });
    const issue = pullParam(ctx, repo, 2);
    const list = state.reviews.filter((r) => r.repoId === repo.id && r.number === issue.number);
    const page = paginate(ctx, list);
    return { status: 200, json: page.items.map((r) => ser.review(repo, r)), headers: page.headers };
  });

  on('POST', `/repos/${R}/${R}/pulls/(\\d+)/reviews`, async (ctx) => {
    const repo = repoAccess(ctx, ctx.params[0]!, ctx.params[1]!, { perm: 'pull_requests', level: 'write' });
    const issue = pullParam(ctx, repo, 2);
    const body = await ctx.body();
    const event = str(body.event) ?? 'COMMENT';
    const stateMap: Record<string, 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED'> = {
      APPROVE: 'APPROVED',
      REQUEST_CHANGES: 'CHANGES_REQUESTED',
      COMMENT: 'COMMENTED',
    };
    const reviewState = stateMap[event];
    if (!reviewState) {
      throw new HttpError(422, {
        message: 'Unprocessable Entity',
        errors: [`Event "${event}" is not one of APPROVE, REQUEST_CHANGES, COMMENT`],
        documentation_url: DOCS,
        status: '422',
      });
    }
    const review = newReview(repo, issue, actorLogin(ctx.auth), reviewState, str(body.body) ?? '');
    return { status: 200, json: ser.review(repo, review) };
  });

  function newReview(
    repo: RepoRec,
    issue: IssueRec,
    author: string,
    reviewState: 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED',
    body: string,
  ) {
    ensureUser(author);
    const r = {
      id: state.id(),
      repoId: repo.id,
      number: issue.number,
      author,
      state: reviewState,
      body,
      commitId: issue.pull!.headSha,
      submittedAt: nowIso(),
    };
    state.reviews.push(r);
    return r;
  }

  // Review comments
  on('GET', `/repos/${R}/${R}/pulls/(\\d+)/comments`, async (ctx) => {
    const repo = repoAccess(ctx, ctx.params[0]!, ctx.params[1]!, { perm: 'pull_requests', level: 'read' });
    const issue = pullParam(ctx, repo, 2);
    const list = [...state.reviewComments.values()]
      .filter((c) => c.repoId === repo.id && c.number === issue.number)
      .sort((a, b) => a.id - b.id);
    const page = paginate(ctx, list);
    await withHunks(repo, page.items);
    return { status: 200, json: page.items.map((c) => ser.reviewComment(repo, c)), headers: page.headers };
  });

  on('POST', `/repos/${R}/${R}/pulls/(\\d+)/comments`, async (ctx) => {
    const repo = repoAccess(ctx, ctx.params[0]!, ctx.params[1]!, { perm: 'pull_requests', level: 'write' });
    const issue = pullParam(ctx, repo, 2);
    const body = await ctx.body();
    const text = str(body.body);
    if (!text)
      throw validation([{ resource: 'PullRequestReviewComment', field: 'body', code: 'missing_field' }]);
    const inReplyTo = typeof body.in_reply_to === 'number' ? body.in_reply_to : undefined;
    const line =
      typeof body.line === 'number' ? body.line : typeof body.position === 'number' ? body.position : 1;
    const c = newReviewComment(repo, issue, {
      author: actorLogin(ctx.auth),
      body: text,
      path: str(body.path),
      line,
      inReplyTo,
    });
    await withHunks(repo, [c]);
    restEvent(ctx, repo, 'pull_request_review_comment', (sender) => ({
      action: 'created',
      comment: ser.reviewComment(repo, c),
      pull_request: ser.pull(repo, issue, null),
      repository: ser.repo(repo),
      sender,
    }));
    return { status: 201, json: ser.reviewComment(repo, c) };
  });

  on('GET', `/repos/${R}/${R}/pulls/comments/(\\d+)`, async (ctx) => {
    const repo = repoAccess(ctx, ctx.params[0]!, ctx.params[1]!, { perm: 'pull_requests', level: 'read' });
    const c = state.reviewComments.get(Number(ctx.params[2]));
    if (!c || c.repoId !== repo.id) throw notFound();
    await withHunks(repo, [c]);
    return { status: 200, json: ser.reviewComment(repo, c) };
  });

  on('POST', `/repos/${R}/${R}/pulls/(\\d+)/comments/(\\d+)/replies`, async (ctx) => {
    const repo = repoAccess(ctx, ctx.params[0]!, ctx.params[1]!, { perm: 'pull_requests', level: 'write' });
    const issue = pullParam(ctx, repo, 2);
    const text = str((await ctx.body()).body);
    if (!text)
      throw validation([{ resource: 'PullRequestReviewComment', field: 'body', code: 'missing_field' }]);
    const c = newReviewComment(repo, issue, {
      author: actorLogin(ctx.auth),
      body: text,
      inReplyTo: Number(ctx.params[3]),
    });
    await withHunks(repo, [c]);
    restEvent(ctx, repo, 'pull_request_review_comment', (sender) => ({
      action: 'created',
      comment: ser.reviewComment(repo, c),
      pull_request: ser.pull(repo, issue, null),
      repository: ser.repo(repo),
      sender,
    }));
    return { status: 201, json: ser.reviewComment(repo, c) };
  });

  // Refs and branches
  on('GET', `/repos/${R}/${R}/git/ref/heads/(.+)`, async (ctx) => {
    const repo = repoAccess(ctx, ctx.params[0]!, ctx.params[1]!, { perm: 'contents', level: 'read' });
    const branch = decodeURIComponent(ctx.params[2]!);
    const sha = (await listBranches(repo.gitDir))[branch];
    if (!sha) throw notFound();
    return {
      status: 200,
      json: {
        ref: `refs/heads/${branch}`,
        node_id: nodeId('Ref', `${repo.id}:${branch}`),
        url: `${url}/repos/${repo.fullName}/git/refs/heads/${branch}`,
        object: { type: 'commit', sha, url: `${url}/repos/${repo.fullName}/git/commits/${sha}` },
      },
    };
  });

  on('DELETE', `/repos/${R}/${R}/git/refs/heads/(.+)`, async (ctx) => {
    const repo = repoAccess(ctx, ctx.params[0]!, ctx.params[1]!, { perm: 'contents', level: 'write' });
    const branch = decodeURIComponent(ctx.params[2]!);
    const before = (await listBranches(repo.gitDir))[branch];
    if (!before || !(await deleteBranch(repo.gitDir, branch))) {
      throw invalidBody('Reference does not exist');
    }
    return { status: 204 };
  });

  on('GET', `/repos/${R}/${R}/branches/(.+)`, async (ctx) => {
    const repo = repoAccess(ctx, ctx.params[0]!, ctx.params[1]!, { perm: 'contents', level: 'read' });
    const branch = decodeURIComponent(ctx.params[2]!);
    const sha = (await listBranches(repo.gitDir))[branch];
    if (!sha)
      throw new HttpError(404, { message: 'Branch not found', documentation_url: DOCS, status: '404' });
    const [commit] = await gitLog(repo.gitDir, sha);
    const a = (p: string) => `${url}/repos/${repo.fullName}${p}`;
    const person = (name: string, email: string) => ({ name, email, date: nowIso() });
    return {
      status: 200,
      json: {
        name: branch,
        commit: {
          sha,
          node_id: nodeId('Commit', sha),
          url: a(`/commits/${sha}`),
          html_url: `${url}/${repo.fullName}/commit/${sha}`,
          comments_url: a(`/commits/${sha}/comments`),
          commit: {
            url: a(`/git/commits/${sha}`),
            author: person(commit?.authorName ?? '', commit?.authorEmail ?? ''),
            committer: person(commit?.committerName ?? '', commit?.authorEmail ?? ''),
            message: commit?.message ?? '',
            comment_count: 0,
            tree: { sha: ZERO_SHA, url: a(`/git/trees/${ZERO_SHA}`) },
          },
          author: null,
          committer: null,
          parents: (commit?.parents ?? []).map((p) => ({ sha: p, url: a(`/commits/${p}`) })),
        },
        _links: { self: a(`/branches/${branch}`), html: `${url}/${repo.fullName}/tree/${branch}` },
        protected: false,
        protection: {
          enabled: false,
          required_status_checks: { enforcement_level: 'off', contexts: [], checks: [] },
        },
        protection_url: a(`/branches/${branch}/protection`),
      },
    };
  });

  // GraphQL (reviewThreads only)
  on('POST', '/graphql', async (ctx) => {
    const auth = ctx.auth;
    if (auth.kind === 'none') {
      throw new HttpError(401, {
        message: 'This endpoint requires you to be authenticated.',
        documentation_url:
          'https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql',
      });
    }
    if (auth.kind === 'invalid' || auth.kind === 'jwt') throw badCredentials();
    const body = await ctx.body();
    const query = str(body.query) ?? '';
    const variables = (body.variables && typeof body.variables === 'object' ? body.variables : {}) as Json;
    const parsed = parseGraphqlOperation(query, variables);
    if ('message' in parsed) return { status: 200, json: { errors: [parsed] } };
    // Like REST, a repository out of the caller's reach reads as missing.
    const visible = (repo: RepoRec) => {
      if (auth.kind === 'installation') {
        ctx.record.installationId = auth.rec.installationId;
        const inScope = tokenRepos(auth.rec).some((r) => r.id === repo.id);
        if (!inScope) ctx.record.outOfScope = true;
        return inScope;
      }
      ctx.record.login = auth.user.login;
      return state.permissionOf(repo, auth.user.login) !== 'none';
    };
    return { status: 200, json: answerGraphql(parsed, state, visible) };
  });

  // ---------- git smart HTTP ----------

  const GIT_PATH = /^\/([^/]+)\/([^/]+?)(?:\.git)?\/(info\/refs|git-upload-pack|git-receive-pack|HEAD)$/;

  function gitUnauthorized(res: ServerResponse, message = 'Invalid username or token.') {
    res.statusCode = 401;
    res.setHeader('www-authenticate', 'Basic realm="GitHub"');
    res.setHeader('content-type', 'text/plain; charset=utf-8');
    res.end(`${message}\n`);
    return 401;
  }

  async function handleGit(
    req: IncomingMessage,
    res: ServerResponse,
    u: URL,
    m: RegExpExecArray,
    record: Ctx['record'],
    auth: Auth,
  ): Promise<number> {
    const [, owner, name, service] = m as unknown as [string, string, string, string];
    const repo = state.findRepo(`${owner}/${name}`);
    const isPush =
      service === 'git-receive-pack' ||
      (service === 'info/refs' && u.searchParams.get('service') === 'git-receive-pack');
    if (auth.kind === 'invalid' || auth.kind === 'jwt') return gitUnauthorized(res);
    let pusher: PushRecord['pusher'] | null = null;
    if (auth.kind === 'none') {
      if (!repo || repo.private || isPush) return gitUnauthorized(res, 'Authentication required.');
    } else if (auth.kind === 'installation') {
      record.installationId = auth.rec.installationId;
      const inScope = repo && tokenRepos(auth.rec).some((r) => r.id === repo.id);
      if (!repo || !inScope) {
        record.outOfScope = true;
        res.statusCode = 404;
        res.end('Repository not found.\n');
        return 404;
      }
      if (isPush && auth.rec.permissions.contents !== 'write') {
        res.statusCode = 403;
        res.end(`Permission to ${repo.fullName}.git denied to ${botLogin}.\n`);
        return 403;
      }
      pusher = { kind: 'installation', installationId: auth.rec.installationId, login: botLogin };
    } else {
      record.login = auth.user.login;
      const perm = repo ? state.permissionOf(repo, auth.user.login) : 'none';
      if (!repo || perm === 'none') {
        res.statusCode = 404;
        res.end('Repository not found.\n');
        return 404;
      }
      if (isPush && PERMISSION_RANK[perm] < PERMISSION_RANK.write) {
        res.statusCode = 403;
        res.end(`Permission to ${repo.fullName}.git denied to ${auth.user.login}.\n`);
        return 403;
      }
      pusher = { kind: 'user', login: auth.user.login };
    }
    const pathInfo = `/${repo!.owner.toLowerCase()}/${repo!.name.toLowerCase()}.git/${service}`;
    const remoteUser = pusher?.login ?? 'anonymous';
    if (service === 'git-receive-pack' && req.method === 'POST') {
      return withRepoLock(repo!, async () => {
        const before = await listBranches(repo!.gitDir);
        const status = await serveGitHttp(req, res, {
          projectRoot: reposRoot,
          pathInfo,
          query: u.search.slice(1),
          remoteUser,
        });
        const after = await listBranches(repo!.gitDir);
        await afterPush(repo!, before, after, pusher!);
        res.end();
        return status;
      });
    }
    const status = await serveGitHttp(req, res, {
      projectRoot: reposRoot,
      pathInfo,
      query: u.search.slice(1),
      remoteUser,
    });
    res.end();
    return status;
  }

  /** Updates PR heads and fires push / pull_request.synchronize after refs moved. */
  async function afterPush(
    repo: RepoRec,
    before: Record<string, string>,
    after: Record<string, string>,
    pusher: PushRecord['pusher'],
  ) {
    const names = new Set([...Object.keys(before), ...Object.keys(after)]);
    const at = nowIso();
    const events: (() => Promise<unknown>)[] = [];
    for (const branch of names) {
      const b = before[branch] ?? ZERO_SHA;
      const a = after[branch] ?? ZERO_SHA;
      if (a === b) continue;
      repo.pushedAt = at;
      pushes.push({ repo: repo.fullName, ref: `refs/heads/${branch}`, before: b, after: a, pusher, at });
      const prs: IssueRec[] = [];
      for (const i of state.issuesOf(repo).values()) {
        if (
          i.pull &&
          i.state === 'open' &&
          i.pull.headRepoId === null &&
          i.pull.head === branch &&
          a !== ZERO_SHA
        ) {
          i.pull.headSha = a;
          i.updatedAt = at;
          prs.push(i);
        }
        if (i.pull && i.state === 'open' && i.pull.base === branch && a !== ZERO_SHA) i.pull.baseSha = a;
      }
      if (pushWebhooks) {
        events.push(() => sendPush(repo, branch, b, a, pusher.login));
        for (const pr of prs) {
          events.push(async () =>
            send(
              'pull_request',
              {
                action: 'synchronize',
                number: pr.number,
                before: b,
                after: a,
                pull_request: await fullPull(repo, pr),
                repository: ser.repo(repo),
                sender: ser.user(pusher.login),
              },
              repo,
            ),
          );
        }
      }
    }
    // Deliveries run in the background (GitHub sends them asynchronously); twin.settled() awaits them.
    void deliverer.track(
      (async () => {
        for (const e of events) await e().catch(() => {});
      })(),
    );
  }

  async function sendPush(repo: RepoRec, branch: string, before: string, after: string, senderLogin: string) {
    const commits =
      after === ZERO_SHA
        ? []
        : (await gitLog(repo.gitDir, before === ZERO_SHA ? after : `${before}..${after}`)).reverse();
    const toCommit = (c: (typeof commits)[number]) => ({
      id: c.sha,
      tree_id: ZERO_SHA,
      distinct: true,
      message: c.message,
      timestamp: nowIso(),
      url: `${url}/${repo.fullName}/commit/${c.sha}`,
      author: { name: c.authorName, email: c.authorEmail, username: c.authorName },
      committer: { name: c.committerName, email: c.authorEmail, username: c.committerName },
      added: [],
      removed: [],
      modified: [],
    });
    const last = commits[commits.length - 1];
    const sender = state.findUser(senderLogin);
    return send(
      'push',
      {
        ref: `refs/heads/${branch}`,
        before,
        after,
        repository: ser.repo(repo),
        pusher: { name: senderLogin, email: `${senderLogin}@users.noreply.twin` },
        sender: ser.user(sender?.login ?? senderLogin),
        created: before === ZERO_SHA,
        deleted: after === ZERO_SHA,
        forced: false,
        base_ref: null,
        compare: `${url}/${repo.fullName}/compare/${before.slice(0, 12)}...${after.slice(0, 12)}`,
        commits: commits.map(toCommit),
        head_commit: last ? toCommit(last) : null,
      },
      repo,
    );
  }

  // ---------- admin (/_twin/) ----------

  async function handleAdmin(ctx: Ctx): Promise<{ status: number; json?: unknown }> {
    const p = ctx.url.pathname;
    const method = ctx.req.method ?? 'GET';
    if (method === 'GET' && p === '/_twin/state') {
      const repos = [...state.repos.values()];
      return {
        status: 200,
        json: {
          url,
          app: { id: appId, slug, botLogin },
          webhookUrl: deliverer.url,
          users: [...state.users.values()].map((u) => ({
            login: u.login,
            id: u.id,
            type: u.type,
            token: u.token,
          })),
          installations: [...state.installations.values()].map((i) => ({
            id: i.id,
            account: i.account,
            repos: state.installationRepos(i).map((r) => r.fullName),
          })),
          repos: await Promise.all(
            repos.map(async (r) => ({
              fullName: r.fullName,
              branches: await listBranches(r.gitDir),
              issues: inspect.issues(r.fullName),
              pulls: inspect.pulls(r.fullName),
              comments: inspect.comments(r.fullName),
            })),
          ),
        },
      };
    }
    if (method === 'GET' && p === '/_twin/deliveries') return { status: 200, json: deliverer.log };
    if (method === 'GET' && p === '/_twin/requests') return { status: 200, json: requests };
    const redeliver = /^\/_twin\/deliveries\/([^/]+)\/redeliver$/.exec(p);
    if (method === 'POST' && redeliver)
      return { status: 200, json: await deliverer.redeliver(redeliver[1]!) };
    if (method === 'PUT' && p === '/_twin/webhook-url') {
      deliverer.url = str((await ctx.body()).url) ?? null;
      return { status: 200, json: { url: deliverer.url } };
    }
    if (method === 'POST' && p === '/_twin/seed') {
      await seed.apply((await ctx.body()) as SeedFile);
      return { status: 200, json: { ok: true } };
    }
    if (method === 'POST' && p === '/_twin/faults') {
      const body = await ctx.body();
      const path = str(body.path);
      const rule = {
        ...(body as unknown as FaultRule),
        path: path?.startsWith('^') ? new RegExp(path) : path,
      };
      return { status: 201, json: { id: faults.add(rule) } };
    }
    if (method === 'DELETE' && p === '/_twin/faults') {
      faults.clear();
      return { status: 204 };
    }
    if (method === 'GET' && p === '/_twin/faults') return { status: 200, json: faults.list() };
    if (method === 'POST' && p === '/_twin/resolve-thread') {
      const body = await ctx.body();
      const threadId = str(body.threadId);
      if (!threadId) throw invalidBody('threadId is required');
      seed.resolveThread(threadId, body.resolved !== false);
      return { status: 200, json: { threadId, resolved: body.resolved !== false } };
    }
    const action = /^\/_twin\/actions\/([A-Za-z]+)$/.exec(p);
    if (method === 'POST' && action) {
      const name = action[1] as keyof TwinActions;
      const fn = actions[name] as ((input: Json) => Promise<unknown>) | undefined;
      if (!fn || !Object.hasOwn(actions, name)) throw notFound();
      return { status: 200, json: await fn(await ctx.body()) };
    }
    throw notFound();
  }

  // ---------- dispatcher ----------

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const u = new URL(req.url ?? '/', url);
    const method = req.method ?? 'GET';
    const auth = authenticate(req);
    const record: Ctx['record'] = {
      installationId: auth.kind === 'installation' ? auth.rec.installationId : null,
      login: auth.kind === 'user' ? auth.user.login : null,
      outOfScope: false,
    };
    const isAdmin = u.pathname.startsWith('/_twin/');
    res.setHeader('x-github-request-id', randomBytes(8).toString('hex').toUpperCase());
    res.on('finish', () => {
      if (isAdmin) return;
      requests.push({
        method,
        path: u.pathname,
        query: u.search,
        authKind: auth.kind as AuthKind,
        installationId: record.installationId,
        login: record.login,
        status: res.statusCode,
        outOfScope: record.outOfScope,
        at: nowIso(),
      });
    });
    let cachedBody: Json | undefined;
    const ctx: Ctx = {
      req,
      res,
      url: u,
      params: [],
      auth,
      record,
      body: async () => {
        if (cachedBody) return cachedBody;
        const raw = await readBody(req);
        if (raw.length === 0) cachedBody = {};
        else {
          try {
            const parsed: unknown = JSON.parse(raw.toString('utf8'));
            cachedBody = parsed && typeof parsed === 'object' ? (parsed as Json) : {};
            if (Array.isArray(parsed)) cachedBody = { labels: parsed };
          } catch {
            throw new HttpError(400, {
              message: 'Problems parsing JSON',
              documentation_url: DOCS,
              status: '400',
            });
          }
        }
        return cachedBody;
      },
    };
    try {
      if (isAdmin) {
        // The admin API has no auth, so only loopback callers may use it.
        if (!isLoopback(req.socket.remoteAddress)) throw notFound();
        const out = await handleAdmin(ctx);
        return writeJson(res, out.status, out.json);
      }
      for (const outcome of faults.match(method, u.pathname)) {
        if (outcome.kind === 'delay') await new Promise((r) => setTimeout(r, outcome.ms));
        else throw new HttpError(outcome.status, outcome.body, outcome.headers);
      }
      const gm = GIT_PATH.exec(u.pathname);
      if (gm && !u.pathname.startsWith('/repos/')) {
        await handleGit(req, res, u, gm, record, auth);
        return;
      }
      const path = u.pathname.length > 1 ? u.pathname.replace(/\/+$/, '') : u.pathname;
      for (const route of routes) {
        const m = route.pattern.exec(path);
        if (!m) continue;
        if (route.method !== method) continue;
        ctx.params = m.slice(1);
        const out = await route.handler(ctx);
        for (const [k, v] of Object.entries(out.headers ?? {})) res.setHeader(k, v);
        if (out.raw) {
          res.statusCode = out.status;
          res.end(out.raw);
          return;
        }
        return writeJson(res, out.status, out.json);
      }
      if (auth.kind === 'invalid') throw badCredentials();
      // GitHub answers an unknown path and a known path with the wrong method alike.
      throw notFound();
    } catch (err) {
      if (err instanceof HttpError) {
        for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
        return writeJson(res, err.status, err.body);
      }
      if (err instanceof PullwrightError) {
        // Misuse of the seed/action API (admin endpoints): say what was wrong instead of a 500.
        const status = err.code === 'not_found' ? 404 : err.code === 'conflict' ? 409 : 422;
        return writeJson(res, status, { message: err.message, code: err.code });
      }
      throw err;
    }
  }

  function writeJson(res: ServerResponse, status: number, json: unknown) {
    res.statusCode = status;
    res.setHeader('x-github-media-type', 'github.v3; format=json');
    res.setHeader('x-ratelimit-limit', '5000');
    res.setHeader('x-ratelimit-remaining', '4999');
    res.setHeader('x-ratelimit-reset', String(Math.floor(Date.now() / 1000) + 3600));
    if (status === 204 || json === undefined) {
      res.end();
      return;
    }
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.end(JSON.stringify(json));
  }

  // ---------- public API ----------

  const seed: TwinSeed = {
    user: seedUser,
    repo: seedRepo,
    installation: (input) => ({ id: seedInstallation(input).id }),
    collaborator(repoName, login, permission) {
      ensureUser(login);
      mustRepo(repoName).collaborators.set(login.toLowerCase(), permission);
    },
    issue(input) {
      const i = newIssue(mustRepo(input.repo), input);
      return { number: i.number, id: i.id };
    },
    comment(input) {
      return { id: newComment(mustRepo(input.repo), input.number, input.body, input.author).id };
    },
    async branch(input) {
      const repo = mustRepo(input.repo);
      const author = input.author ?? repo.owner;
      return withRepoLock(repo, async () => {
        const branches = await listBranches(repo.gitDir);
        const parent =
          branches[input.branch] ?? (await resolveRef(repo.gitDir, input.from ?? repo.defaultBranch)) ?? null;
        const sha = await commitFiles(repo.gitDir, {
          branch: input.branch,
          parent,
          files: input.files,
          message: input.message ?? `Update ${input.branch}`,
          author: { name: author, email: `${author}@users.noreply.twin` },
        });
        for (const i of state.issuesOf(repo).values()) {
          if (i.pull && i.state === 'open' && i.pull.headRepoId === null && i.pull.head === input.branch) {
            i.pull.headSha = sha;
          }
        }
        return { sha };
      });
    },
    async pullRequest(input) {
      const i = await newPull(mustRepo(input.repo), input);
      return { number: i.number, id: i.pull!.id };
    },
    async fork(input) {
      const parent = mustRepo(input.repo);
      ensureUser(input.owner);
      const fullName = `${input.owner}/${parent.name}`;
      if (state.findRepo(fullName)) throw new PullwrightError('conflict', `Repo ${fullName} already exists`);
      const gitDir = join(reposRoot, input.owner.toLowerCase(), `${parent.name.toLowerCase()}.git`);
      await initBareRepo(gitDir, parent.defaultBranch);
      await fetchRefs(gitDir, parent.gitDir, ['+refs/heads/*:refs/heads/*']);
      const repo = addRepo({
        owner: input.owner,
        name: parent.name,
        private: parent.private,
        description: parent.description,
        defaultBranch: parent.defaultBranch,
        gitDir,
        forkOf: parent.id,
      });
      const headSha = (await listBranches(gitDir))[repo.defaultBranch] ?? '';
      return { id: repo.id, fullName, defaultBranch: repo.defaultBranch, headSha };
    },
    review(input) {
      const repo = mustRepo(input.repo);
      const issue = mustIssue(repo, input.number);
      if (!issue.pull) throw new PullwrightError('input_invalid', `#${input.number} is not a pull request`);
      return { id: newReview(repo, issue, input.author, input.state, input.body ?? '').id };
    },
    reviewThread(input) {
      const repo = mustRepo(input.repo);
      const issue = mustIssue(repo, input.number);
      if (!issue.pull) throw new PullwrightError('input_invalid', `#${input.number} is not a pull request`);
      const [first, ...rest] = input.comments;
      if (!first) throw new PullwrightError('input_invalid', 'A review thread needs at least one comment');
      const c0 = newReviewComment(repo, issue, { ...first, path: input.path, line: input.line });
      const ids = [c0.id];
      for (const r of rest) ids.push(newReviewComment(repo, issue, { ...r, inReplyTo: c0.id }).id);
      return { threadId: c0.threadId, commentIds: ids };
    },
    resolveThread(threadId, resolved = true) {
      const t = state.threads.get(threadId);
      if (!t) throw new PullwrightError('not_found', `Unknown thread ${threadId}`);
      t.resolved = resolved;
    },
    async apply(file) {
      for (const u of file.users ?? []) seedUser(u);
      for (const r of file.repos ?? []) await seedRepo(r);
      for (const i of file.installations ?? []) seedInstallation(i);
      for (const c of file.collaborators ?? []) seed.collaborator(c.repo, c.login, c.permission);
      for (const i of file.issues ?? []) seed.issue(i);
    },
  };

  const repoSummary = (inst: InstallationRec) =>
    state.installationRepos(inst).map((r) => ({
      id: r.id,
      node_id: nodeId('Repository', r.id),
      name: r.name,
      full_name: r.fullName,
      private: r.private,
    }));

  const actions: TwinActions = {
    async openIssue(input) {
      const repo = mustRepo(input.repo);
      const issue = newIssue(repo, { title: input.title, body: input.body ?? null, author: input.sender });
      const delivery = await send(
        'issues',
        {
          action: 'opened',
          issue: ser.issue(repo, issue),
          repository: ser.repo(repo),
          sender: ser.user(input.sender),
        },
        repo,
      );
      return { number: issue.number, delivery };
    },
    async assignIssue(input) {
      const repo = mustRepo(input.repo);
      const issue = mustIssue(repo, input.number);
      const assignee = ensureUser(input.assignee);
      if (!issue.assignees.some((a) => a.toLowerCase() === assignee.login.toLowerCase())) {
        issue.assignees.push(assignee.login);
      }
      issue.updatedAt = nowIso();
      const event = issue.pull ? 'pull_request' : 'issues';
      const key = issue.pull ? 'pull_request' : 'issue';
      const subject = issue.pull ? await fullPull(repo, issue) : ser.issue(repo, issue);
      const delivery = await send(
        event,
        {
          action: 'assigned',
          ...(issue.pull ? { number: issue.number } : {}),
          [key]: subject,
          assignee: ser.user(assignee.login),
          repository: ser.repo(repo),
          sender: ser.user(input.sender),
        },
        repo,
      );
      return { delivery };
    },
    async unassignIssue(input) {
      const repo = mustRepo(input.repo);
      const issue = mustIssue(repo, input.number);
      issue.assignees = issue.assignees.filter((a) => a.toLowerCase() !== input.assignee.toLowerCase());
      issue.updatedAt = nowIso();
      const delivery = await send(
        'issues',
        {
          action: 'unassigned',
          issue: ser.issue(repo, issue),
          assignee: ser.user(input.assignee),
          repository: ser.repo(repo),
          sender: ser.user(input.sender),
        },
        repo,
      );
      return { delivery };
    },
    async closeIssue(input) {
      const repo = mustRepo(input.repo);
      const issue = mustIssue(repo, input.number);
      setIssueState(issue, 'closed');
      const delivery = issue.pull
        ? await send(
            'pull_request',
            {
              action: 'closed',
              number: issue.number,
              pull_request: await fullPull(repo, issue),
              repository: ser.repo(repo),
              sender: ser.user(input.sender),
            },
            repo,
          )
        : await send(
            'issues',
            {
              action: 'closed',
              issue: ser.issue(repo, issue),
              repository: ser.repo(repo),
              sender: ser.user(input.sender),
            },
            repo,
          );
      return { delivery };
    },
    async commentOnIssue(input) {
      const repo = mustRepo(input.repo);
      const c = newComment(repo, input.number, input.body, input.sender);
      const issue = mustIssue(repo, input.number);
      const delivery = await send(
        'issue_comment',
        {
          action: 'created',
          issue: ser.issue(repo, issue),
          comment: ser.comment(repo, c),
          repository: ser.repo(repo),
          sender: ser.user(input.sender),
        },
        repo,
      );
      return { commentId: c.id, delivery };
    },
    async editComment(input) {
      const repo = mustRepo(input.repo);
      const c = state.comments.get(input.commentId);
      if (!c || c.repoId !== repo.id)
        throw new PullwrightError('not_found', `Unknown comment ${input.commentId}`);
      const from = c.body;
      editCommentBody(c, input.body);
      const delivery = await send(
        'issue_comment',
        {
          action: 'edited',
          changes: { body: { from } },
          issue: ser.issue(repo, mustIssue(repo, c.issueNumber)),
          comment: ser.comment(repo, c),
          repository: ser.repo(repo),
          sender: ser.user(input.sender),
        },
        repo,
      );
      return { delivery };
    },
    async submitReview(input) {
      const repo = mustRepo(input.repo);
      const issue = mustIssue(repo, input.number);
      if (!issue.pull) throw new PullwrightError('input_invalid', `#${input.number} is not a pull request`);
      const review = newReview(repo, issue, input.sender, input.state, input.body ?? '');
      const json = ser.review(repo, review);
      const delivery = await send(
        'pull_request_review',
        {
          action: 'submitted',
          review: { ...json, state: input.state.toLowerCase() },
          pull_request: ser.pull(repo, issue, null),
          repository: ser.repo(repo),
          sender: ser.user(input.sender),
        },
        repo,
      );
      return { reviewId: review.id, delivery };
    },
    async reviewComment(input) {
      const repo = mustRepo(input.repo);
      const issue = mustIssue(repo, input.number);
      if (!issue.pull) throw new PullwrightError('input_invalid', `#${input.number} is not a pull request`);
      const c = newReviewComment(repo, issue, {
        author: input.sender,
        body: input.body,
        path: input.path,
        line: input.line,
        inReplyTo: input.inReplyTo,
      });
      await withHunks(repo, [c]);
      const delivery = await send(
        'pull_request_review_comment',
        {
          action: 'created',
          comment: ser.reviewComment(repo, c),
          pull_request: ser.pull(repo, issue, null),
          repository: ser.repo(repo),
          sender: ser.user(input.sender),
        },
        repo,
      );
      return { commentId: c.id, threadId: c.threadId, delivery };
    },
    async pushFiles(input) {
      const repo = mustRepo(input.repo);
      ensureUser(input.sender);
      const before = await listBranches(repo.gitDir);
      const { sha } = await seed.branch({
        repo: input.repo,
        branch: input.branch,
        from: input.from,
        files: input.files,
        message: input.message,
        author: input.sender,
      });
      const pusher: PushRecord['pusher'] = { kind: 'user', login: input.sender };
      const at = nowIso();
      repo.pushedAt = at;
      pushes.push({
        repo: repo.fullName,
        ref: `refs/heads/${input.branch}`,
        before: before[input.branch] ?? ZERO_SHA,
        after: sha,
        pusher,
        at,
      });
      const delivery = await sendPush(
        repo,
        input.branch,
        before[input.branch] ?? ZERO_SHA,
        sha,
        input.sender,
      );
      // Open PRs whose head is this branch moved too: GitHub sends pull_request.synchronize for each.
      const beforeSha = before[input.branch] ?? ZERO_SHA;
      for (const pr of state.issuesOf(repo).values()) {
        if (!pr.pull || pr.state !== 'open' || pr.pull.headRepoId !== null || pr.pull.head !== input.branch) {
          continue;
        }
        await send(
          'pull_request',
          {
            action: 'synchronize',
            number: pr.number,
            before: beforeSha,
            after: sha,
            pull_request: await fullPull(repo, pr),
            repository: ser.repo(repo),
            sender: ser.user(input.sender),
          },
          repo,
        );
      }
      return { sha, delivery };
    },
    async installApp(input) {
      const inst = seedInstallation({ account: input.account, repos: input.repos });
      const delivery = await send(
        'installation',
        {
          action: 'created',
          installation: ser.installation(inst),
          repositories: repoSummary(inst),
          requester: null,
          sender: ser.user(input.sender),
        },
        null,
        inst,
      );
      return { installationId: inst.id, delivery };
    },
    async uninstall(input) {
      const inst = state.installations.get(input.installationId);
      if (!inst) throw new PullwrightError('not_found', `Unknown installation ${input.installationId}`);
      const payload = {
        action: 'deleted',
        installation: ser.installation(inst),
        repositories: repoSummary(inst),
        sender: ser.user(input.sender),
      };
      state.installations.delete(inst.id);
      for (const [t, rec] of state.tokens) if (rec.installationId === inst.id) state.tokens.delete(t);
      const delivery = await send('installation', payload, null, inst);
      return { delivery };
    },
    async addRepos(input) {
      return changeRepos(input, 'added');
    },
    async removeRepos(input) {
      return changeRepos(input, 'removed');
    },
  };

  async function changeRepos(
    input: { installationId: number; repos: string[]; sender: string },
    action: 'added' | 'removed',
  ) {
    const inst = state.installations.get(input.installationId);
    if (!inst) throw new PullwrightError('not_found', `Unknown installation ${input.installationId}`);
    const current = new Set(state.installationRepos(inst).map((r) => r.fullName.toLowerCase()));
    const changed = input.repos.map((n) => mustRepo(n));
    for (const r of changed) {
      if (action === 'added') current.add(r.fullName.toLowerCase());
      else current.delete(r.fullName.toLowerCase());
    }
    inst.repos = current;
    const summary = changed.map((r) => ({
      id: r.id,
      node_id: nodeId('Repository', r.id),
      name: r.name,
      full_name: r.fullName,
      private: r.private,
    }));
    const delivery = await send(
      'installation_repositories',
      {
        action,
        installation: ser.installation(inst),
        repository_selection: 'selected',
        repositories_added: action === 'added' ? summary : [],
        repositories_removed: action === 'removed' ? summary : [],
        requester: null,
        sender: ser.user(input.sender),
      },
      null,
      inst,
    );
    return { delivery };
  }

  const inspect: TwinInspect = {
    issues(repoName) {
      const repo = mustRepo(repoName);
      return [...state.issuesOf(repo).values()].map((i) => ({
        number: i.number,
        title: i.title,
        body: i.body ?? '',
        state: i.state,
        author: i.author,
        labels: [...i.labels],
        assignees: [...i.assignees],
        isPullRequest: i.pull !== null,
      }));
    },
    pulls(repoName) {
      const repo = mustRepo(repoName);
      return [...state.issuesOf(repo).values()]
        .filter((i) => i.pull)
        .map((i) => ({
          number: i.number,
          title: i.title,
          body: i.body ?? '',
          state: i.state,
          head: i.pull!.head,
          headRepo:
            i.pull!.headRepoId === null
              ? repo.fullName
              : (state.repoById(i.pull!.headRepoId)?.fullName ?? null),
          base: i.pull!.base,
          headSha: i.pull!.headSha,
          author: i.author,
          draft: i.pull!.draft,
        }));
    },
    pull(repoName, number) {
      return inspect.pulls(repoName).find((p) => p.number === number) ?? null;
    },
    comments(repoName, number) {
      const repo = mustRepo(repoName);
      return [...state.comments.values()]
        .filter((c) => c.repoId === repo.id && (number === undefined || c.issueNumber === number))
        .sort((a, b) => a.id - b.id)
        .map((c) => ({
          id: c.id,
          issueNumber: c.issueNumber,
          body: c.body,
          author: c.author,
          editCount: c.history.length - 1,
          history: [...c.history],
        }));
    },
    reactions(repoName) {
      const repo = mustRepo(repoName);
      return state.reactions
        .filter((r) => r.repoId === repo.id)
        .map((r) => ({ subject: r.subject, subjectId: r.subjectId, content: r.content, user: r.user }));
    },
    reviewComments(repoName, number) {
      const repo = mustRepo(repoName);
      return [...state.reviewComments.values()]
        .filter((c) => c.repoId === repo.id && (number === undefined || c.number === number))
        .sort((a, b) => a.id - b.id)
        .map((c) => ({
          id: c.id,
          pullNumber: c.number,
          threadId: c.threadId,
          inReplyTo: c.inReplyTo,
          path: c.path,
          line: c.line,
          body: c.body,
          author: c.author,
        }));
    },
    labels(repoName) {
      return [...mustRepo(repoName).labels.values()].map((l) => l.name);
    },
    branches: (repoName) => listBranches(mustRepo(repoName).gitDir),
    commits: (repoName, branch) => gitLog(mustRepo(repoName).gitDir, `refs/heads/${branch}`),
    async diff(repoName, number) {
      const repo = mustRepo(repoName);
      const issue = mustIssue(repo, number);
      if (!issue.pull) throw new PullwrightError('input_invalid', `#${number} is not a pull request`);
      return gitDiff(repo.gitDir, issue.pull.baseSha, issue.pull.headSha);
    },
    async file(repoName, ref, path) {
      const repo = mustRepo(repoName);
      const sha = await resolveRef(repo.gitDir, ref);
      if (!sha) return null;
      const e = await readPath(repo.gitDir, sha, path);
      return e?.type === 'file' ? e.content.toString('utf8') : null;
    },
    pushes: (repoName) =>
      pushes
        .filter((p) => !repoName || p.repo.toLowerCase() === repoName.toLowerCase())
        .map((p) => ({ ...p })),
    requests: () => requests.map((r) => ({ ...r })),
  };

  return {
    url,
    app: {
      id: appId,
      slug,
      name: slug,
      privateKey,
      publicKey,
      webhookSecret,
      botLogin,
      botId: bot.id,
    },
    setWebhookUrl(next) {
      deliverer.url = next;
    },
    seed,
    actions,
    redeliver: (id) => deliverer.redeliver(id),
    get deliveries(): Delivery[] {
      return deliverer.log;
    },
    inspect,
    faults,
    settled: () => deliverer.settled(),
    gitUrl(repoName, token) {
      const repo = mustRepo(repoName);
      const auth = token ? `x-access-token:${token}@` : '';
      return `${url.replace('://', `://${auth}`)}/${repo.fullName}.git`;
    },
    createInstallationToken(installationId, opts = {}) {
      const inst = state.installations.get(installationId);
      if (!inst) throw new PullwrightError('not_found', `Unknown installation ${installationId}`);
      const m = mintToken(inst, {
        repositories: opts.repositories,
        permissions: opts.permissions,
        ttlSeconds: opts.ttlSeconds,
      });
      return { token: m.token, expiresAt: m.expiresAt };
    },
    async close() {
      await deliverer.settled();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      if (ownDataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
