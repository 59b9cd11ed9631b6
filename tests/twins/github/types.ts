import type { TwinCi } from './types-ci.js';

/**
 * Public contract of the GitHub twin. Other tests and the demo code against these types only;
 * everything else under tests/twins/github/ is an implementation detail.
 */

export type Permission = 'admin' | 'maintain' | 'write' | 'triage' | 'read';
export type AccessLevel = 'read' | 'write';
/** `Organization` accounts can own repositories (forks) and installations, as on GitHub. */
export type UserType = 'User' | 'Bot' | 'Organization';

export interface StartGitHubTwinOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Where webhooks are delivered; null/undefined records deliveries without sending them. */
  webhookUrl?: string | null;
  /** HMAC secret for X-Hub-Signature-256. Default: random. */
  webhookSecret?: string;
  /** Default 1 (random-ish ids are not needed: each twin is its own GitHub). */
  appId?: number;
  /** Default 'pullwright'; the bot user is `${slug}[bot]`. */
  appSlug?: string;
  /** PEM (PKCS#1 or PKCS#8). Default: a fresh 2048-bit RSA key. */
  privateKey?: string;
  /** Installation token lifetime. Default 3600. */
  tokenTtlSeconds?: number;
  /** Where bare repos live. Default: a fresh temp dir, removed by close(). */
  dataDir?: string;
  /** Also send `pull_request.synchronize` / `push` webhooks on git pushes. Default true. */
  pushWebhooks?: boolean;
  /** Run the scripted CI (`.twin-ci.json`, see scripted-ci.ts) on pushes to every repo. Default false (`twin.ci.enable`). */
  ci?: boolean;
  /**
   * Also send the webhooks GitHub sends for REST changes (issue_comment created/edited, issues opened/closed,
   * pull_request opened/closed, pull_request_review_comment created), in the background. Default false.
   */
  restWebhooks?: boolean;
  /**
   * How long a fork made through `POST /repos/{o}/{r}/forks` stays invisible (404 over REST and git) after
   * the 202, as GitHub forks asynchronously. Default 300 ms.
   */
  forkDelayMs?: number;
}

export interface TwinUser {
  login: string;
  id: number;
  type: UserType;
  /** Personal token (`ghp_…`) for REST and for git Basic auth as this person. */
  token: string;
}

export interface SeedUserInput {
  login: string;
  type?: UserType;
  /** Default: a random `ghp_…` token. */
  token?: string;
}

export interface SeedRepoInput {
  owner: string;
  name: string;
  /** path → UTF-8 content, committed as the first commit of the default branch. */
  files?: Record<string, string>;
  defaultBranch?: string;
  private?: boolean;
  description?: string;
}

export interface SeededRepo {
  id: number;
  fullName: string;
  defaultBranch: string;
  headSha: string;
}

export interface SeedInstallationInput {
  /** User or organization login the app is installed on. */
  account: string;
  /** 'owner/name' full names; default: every repo of the account. */
  repos?: string[];
  /** Default: contents, issues, pull_requests, metadata write; checks write. */
  permissions?: Record<string, AccessLevel>;
}

export interface SeedIssueInput {
  repo: string;
  title: string;
  body?: string;
  author: string;
  labels?: string[];
  assignees?: string[];
}

export interface SeedPullRequestInput {
  repo: string;
  /** Branch name in the same repo, or in `headRepo` (must exist and be ahead of base). */
  head: string;
  /** `owner/name` of a fork of `repo` (see `seed.fork`) holding `head`: a pull request from a fork. */
  headRepo?: string;
  base?: string;
  title: string;
  body?: string;
  author: string;
  draft?: boolean;
}

export interface SeedReviewThreadInput {
  repo: string;
  number: number;
  path: string;
  line: number;
  /** First comment starts the thread, the rest are replies. */
  comments: { author: string; body: string }[];
}

export interface SeedBranchInput {
  repo: string;
  branch: string;
  /** Branch or sha to start from; default the default branch. */
  from?: string;
  /** path → content; null deletes the path. */
  files: Record<string, string | null>;
  message?: string;
  author?: string;
}

export interface SeedFile {
  users?: SeedUserInput[];
  repos?: SeedRepoInput[];
  installations?: SeedInstallationInput[];
  collaborators?: { repo: string; login: string; permission: Permission }[];
  issues?: SeedIssueInput[];
}

export interface Delivery {
  /** X-GitHub-Delivery (uuid). Redeliveries keep the same id. */
  id: string;
  event: string;
  action: string | null;
  installationId: number | null;
  /** The exact body that was signed and sent. */
  body: string;
  signature: string;
  url: string | null;
  /** HTTP status received; null when not sent (no URL) or the request failed. */
  status: number | null;
  responseBody: string;
  error: string | null;
  redelivery: boolean;
  at: string;
}

