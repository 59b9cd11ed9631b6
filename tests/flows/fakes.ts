import type { MaintenanceTask, RepoRef, TargetTask, Task } from '../../src/domain/task.js';
import { PullwrightError } from '../../src/errors.js';
import type {
  CheckRunChange,
  CheckRunData,
  CombinedStatusData,
  NewCheckRun,
  PullCommitData,
  WorkflowJobData,
  WorkflowRunData,
} from '../../src/github/ci-data.js';
import type {
  CommentData,
  NewPull,
  PullData,
  RepoGitHub,
  ReviewData,
  ReviewThreadData,
} from '../../src/github/github-for-worker.js';
import { createSilentLogger } from '../../src/logger.js';
import type { AgentResult } from '../../worker/agent/loop/run-agent.js';
import { DEFAULT_FLOW_CONFIG, type FlowRepoConfig } from '../../worker/flows/flow-config.js';
import type { FlowDeps } from '../../worker/flows/flow-context.js';
import { runFlow } from '../../worker/flows/run-flow.js';
import type { ExecResult, Sandbox, SandboxPolicyInput } from '../../worker/sandbox/sandbox.js';

/**
 * In-memory fakes for unit tests of the orchestration only; integration tests use the twins.
 * One repository: `forRepo` hands out this client (and counts the tokens it minted).
 */
export class FakeGitHub implements RepoGitHub {
  readonly repo: RepoRef = { owner: 'o', name: 'r' };
  readonly token = 'ghs_faketokenfaketokenfaketoken0000';
  readonly tokenExpiresAt = new Date(Date.now() + 3.6e6).toISOString();
  tokensMinted = 0;
  comments: (CommentData & { number: number; edits: number })[] = [];
  pulls: (PullData & { labels: string[] })[] = [];
  branches = new Map<string, string>([['main', 'base000']]);
  permissions = new Map<string, 'admin' | 'write' | 'read' | 'none'>([['alice', 'write']]);
  threads: ReviewThreadData[] = [];
  reviews: ReviewData[] = [];
  replies: { commentId: number; body: string }[] = [];
  issue = {
    number: 7,
    title: 'Fix the adder',
    body: 'add() is wrong',
    state: 'open' as const,
    author: 'alice',
    htmlUrl: 'https://twin/issues/7',
    labels: [] as string[],
  };
  tokenPermissions: Record<string, 'read' | 'write'> = {
    contents: 'write',
    checks: 'write',
    actions: 'read',
  };
  /** Check runs by commit: Pullwright's own (created through the port) and seeded CI results. */
  checkRuns: CheckRunData[] = [];
  checkRunEdits: { id: number; change: CheckRunChange }[] = [];
  workflowRuns: WorkflowRunData[] = [];
  jobs: WorkflowJobData[] = [];
  jobLogs = new Map<number, string>();
  statuses: CombinedStatusData[] = [];
  pullCommits: PullCommitData[] = [];
  resolvedThreads: string[] = [];
  reruns: number[] = [];
  private nextId = 100;

