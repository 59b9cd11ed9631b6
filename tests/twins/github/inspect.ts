import { gitDiff, gitLog, listBranches, readPath, resolveRef } from './git.js';
import type { TwinCore } from './twin-core.js';
import type { TwinInspect } from './types.js';

/** `twin.inspect.*`: what tests assert on, read straight from the twin's records and git dirs. */
export function createInspect(core: TwinCore): TwinInspect {
  const { state } = core;
  const inspect: TwinInspect = {
    issues(repoName) {
      const repo = core.mustRepo(repoName);
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
      const repo = core.mustRepo(repoName);
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
          createdAt: i.createdAt,
        }));
    },
    pull(repoName, number) {
      return inspect.pulls(repoName).find((p) => p.number === number) ?? null;
    },
    comments(repoName, number) {
      const repo = core.mustRepo(repoName);
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
      const repo = core.mustRepo(repoName);
      return state.reactions
        .filter((r) => r.repoId === repo.id)
        .map((r) => ({ subject: r.subject, subjectId: r.subjectId, content: r.content, user: r.user }));
    },
    reviewComments(repoName, number) {
      const repo = core.mustRepo(repoName);
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
      return [...core.mustRepo(repoName).labels.values()].map((l) => l.name);
    },
    branches: (repoName) => listBranches(core.mustRepo(repoName).gitDir),
    commits: (repoName, branch) => gitLog(core.mustRepo(repoName).gitDir, `refs/heads/${branch}`),
    async diff(repoName, number) {
      const { repo, issue } = core.mustPull(repoName, number);
      return gitDiff(repo.gitDir, issue.pull!.baseSha, issue.pull!.headSha);
    },
    async file(repoName, ref, path) {
      const repo = core.mustRepo(repoName);
      const sha = await resolveRef(repo.gitDir, ref);
      if (!sha) return null;
      const e = await readPath(repo.gitDir, sha, path);
      return e?.type === 'file' ? e.content.toString('utf8') : null;
    },
    pushes: (repoName) =>
      core.pushes
        .filter((p) => !repoName || p.repo.toLowerCase() === repoName.toLowerCase())
        .map((p) => ({ ...p })),
    requests: () => core.requests.map((r) => ({ ...r })),
  };
  return inspect;
}
