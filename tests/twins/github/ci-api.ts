import { PullwrightError } from '../../../src/errors.js';
import { listBranches, resolveRef } from './git.js';
import { newStatus, sendStatus } from './records-ci.js';
import type { ScriptedCi } from './scripted-ci.js';
import type { AnnotationRec } from './state-ci.js';
import type { TwinCore } from './twin-core.js';
import type { TwinCi } from './types-ci.js';

const toAnnotations = (list: { path: string; line: number; message: string }[] = []): AnnotationRec[] =>
  list.map((a) => ({
    path: a.path,
    startLine: a.line,
    endLine: a.line,
    level: 'failure',
    message: a.message,
    title: null,
    rawDetails: null,
  }));

/** `twin.ci.*`: switch the scripted CI on, script outcomes, record runs and statuses, inspect. */
export function createCiApi(core: TwinCore, ci: ScriptedCi): TwinCi {
  const { state } = core;
  return {
    enable(repo) {
      if (!repo) state.ci.enabled = 'all';
      else if (state.ci.enabled !== 'all') state.ci.enabled.add(core.mustRepo(repo).id);
    },
    disable(repo) {
      if (!repo) state.ci.enabled = new Set();
      else if (state.ci.enabled !== 'all') state.ci.enabled.delete(core.mustRepo(repo).id);
      else
        throw new PullwrightError('input_invalid', 'CI is on for all repos: disable() without a repo first');
    },
    outcome(input) {
      const repo = core.mustRepo(input.repo);
      if (!input.sha === !input.branch)
        throw new PullwrightError('input_invalid', 'Give exactly one of sha and branch');
      state.ci.outcomes = state.ci.outcomes.filter(
        (r) =>
          !(r.repoId === repo.id && r.job === input.job && r.sha === input.sha && r.branch === input.branch),
      );
      if (input.outcomes.length === 0) return;
      state.ci.outcomes.push({ ...input, repoId: repo.id });
    },
    async run(input) {
      const repo = core.mustRepo(input.repo);
      const sha = await resolveRef(repo.gitDir, input.sha);
      if (!sha) throw new PullwrightError('not_found', `Unknown commit ${input.sha}`);
      const run = await ci.run(repo, {
        sha,
        branch: input.branch ?? null,
        actor: input.actor ?? repo.owner,
        event: input.event ?? 'push',
        name: input.name ?? 'CI',
        jobs: [],
        scripted: input.jobs.map((j) => ({ ...j, annotations: toAnnotations(j.annotations) })),
      });
      return { runId: run.id, checkSuiteId: run.suiteId, jobIds: run.jobs.map((j) => j.id) };
    },
    async status(input) {
      const repo = core.mustRepo(input.repo);
      const sha = await resolveRef(repo.gitDir, input.sha);
      if (!sha) throw new PullwrightError('not_found', `Unknown commit ${input.sha}`);
      core.ensureUser(input.creator ?? 'ci-bot');
      const rec = newStatus(core, repo, { ...input, sha, creator: input.creator ?? 'ci-bot' });
      const branches = Object.entries(await listBranches(repo.gitDir)).filter(([, s]) => s === sha);
      const delivery = await sendStatus(
        core,
        repo,
        rec,
        branches.map(([b]) => b),
      );
      return { id: rec.id, delivery };
    },
    idle: () => ci.idle(),
    workflowRuns(repoName) {
      const repo = core.mustRepo(repoName);
      return [...state.ci.workflowRuns.values()]
        .filter((r) => r.repoId === repo.id)
        .map((r) => ({
          id: r.id,
          name: r.name,
          headSha: r.headSha,
          headBranch: r.headBranch,
          event: r.event,
          status: r.status,
          conclusion: r.conclusion,
          runAttempt: r.runAttempt,
          checkSuiteId: r.suiteId,
          jobs: r.jobs.map((j) => ({
            id: j.id,
            name: j.name,
            runAttempt: j.runAttempt,
            conclusion: j.conclusion,
            log: j.log,
          })),
        }));
    },
    checkRuns(repoName, sha) {
      const repo = core.mustRepo(repoName);
      return [...state.ci.checkRuns.values()]
        .filter((r) => r.repoId === repo.id && (!sha || r.headSha === sha))
        .map((r) => ({
          id: r.id,
          name: r.name,
          headSha: r.headSha,
          app: r.app === 'app' ? core.config.slug : 'github-actions',
          status: r.status,
          conclusion: r.conclusion,
          title: r.output.title,
          summary: r.output.summary,
          text: r.output.text,
          annotations: r.annotations.map((a) => ({
            path: a.path,
            startLine: a.startLine,
            level: a.level,
            message: a.message,
          })),
          completedAt: r.completedAt,
        }));
    },
    async settleMergeability(repoName, number) {
      const { repo, issue } = core.mustPull(repoName, number);
      await core.mergeability.settle(repo, issue.pull!);
    },
  };
}