export type WithDelivery<T> = T & { delivery: Delivery };

export interface TwinActions {
  openIssue(i: {
    repo: string;
    title: string;
    body?: string;
    sender: string;
  }): Promise<WithDelivery<{ number: number }>>;
  assignIssue(i: {
    repo: string;
    number: number;
    assignee: string;
    sender: string;
  }): Promise<WithDelivery<object>>;
  unassignIssue(i: {
    repo: string;
    number: number;
    assignee: string;
    sender: string;
  }): Promise<WithDelivery<object>>;
  closeIssue(i: { repo: string; number: number; sender: string }): Promise<WithDelivery<object>>;
  commentOnIssue(i: {
    repo: string;
    number: number;
    body: string;
    sender: string;
  }): Promise<WithDelivery<{ commentId: number }>>;
  editComment(i: {
    repo: string;
    commentId: number;
    body: string;
    sender: string;
  }): Promise<WithDelivery<object>>;
  /** A person edits an issue's title or body: `issues.edited` with `changes.{title,body}.from`. */
  editIssue(i: {
    repo: string;
    number: number;
    title?: string;
    body?: string;
    sender: string;
  }): Promise<WithDelivery<object>>;
  submitReview(i: {
    repo: string;
    number: number;
    sender: string;
    state: 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED';
    body?: string;
  }): Promise<WithDelivery<{ reviewId: number }>>;
  /** A review comment on a line of the PR diff, or a reply when inReplyTo is set. */
  reviewComment(i: {
    repo: string;
    number: number;
    sender: string;
    body: string;
    path?: string;
    line?: number;
    inReplyTo?: number;
  }): Promise<WithDelivery<{ commentId: number; threadId: string }>>;
  /** Commits files to a branch as a person (created from `from` if missing), then a `push` webhook. */
  pushFiles(i: {
    repo: string;
    branch: string;
    files: Record<string, string | null>;
    message?: string;
    sender: string;
    from?: string;
  }): Promise<WithDelivery<{ sha: string }>>;
  installApp(i: {
    account: string;
    repos?: string[];
    sender: string;
  }): Promise<WithDelivery<{ installationId: number }>>;
  uninstall(i: { installationId: number; sender: string }): Promise<WithDelivery<object>>;
  addRepos(i: { installationId: number; repos: string[]; sender: string }): Promise<WithDelivery<object>>;
  removeRepos(i: { installationId: number; repos: string[]; sender: string }): Promise<WithDelivery<object>>;
}

export interface TwinSeed {
  user(input: SeedUserInput): TwinUser;
  repo(input: SeedRepoInput): Promise<SeededRepo>;
  installation(input: SeedInstallationInput): { id: number };
  collaborator(repo: string, login: string, permission: Permission): void;
  issue(input: SeedIssueInput): { number: number; id: number };
  comment(input: { repo: string; number: number; body: string; author: string }): { id: number };
  branch(input: SeedBranchInput): Promise<{ sha: string }>;
  pullRequest(input: SeedPullRequestInput): Promise<{ number: number; id: number }>;
  /**
   * Forks `repo` into `owner`'s account with all its branches (or the default branch only), as GitHub's
   * fork button does; ready at once (`POST /repos/{o}/{r}/forks` is the asynchronous way).
   */
  fork(input: {
    repo: string;
    owner: string;
    name?: string;
    defaultBranchOnly?: boolean;
  }): Promise<SeededRepo>;
  review(input: {
    repo: string;
    number: number;
    author: string;
    state: 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED';
    body?: string;
  }): { id: number };
  reviewThread(input: SeedReviewThreadInput): { threadId: string; commentIds: number[] };
  resolveThread(threadId: string, resolved?: boolean): void;
  /** Everything in a seed file, in order: users, repos, installations, collaborators, issues. */
  apply(seed: SeedFile): Promise<void>;
}

export interface InspectedComment {
  id: number;
  issueNumber: number;
  body: string;
  author: string;
  /** How many times the body was changed after creation. */
  editCount: number;
  history: string[];
}

export interface InspectedPull {
  number: number;
  title: string;
  body: string;
  state: 'open' | 'closed';
  head: string;
  /** `owner/name` of the repository holding `head` (a fork's for a pull request from a fork). */
  headRepo: string | null;
  base: string;
  headSha: string;
  author: string;
  draft: boolean;
  /** When the pull request was opened (ISO time). */
  createdAt: string;
}

