import { PullwrightError } from '../../../src/errors.js';
import { commitFiles, listBranches, resolveRef } from './git.js';
import { newComment, newIssue } from './records-issues.js';
import { newPull, newReview, newReviewComment } from './records-pulls.js';
import { forkRepo, seedInstallation, seedRepo } from './records-repos.js';
import type { TwinCore } from './twin-core.js';
import type { TwinSeed } from './types.js';

/** `twin.seed.*`: changes state without sending webhooks. */
export function createSeed(core: TwinCore): TwinSeed {
  const { state } = core;
  const seed: TwinSeed = {
    user: (input) => core.seedUser(input),
    repo: (input) => seedRepo(core, input),
    installation: (input) => ({ id: seedInstallation(core, input).id }),
    collaborator(repoName, login, permission) {
      core.ensureUser(login);
      core.mustRepo(repoName).collaborators.set(login.toLowerCase(), permission);
    },
    issue(input) {
      const i = newIssue(core, core.mustRepo(input.repo), input);
      return { number: i.number, id: i.id };
    },
    comment(input) {
      return { id: newComment(core, core.mustRepo(input.repo), input.number, input.body, input.author).id };
    },
    async branch(input) {
      const repo = core.mustRepo(input.repo);
      const author = input.author ?? repo.owner;
      return core.withRepoLock(repo, async () => {
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
          // The base moved: open pull requests into it are measured against the new tip, as after a git push.
          if (i.pull && i.state === 'open' && i.pull.base === input.branch) i.pull.baseSha = sha;
        }
        return { sha };
      });
    },
    async pullRequest(input) {
      const i = await newPull(core, core.mustRepo(input.repo), input);
      return { number: i.number, id: i.pull!.id };
    },
    fork: (input) => forkRepo(core, input),
    review(input) {
      const { repo, issue } = core.mustPull(input.repo, input.number);
      return { id: newReview(core, repo, issue, input.author, input.state, input.body ?? '').id };
    },
    reviewThread(input) {
      const { repo, issue } = core.mustPull(input.repo, input.number);
      const [first, ...rest] = input.comments;
      if (!first) throw new PullwrightError('input_invalid', 'A review thread needs at least one comment');
      const c0 = newReviewComment(core, repo, issue, { ...first, path: input.path, line: input.line });
      const ids = [c0.id];
      for (const r of rest) ids.push(newReviewComment(core, repo, issue, { ...r, inReplyTo: c0.id }).id);
      return { threadId: c0.threadId, commentIds: ids };
    },
    resolveThread(threadId, resolved = true) {
      const t = state.threads.get(threadId);
      if (!t) throw new PullwrightError('not_found', `Unknown thread ${threadId}`);
      t.resolved = resolved;
    },
    async apply(file) {
      for (const u of file.users ?? []) core.seedUser(u);
      for (const r of file.repos ?? []) await seedRepo(core, r);
      for (const i of file.installations ?? []) seedInstallation(core, i);
      for (const c of file.collaborators ?? []) seed.collaborator(c.repo, c.login, c.permission);
      for (const i of file.issues ?? []) seed.issue(i);
    },
  };
  return seed;
}
