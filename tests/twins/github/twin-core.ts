import type { KeyObject } from 'node:crypto';
import { PullwrightError } from '../../../src/errors.js';
import { countAhead, diffHunkAt, diffStat } from './git.js';
import { randomToken } from './http.js';
import { Mergeability } from './mergeability.js';
import { type Json, nodeId, type Serializer } from './serialize.js';
import type { InstallationRec, IssueRec, RepoRec, ReviewCommentRec, TwinState, UserRec } from './state.js';
import type { Delivery, PushRecord, RequestRecord, UserType } from './types.js';
import type { Deliverer } from './webhooks.js';

/** What the twin was started with, after defaults. */
export interface TwinConfig {
  url: string;
  appId: number;
  slug: string;
  botLogin: string;
  reposRoot: string;
  tokenTtlSeconds: number;
  pushWebhooks: boolean;
  restWebhooks: boolean;
  forkDelayMs: number;
}

/** Who a webhook concerns: its repository (most events) or its installation (installation events). */
export interface EventTarget {
  repo?: RepoRec;
  installation?: InstallationRec;
  /** Login of the person or bot whose act sent the event. */
  sender: string;
}

/**
 * The state and services every part of the twin shares: records, serializer, deliverer, logs, and the
 * lookups and webhook sending that REST routes, git pushes, seeds and actions all use the same way.
 */
export class TwinCore {
  readonly requests: RequestRecord[] = [];
  readonly pushes: PushRecord[] = [];
  private readonly repoLocks = new Map<number, Promise<unknown>>();
  private readonly hunks = new Map<string, string | null>();
  readonly mergeability = new Mergeability(this);
  /** Called after every branch move (git push, `actions.pushFiles`): the scripted CI listens here. */
  readonly pushListeners: ((
    repo: RepoRec,
    branch: string,
    before: string,
    after: string,
    sender: string,
  ) => void)[] = [];
  /**
   * Called when a pull request is opened through the API: the scripted CI runs the base
   * repository's `pull_request` workflows for a fork's head (its pushes ran only the fork's).
   */
  readonly pullOpenedListeners: ((repo: RepoRec, issue: IssueRec, sender: string) => void)[] = [];

  constructor(
    readonly state: TwinState,
    readonly ser: Serializer,
    readonly deliverer: Deliverer,
    readonly config: TwinConfig,
  ) {}

  seedUser(input: { login: string; type?: UserType; token?: string }): UserRec {
    const existing = this.state.findUser(input.login);
    if (existing) return { ...existing };
    const u: UserRec = {
      login: input.login,
      id: this.state.id(),
      type: input.type ?? 'User',
      token: input.token ?? randomToken('ghp_'),
    };
    this.state.users.set(u.login.toLowerCase(), u);
    return { ...u };
  }

  mustUser(login: string): UserRec {
    const u = this.state.findUser(login);
    if (!u) throw new PullwrightError('not_found', `Unknown user ${login}; seed it with twin.seed.user()`);
    return u;
  }

  ensureUser(login: string): UserRec {
    return this.state.findUser(login) ?? this.seedUser({ login });
  }

  mustRepo(fullName: string): RepoRec {
    const r = this.state.findRepo(fullName);
    if (!r) throw new PullwrightError('not_found', `Unknown repo ${fullName}`);
    return r;
  }

  mustIssue(repo: RepoRec, number: number): IssueRec {
    const i = this.state.issuesOf(repo).get(number);
    if (!i) throw new PullwrightError('not_found', `Unknown issue ${repo.fullName}#${number}`);
    return i;
  }

  /** The repository and pull request a seed or action names; an issue number is a usage error. */
  mustPull(repoName: string, number: number): { repo: RepoRec; issue: IssueRec } {
    const repo = this.mustRepo(repoName);
    const issue = this.mustIssue(repo, number);
    if (!issue.pull) throw new PullwrightError('input_invalid', `#${number} is not a pull request`);
    return { repo, issue };
  }

  /** Serializes changes to one repository's git refs (pushes and seeded commits). */
  withRepoLock<T>(repo: RepoRec, fn: () => Promise<T>): Promise<T> {
    const prev = this.repoLocks.get(repo.id) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    this.repoLocks.set(
      repo.id,
      next.catch(() => {}),
    );
    return next;
  }