export interface InspectedIssue {
  number: number;
  title: string;
  body: string;
  state: 'open' | 'closed';
  author: string;
  labels: string[];
  assignees: string[];
  isPullRequest: boolean;
}

export interface InspectedReaction {
  subject: 'issue' | 'issue_comment' | 'review_comment';
  subjectId: number;
  content: string;
  user: string;
}

export interface InspectedReviewComment {
  id: number;
  pullNumber: number;
  threadId: string;
  inReplyTo: number | null;
  path: string;
  line: number;
  body: string;
  author: string;
}

export interface PushRecord {
  repo: string;
  ref: string;
  before: string;
  after: string;
  /** Who pushed: an installation token (the app) or a person's token. */
  pusher: { kind: 'installation'; installationId: number; login: string } | { kind: 'user'; login: string };
  at: string;
}

export type AuthKind = 'none' | 'jwt' | 'installation' | 'user' | 'invalid';

export interface RequestRecord {
  method: string;
  /** Path without the query string. */
  path: string;
  query: string;
  authKind: AuthKind;
  installationId: number | null;
  login: string | null;
  status: number;
  /** For installation tokens: whether the request targeted a repo outside the token's scope. */
  outOfScope: boolean;
  at: string;
}

export interface CommitInfo {
  sha: string;
  message: string;
  authorName: string;
  authorEmail: string;
  committerName: string;
  parents: string[];
}

export interface TwinInspect {
  issues(repo: string): InspectedIssue[];
  pulls(repo: string): InspectedPull[];
  pull(repo: string, number: number): InspectedPull | null;
  comments(repo: string, number?: number): InspectedComment[];
  reactions(repo: string): InspectedReaction[];
  reviewComments(repo: string, number?: number): InspectedReviewComment[];
  labels(repo: string): string[];
  branches(repo: string): Promise<Record<string, string>>;
  commits(repo: string, branch: string): Promise<CommitInfo[]>;
  /** `git diff base...head` of the PR. */
  diff(repo: string, number: number): Promise<string>;
  /** File content at a ref, or null. */
  file(repo: string, ref: string, path: string): Promise<string | null>;
  pushes(repo?: string): PushRecord[];
  requests(): RequestRecord[];
}

export interface FaultRule {
  /** HTTP method, default any. */
  method?: string;
  /**
   * Path matcher: a string with `*` (one segment) and `**` (any rest) wildcards, e.g. '/repos/* /* /pulls'
   * (without spaces), or a RegExp. Default: every path except /_twin/ admin paths.
   */
  path?: string | RegExp;
  kind: 'status' | 'secondary-rate-limit' | 'rate-limit' | 'latency';
  /** For kind 'status': 500, 502, 503… */
  status?: number;
  /** For rate limits: retry-after seconds (default 1). */
  retryAfter?: number;
  /** For kind 'latency' (added before the real answer). */
  latencyMs?: number;
  /** Fire this many times, then stop. Default unlimited. */
  times?: number;
  /** Chance of firing per matching request, 0..1. Default 1. */
  probability?: number;
}

export interface TwinFaults {
  add(rule: FaultRule): string;
  remove(id: string): void;
  clear(): void;
  list(): (FaultRule & { id: string; fired: number })[];
}

export interface GitHubTwin {
  /** http://host:port — REST base URL (Octokit baseUrl), GraphQL at /graphql and git at /{owner}/{repo}.git. */
  url: string;
  app: {
    id: number;
    slug: string;
    name: string;
    privateKey: string;
    publicKey: string;
    webhookSecret: string;
    botLogin: string;
    botId: number;
  };
  setWebhookUrl(url: string | null): void;
  seed: TwinSeed;
  actions: TwinActions;
  /** The scripted CI and CI records: checks, Actions runs and jobs, statuses (types-ci.ts). */
  ci: TwinCi;
  redeliver(deliveryId: string): Promise<Delivery>;
  readonly deliveries: Delivery[];
  /** Resolves when every webhook delivery started so far (including those fired by git pushes) has finished. */
  settled(): Promise<void>;
  inspect: TwinInspect;
  faults: TwinFaults;
  /** Clone URL with a token in it, for tests: http://x-access-token:TOKEN@host:port/owner/repo.git */
  gitUrl(repo: string, token?: string): string;
  /** Mints an installation token directly (tests that do not exercise the JWT flow). */
  createInstallationToken(
    installationId: number,
    options?: { repositories?: string[]; permissions?: Record<string, AccessLevel>; ttlSeconds?: number },
  ): { token: string; expiresAt: string };
  close(): Promise<void>;
}
