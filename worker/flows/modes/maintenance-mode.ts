import type { MaintenanceTask } from '../../../src/domain/task.js';
import { findPatchProblems } from '../../delivery/patch-safety.js';
import { maintenanceBranch } from '../flow-config.js';
import { hasChange, proposeChange, pushRun, sha256 } from '../mode-helpers.js';
import { readPatchHash } from '../pr-body.js';
import type { Mode } from './mode.js';

/**
 * A scheduled task from `.github/pullwright.yml`: one branch per task, regenerated
 * from the default branch each time unless a person pushed to it, and one PR kept
 * current, within renovate-style caps. Nobody asked in a thread, so nothing is
 * commented: outcomes go to the log and the PR.
 */
export const maintenanceMode: Mode<MaintenanceTask> = {
  trackingTitle: () => null,

  async plan(ctx) {
    const { task, github, deps, log } = ctx;
    const taskConfig = ctx.config.maintenance.find((m) => m.id === task.maintenanceTaskId);
    if (!taskConfig) {
      // The schedule outlived its declaration; intake removes it on the next config sync.
      log.info({ taskId: task.maintenanceTaskId }, 'Maintenance task no longer declared');
      return { status: 'skipped', reason: 'task no longer declared' };
    }
    const branch = maintenanceBranch(ctx.config.pr.branchPrefix, taskConfig.id);
    const [branchSha, defaultSha] = await Promise.all([
      github.getBranchSha(branch),
      github.getBranchSha(ctx.defaultBranch),
    ]);
    const foreign =
      branchSha && defaultSha
        ? await deps.workspaces.foreignCommits({
            repo: task.repo,
            token: github.token,
            branchSha,
            sinceSha: defaultSha,
            botEmail: deps.bot.identity.email,
          })
        : [];
    // Regenerated from the current base unless a person has pushed to the branch.
    const buildOnBranch = foreign.length > 0;
    return {
      startRef: buildOnBranch && branchSha ? branchSha : (defaultSha ?? ctx.defaultBranch),
      agentTask: { kind: 'maintenance', taskId: taskConfig.id, prompt: taskConfig.prompt },
      async deliver(run) {
        if (!hasChange(run)) return { status: 'no-changes', agent: run.agent };
        const problems = findPatchProblems(run.patch.patch, { protectedPaths: ctx.config.protectedPaths });
        if (problems.length > 0) {
          log.warn(
            { taskId: taskConfig.id, kinds: problems.map((p) => p.kind) },
            'Maintenance change refused',
          );
          return { status: 'refused', reason: problems.map((p) => p.message).join('\n') };
        }
        const patchHash = sha256(run.patch.patch);
        const closed = (await github.listPullsByHead(branch, 'closed')).filter((p) => !p.merged);
        if (closed.some((p) => readPatchHash(p.body) === patchHash)) {
          log.info({ taskId: taskConfig.id }, 'Maintenance change was closed before; not proposing it again');
          return { status: 'skipped', reason: 'same change was closed by a person' };
        }
        const [open] = await github.listPullsByHead(branch, 'open');
        if (open && readPatchHash(open.body) === patchHash && !buildOnBranch) {
          return {
            status: 'skipped',
            reason: 'open PR is already up to date',
            prNumber: open.number,
            prUrl: open.htmlUrl,
          };
        }
        if (!open) {
          const cap = await deps.caps.check(task.repo, taskConfig);
          if (!cap.ok) {
            log.info({ taskId: taskConfig.id, reason: cap.reason }, 'Maintenance PR held back by a cap');
            return { status: 'skipped', reason: cap.reason };
          }
        }
        const commitSha = await pushRun(ctx, run, {
          branch,
          message: `Maintenance: ${taskConfig.id}`,
          replaceSha: buildOnBranch ? undefined : (branchSha ?? undefined),
        });
        const { pull, created } = await proposeChange(ctx, run, {
          branch,
          title: `Maintenance: ${taskConfig.id}`,
          heading: `Scheduled maintenance task \`${taskConfig.id}\` from \`.github/pullwright.yml\`.`,
          patchHash,
        });
        if (created) await deps.caps.recordOpened(task.repo, taskConfig.id, pull.number);
        return {
          status: 'succeeded',
          prNumber: pull.number,
          prUrl: pull.htmlUrl,
          branch,
          commitSha,
          agent: run.agent,
        };
      },
    };
  },
};