  /**
   * The one way the twin sends a webhook. Like GitHub, every event carries `repository` (for a
   * repository event), `sender` and the `installation` the app receives it through.
   */
  sendEvent(event: string, payload: Json, to: EventTarget): Promise<Delivery> {
    const full: Json = { ...payload };
    if (to.repo) full.repository = this.ser.repo(to.repo);
    full.sender = this.ser.user(to.sender);
    const inst = to.installation ?? (to.repo ? this.state.installationForRepo(to.repo) : undefined);
    if (inst && !full.installation)
      full.installation = { id: inst.id, node_id: nodeId('Installation', inst.id) };
    return this.deliverer.deliver(event, full, inst?.id ?? null);
  }

  /** Runs deliveries after the current response, as GitHub sends them; `twin.settled()` awaits them. */
  sendLater(work: () => Promise<unknown>): void {
    void this.deliverer.track(work().catch(() => {}));
  }

  /**
   * Like GitHub, a REST change can itself trigger a webhook (the app sees its own comments). Off by
   * default (`restWebhooks`); when on, the delivery runs in the background after the response.
   */
  restEvent(event: string, repo: RepoRec, sender: string, build: () => Promise<Json> | Json): void {
    if (!this.config.restWebhooks) return;
    this.sendLater(async () => this.sendEvent(event, await build(), { repo, sender }));
  }

  /** The public key of an app adopted through the manifest flow; null = the key the twin started with. */
  appPublicKey: KeyObject | null = null;

  /**
   * Makes the twin act as this app from now on (the manifest flow registered it): its JWTs verify, its
   * bot user exists, GET /app and installations name it, and webhooks are signed with its secret and sent
   * to its hook URL.
   */
  adoptApp(app: {
    id: number;
    slug: string;
    name: string;
    owner: string;
    publicKey: KeyObject;
    webhookSecret: string;
    webhookUrl: string | null;
  }): void {
    const botLogin = `${app.slug}[bot]`;
    const bot = this.ensureUser(botLogin);
    // The bot acts only through installation tokens: an empty personal token never authenticates.
    this.state.users.set(botLogin.toLowerCase(), { ...bot, type: 'Bot', token: '' });
    this.config.appId = app.id;
    this.config.slug = app.slug;
    this.config.botLogin = botLogin;
    this.appPublicKey = app.publicKey;
    this.deliverer.adopt({ secret: app.webhookSecret, appId: app.id, url: app.webhookUrl });
    this.ser.adoptApp({
      id: app.id,
      slug: app.slug,
      name: app.name,
      owner: app.owner,
      botLogin,
      botId: bot.id,
    });
  }

  /** Tells the push listeners a branch moved. */
  pushed(repo: RepoRec, branch: string, before: string, after: string, sender: string): void {
    for (const listen of this.pushListeners) listen(repo, branch, before, after, sender);
  }

  /** A pull request's full JSON, with the commit and diff counts only the single-PR endpoints carry. */
  async fullPull(repo: RepoRec, i: IssueRec): Promise<Json> {
    const p = i.pull!;
    let commits = 0;
    let stat = { additions: 0, deletions: 0, changedFiles: 0 };
    try {
      commits = await countAhead(repo.gitDir, p.baseSha, p.headSha);
      stat = await diffStat(repo.gitDir, p.baseSha, p.headSha);
    } catch {
      // A deleted head keeps the recorded numbers at zero, as a closed PR whose branch is gone.
    }
    return this.ser.pull(repo, i, {
      commits,
      ...stat,
      ...this.mergeability.read(repo, p, i.state === 'open'),
    });
  }

  /** The subject fields of an issue or pull request event: `issue`, or `number` and `pull_request`. */
  async subject(repo: RepoRec, i: IssueRec): Promise<Json> {
    return i.pull
      ? { number: i.number, pull_request: await this.fullPull(repo, i) }
      : { issue: this.ser.issue(repo, i) };
  }

  /** Fills `diff_hunk` from the real diff the first time a review comment is read. */
  async withHunks(repo: RepoRec, comments: ReviewCommentRec[]): Promise<ReviewCommentRec[]> {
    for (const c of comments) {
      if (c.diffHunk !== undefined) continue;
      const pull = this.state.issuesOf(repo).get(c.number)?.pull;
      const key = pull ? `${pull.baseSha}:${c.commitId}:${c.line}:${c.path}` : null;
      let hunk = key ? this.hunks.get(key) : undefined;
      if (key && hunk === undefined && pull) {
        // One git process per distinct position, not per comment: a long thread shares one hunk.
        hunk = await diffHunkAt(repo.gitDir, pull.baseSha, c.commitId, c.path, c.line).catch(() => null);
        this.hunks.set(key, hunk);
      }
      c.diffHunk = hunk ?? `@@ -${c.line},1 +${c.line},1 @@`;
    }
    return comments;
  }
}