  async getDefaultBranch() {
    return 'main';
  }
  async getDefaultBranchFile() {
    return null;
  }
  async getIssue() {
    return { ...this.issue, isPullRequest: false };
  }
  async listIssueComments(number: number) {
    return this.comments.filter((c) => c.number === number);
  }
  async getPermission(login: string) {
    return this.permissions.get(login) ?? 'none';
  }
  async createComment(number: number, body: string) {
    const id = this.nextId++;
    this.comments.push({
      id,
      number,
      body,
      author: 'pullwright[bot]',
      authorIsBot: true,
      createdAt: new Date().toISOString(),
      edits: 0,
    });
    return { id, htmlUrl: `https://twin/c/${id}` };
  }
  async updateComment(id: number, body: string) {
    const c = this.comments.find((x) => x.id === id);
    if (!c) throw new PullwrightError('not_found', 'no comment');
    c.body = body;
    c.edits += 1;
  }
  async getPull(number: number) {
    const p = this.pulls.find((x) => x.number === number);
    if (!p) throw new PullwrightError('not_found', 'no pull');
    return p;
  }
  async listPullsByHead(branch: string, state: 'open' | 'closed' | 'all') {
    return this.pulls.filter((p) => p.headRef === branch && (state === 'all' || p.state === state)).reverse();
  }
  async createPull(input: NewPull) {
    if (this.pulls.some((p) => p.headRef === input.head && p.state === 'open')) {
      throw new PullwrightError('conflict', 'A pull request already exists');
    }
    const number = this.nextId++;
    const pull = {
      number,
      title: input.title,
      body: input.body,
      state: 'open' as const,
      merged: false,
      draft: input.draft,
      htmlUrl: `https://twin/pull/${number}`,
      headRef: input.head,
      headSha: this.branches.get(input.head) ?? '',
      headRepoFullName: 'o/r',
      baseRef: input.base,
      baseSha: this.branches.get(input.base) ?? '',
      mergeable: null,
      mergeableState: 'unknown',
      labels: [] as string[],
    };
    this.pulls.push(pull);
    return pull;
  }
  async updatePull(number: number, input: { title?: string; body?: string }) {
    const p = await this.getPull(number);
    Object.assign(p, input);
    return p;
  }
  async addLabels(number: number, labels: string[]) {
    (await this.getPull(number)).labels.push(...labels);
  }
  async getBranchSha(branch: string) {
    return this.branches.get(branch) ?? null;
  }
  async listReviewThreads() {
    return this.threads;
  }
  async listReviews() {
    return this.reviews;
  }
  async replyToReviewComment(_n: number, commentId: number, body: string) {
    this.replies.push({ commentId, body });
  }
  async resolveReviewThread(threadId: string) {
    this.resolvedThreads.push(threadId);
  }
  async getPullMergeability(number: number) {
    return this.getPull(number);
  }
  async compareCommits() {
    return { status: 'ahead' as const, aheadBy: 1, behindBy: 0, mergeBaseSha: 'base000' };
  }
  async listPullCommits() {
    return this.pullCommits;
  }
  async createCheckRun(input: NewCheckRun) {
    const run: CheckRunData = {
      id: this.nextId++,
      name: input.name,
      headSha: input.headSha,
      status: input.status ?? 'queued',
      conclusion: input.conclusion ?? null,
      detailsUrl: input.detailsUrl ?? null,
      htmlUrl: null,
      startedAt: input.startedAt ?? null,
      completedAt: input.completedAt ?? null,
      output: {
        title: input.output?.title ?? null,
        summary: input.output?.summary ?? null,
        text: input.output?.text ?? null,
        annotationsCount: 0,
      },
      annotations: [],
      appSlug: 'pullwright',
      checkSuiteId: null,
    };
    this.checkRuns.push(run);
    return run;
  }
  async updateCheckRun(id: number, change: CheckRunChange) {
    const run = this.checkRuns.find((r) => r.id === id);
    if (!run) throw new PullwrightError('not_found', 'no check run');
    this.checkRunEdits.push({ id, change });
    if (change.status) run.status = change.status;
    if (change.conclusion) run.conclusion = change.conclusion;
    if (change.output)
      run.output = { ...run.output, title: change.output.title, summary: change.output.summary };
    return run;
  }
  async listCheckRunsForRef(ref: string) {
    return this.checkRuns.filter((r) => r.headSha === ref);
  }
  async listCheckSuitesForRef() {
    return [];
  }
  async listWorkflowRunsForSha(sha: string) {
    return this.workflowRuns.filter((r) => r.headSha === sha);
  }
  async getWorkflowRun(id: number) {
    const run = this.workflowRuns.find((r) => r.id === id);
    if (!run) throw new PullwrightError('not_found', 'no run');
    return run;
  }
  async listJobsForWorkflowRun(runId: number) {
    return this.jobs.filter((j) => j.runId === runId);
  }
  async downloadJobLog(jobId: number) {
    const text = this.jobLogs.get(jobId);
    return text === undefined ? null : { text, truncated: false, totalBytes: text.length };
  }
  async getCombinedStatus(ref: string) {
    return (
      this.statuses.find((s) => s.sha === ref) ?? {
        sha: ref,
        state: 'success' as const,
        totalCount: 0,
        statuses: [],
      }
    );
  }
  async rerunFailedJobs(runId: number) {
    this.reruns.push(runId);
  }
  async createIssue(): Promise<never> {
    throw new PullwrightError('not_found', 'not in the fake');
  }
  async updateIssue(): Promise<never> {
    throw new PullwrightError('not_found', 'not in the fake');
  }
  async findIssueByMarker() {
    return null;
  }
}

/** A pull request as the fake stores it. */
export function fakePull(overrides: Partial<PullData> = {}): PullData & { labels: string[] } {
  return {
    number: 12,
    title: 'Fix the adder',
    body: 'Fixes #7',
    state: 'open',
    merged: false,
    draft: false,
    htmlUrl: 'https://twin/pull/12',
    headRef: 'pullwright/issue-7-fix-the-adder',
    headSha: 'head000'.padEnd(40, '0'),
    headRepoFullName: 'o/r',
    baseRef: 'main',
    baseSha: 'base000',
    mergeable: true,
    mergeableState: 'clean',
    labels: [],
    ...overrides,
  };
}

export function fakeSandbox(execLog: string[], exitCodeOf: (cmd: string) => number = () => 0): Sandbox {
  return {
    id: 'fake',
    workdir: '/workspace',
    async exec(options) {
      const cmd = typeof options.cmd === 'string' ? options.cmd : options.cmd.join(' ');
      execLog.push(cmd);
      const result: ExecResult = {
        exitCode: exitCodeOf(cmd),
        stdout: '',
        stderr: '',
        stdoutTruncated: false,
        stderrTruncated: false,
        durationMs: 1,
        timedOut: false,
        oomKilled: false,
      };
      return result;
    },
    async readFile() {
      return Buffer.from('');
    },
    async writeFile() {},
    async blockedConnections() {
      return [];
    },
    async dispose() {
      execLog.push('dispose');
    },
  };
}

export const SAMPLE_PATCH = [
  'diff --git a/src/add.js b/src/add.js',
  'index 1111111..2222222 100644',
  '--- a/src/add.js',
  '+++ b/src/add.js',
  '@@ -1 +1 @@',
  '-export const add = (a, b) => a - b;',
  '+export const add = (a, b) => a + b;',
  '',
].join('\n');

export function agentResult(overrides: Partial<AgentResult> = {}): AgentResult {
  return {
    outcome: 'succeeded',
    summary: 'Fixed add() to add. @someone should look.',
    usage: { input: 1000, output: 200, cacheRead: 5000, cacheWrite: 800, costUsd: 0.0123 },
    turns: 4,
    durationMs: 1234,
    plan: [{ step: 'Fix add', status: 'completed' }],
    ...overrides,
  };
}

export interface Harness {
  github: FakeGitHub;
  deps: FlowDeps;
  pushes: { branch: string; parentSha: string; message: string; replaceSha?: string }[];
  execLog: string[];
  /** What the flow asked the sandbox provider for, one entry per container. */
  policies: SandboxPolicyInput[];
  setPatch(patch: string): void;
  setAgent(result: AgentResult): void;
  config: FlowRepoConfig;
}

export function createHarness(configOverrides: Partial<FlowRepoConfig> = {}): Harness {
  const github = new FakeGitHub();
  const pushes: Harness['pushes'] = [];
  const execLog: string[] = [];
  const policies: SandboxPolicyInput[] = [];
  let patch = SAMPLE_PATCH;
  let result = agentResult();
  const config: FlowRepoConfig = { ...DEFAULT_FLOW_CONFIG, ...configOverrides };
  const deps: FlowDeps = {
    github: {
      forRepo: async () => {
        github.tokensMinted += 1;
        return github;
      },
    },
    workspaces: {
      async prepare({ ref }) {
        return {
          workDir: '/tmp/none',
          baseSha: github.branches.get(ref) ?? ref,
          async extractPatch() {
            return {
              patch,
              paths: patch ? ['src/add.js'] : [],
              stats: { files: patch ? 1 : 0, additions: 1, deletions: 1, bytes: patch.length },
            };
          },
          dispose: async () => {},
        };
      },
      async commitAndPush(input) {
        const current = github.branches.get(input.branch);
        if (input.replaceSha === undefined && current !== undefined && current !== input.parentSha) {
          throw new PullwrightError('conflict', 'non-fast-forward');
        }
        pushes.push(input);
        const sha = `c${pushes.length}`.padEnd(40, '0');
        github.branches.set(input.branch, sha);
        return { commitSha: sha };
      },
      async foreignCommits() {
        return [];
      },
      async updateBranch() {
        return { kind: 'up-to-date' as const, baseSha: 'base000' };
      },
      async pushResolution() {
        return { commitSha: 'r'.repeat(40) };
      },
      async pushUpdate() {},
    },
    session: {
      sandboxes: {
        create: async (policy) => {
          policies.push(policy);
          return fakeSandbox(execLog);
        },
      },
      image: 'pullwright-sandbox:test',
      agent: { run: async () => result },
    },
    caps: { check: async () => ({ ok: true }), recordOpened: async () => {} },
    loadRepoConfig: async () => config,
    bot: {
      login: 'pullwright[bot]',
      identity: { name: 'pullwright[bot]', email: '1+pullwright[bot]@users.noreply' },
    },
    runDir: '/tmp',
  };
  return {
    github,
    deps,
    pushes,
    execLog,
    policies,
    config,
    setPatch: (p) => {
      patch = p;
    },
    setAgent: (r) => {
      result = r;
    },
  };
}

export function implementTask(overrides: Partial<TargetTask> = {}): TargetTask {
  return {
    kind: 'implement',
    installationId: 1,
    repo: { owner: 'o', name: 'r' },
    number: 7,
    trigger: { actor: 'alice', actorId: 42, source: 'assignment' },
    requestedAt: new Date().toISOString(),
    ...overrides,
  };
}

export function maintenanceTask(maintenanceTaskId: string): MaintenanceTask {
  return {
    kind: 'maintenance',
    installationId: 1,
    repo: { owner: 'o', name: 'r' },
    maintenanceTaskId,
    trigger: { actor: 'pullwright[bot]', source: 'schedule' },
    requestedAt: new Date().toISOString(),
  };
}

export const silent = createSilentLogger();

/** Runs one job through runFlow on the harness, as the last attempt, with a fresh signal. */
export function runTask(h: Harness, task: Task, jobId = 'job-1') {
  return runFlow({
    task,
    jobId,
    deps: h.deps,
    signal: new AbortController().signal,
    log: silent,
    finalAttempt: true,
  });
}
