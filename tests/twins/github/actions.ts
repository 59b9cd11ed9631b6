import { PullwrightError } from '../../../src/errors.js';
import { listBranches, ZERO_SHA } from './git.js';
import { recordPush, sendPushEvents } from './git-http.js';
import { nowIso } from './http.js';
import { addAssignees, editCommentBody, newComment, newIssue, setIssueState } from './records-issues.js';
import { newReview, newReviewComment } from './records-pulls.js';
import { seedInstallation } from './records-repos.js';
import { nodeId } from './serialize.js';
import type { InstallationRec, RepoRec } from './state.js';
import type { TwinCore } from './twin-core.js';
import type { TwinActions, TwinSeed } from './types.js';

/** `twin.actions.*`: a person's act on GitHub, which changes state AND delivers the webhook GitHub sends. */
export function createActions(core: TwinCore, seed: TwinSeed): TwinActions {
  const { state, ser } = core;
  const repoSummary = (repos: RepoRec[]) =>
    repos.map((r) => ({
      id: r.id,
      node_id: nodeId('Repository', r.id),
      name: r.name,
      full_name: r.fullName,
      private: r.private,
    }));
  const mustInstallation = (id: number): InstallationRec => {
    const inst = state.installations.get(id);
    if (!inst) throw new PullwrightError('not_found', `Unknown installation ${id}`);
    return inst;
  };
  const issueIn = (input: { repo: string; number: number }) => {
    const repo = core.mustRepo(input.repo);
    return { repo, issue: core.mustIssue(repo, input.number) };
  };

  async function changeRepos(
    input: { installationId: number; repos: string[]; sender: string },
    action: 'added' | 'removed',
  ) {
    const inst = mustInstallation(input.installationId);
    const current = new Set(state.installationRepos(inst).map((r) => r.fullName.toLowerCase()));
    const changed = input.repos.map((n) => core.mustRepo(n));
    for (const r of changed) {
      if (action === 'added') current.add(r.fullName.toLowerCase());
      else current.delete(r.fullName.toLowerCase());
    }
    inst.repos = current;
    const summary = repoSummary(changed);
    const delivery = await core.sendEvent(
      'installation_repositories',
      {
        action,
        installation: ser.installation(inst),
        repository_selection: 'selected',
        repositories_added: action === 'added' ? summary : [],
        repositories_removed: action === 'removed' ? summary : [],
        requester: null,
      },
      { installation: inst, sender: input.sender },
    );
    return { delivery };
  }

  return {
    async openIssue(input) {
      const repo = core.mustRepo(input.repo);
      const issue = newIssue(core, repo, {
        title: input.title,
        body: input.body ?? null,
        author: input.sender,
      });
      const delivery = await core.sendEvent(
        'issues',
        { action: 'opened', issue: ser.issue(repo, issue) },
        { repo, sender: input.sender },
      );
      return { number: issue.number, delivery };
    },
    async assignIssue(input) {
      const { repo, issue } = issueIn(input);
      const assignee = core.ensureUser(input.assignee);
      addAssignees(core, issue, [assignee.login]);
      const delivery = await core.sendEvent(
        issue.pull ? 'pull_request' : 'issues',
        { action: 'assigned', ...(await core.subject(repo, issue)), assignee: ser.user(assignee.login) },
        { repo, sender: input.sender },
      );
      return { delivery };
    },
    async unassignIssue(input) {
      const { repo, issue } = issueIn(input);
      issue.assignees = issue.assignees.filter((a) => a.toLowerCase() !== input.assignee.toLowerCase());
      issue.updatedAt = nowIso();
      const delivery = await core.sendEvent(
        'issues',
        { action: 'unassigned', issue: ser.issue(repo, issue), assignee: ser.user(input.assignee) },
        { repo, sender: input.sender },
      );
      return { delivery };
    },
    async closeIssue(input) {
      const { repo, issue } = issueIn(input);
      setIssueState(issue, 'closed');
      const delivery = await core.sendEvent(
        issue.pull ? 'pull_request' : 'issues',
        { action: 'closed', ...(await core.subject(repo, issue)) },
        { repo, sender: input.sender },
      );
      return { delivery };
    },
    async commentOnIssue(input) {
      const repo = core.mustRepo(input.repo);
      const c = newComment(core, repo, input.number, input.body, input.sender);
      const delivery = await core.sendEvent(
        'issue_comment',
        {
          action: 'created',
          issue: ser.issue(repo, core.mustIssue(repo, input.number)),
          comment: ser.comment(repo, c),
        },
        { repo, sender: input.sender },
      );
      return { commentId: c.id, delivery };
    },
    async editComment(input) {
      const repo = core.mustRepo(input.repo);
      const c = state.comments.get(input.commentId);
      if (!c || c.repoId !== repo.id)
        throw new PullwrightError('not_found', `Unknown comment ${input.commentId}`);
      const from = c.body;
      editCommentBody(c, input.body);
      const delivery = await core.sendEvent(
        'issue_comment',
        {
          action: 'edited',
          changes: { body: { from } },
          issue: ser.issue(repo, core.mustIssue(repo, c.issueNumber)),
          comment: ser.comment(repo, c),
        },
        { repo, sender: input.sender },
      );
      return { delivery };
    },
    async editIssue(input) {
      const { repo, issue } = issueIn(input);
      const changes: Record<string, { from: string }> = {};
      if (input.title !== undefined && input.title !== issue.title) {
        changes.title = { from: issue.title };
        issue.title = input.title;
      }
      if (input.body !== undefined && input.body !== (issue.body ?? '')) {
        changes.body = { from: issue.body ?? '' };
        issue.body = input.body;
      }
      issue.updatedAt = nowIso();
      const delivery = await core.sendEvent(
        'issues',
        { action: 'edited', changes, issue: ser.issue(repo, issue) },
        { repo, sender: input.sender },
      );
      return { delivery };
    },
    async submitReview(input) {
      const { repo, issue } = core.mustPull(input.repo, input.number);
      const review = newReview(core, repo, issue, input.sender, input.state, input.body ?? '');
      const delivery = await core.sendEvent(
        'pull_request_review',
        {
          action: 'submitted',
          review: { ...ser.review(repo, review), state: input.state.toLowerCase() },
          pull_request: ser.pull(repo, issue, null),
        },
        { repo, sender: input.sender },
      );
      return { reviewId: review.id, delivery };
    },
    async reviewComment(input) {
      const { repo, issue } = core.mustPull(input.repo, input.number);
      const c = newReviewComment(core, repo, issue, {
        author: input.sender,
        body: input.body,
        path: input.path,
        line: input.line,
        inReplyTo: input.inReplyTo,
      });
      await core.withHunks(repo, [c]);
      const delivery = await core.sendEvent(
        'pull_request_review_comment',
        { action: 'created', comment: ser.reviewComment(repo, c), pull_request: ser.pull(repo, issue, null) },
        { repo, sender: input.sender },
      );
      return { commentId: c.id, threadId: c.threadId, delivery };
    },
    async pushFiles(input) {
      const repo = core.mustRepo(input.repo);
      core.ensureUser(input.sender);
      const before = (await listBranches(repo.gitDir))[input.branch] ?? ZERO_SHA;
      const { sha } = await seed.branch({
        repo: input.repo,
        branch: input.branch,
        from: input.from,
        files: input.files,
        message: input.message,
        author: input.sender,
      });
      recordPush(core, repo, input.branch, before, sha, { kind: 'user', login: input.sender });
      const delivery = await sendPushEvents(core, repo, input.branch, before, sha, input.sender);
      core.pushed(repo, input.branch, before, sha, input.sender);
      return { sha, delivery };
    },
    async installApp(input) {
      const inst = seedInstallation(core, { account: input.account, repos: input.repos });
      const delivery = await core.sendEvent(
        'installation',
        {
          action: 'created',
          installation: ser.installation(inst),
          repositories: repoSummary(state.installationRepos(inst)),
          requester: null,
        },
        { installation: inst, sender: input.sender },
      );
      return { installationId: inst.id, delivery };
    },
    async uninstall(input) {
      const inst = mustInstallation(input.installationId);
      const payload = {
        action: 'deleted',
        installation: ser.installation(inst),
        repositories: repoSummary(state.installationRepos(inst)),
      };
      // Uninstalling revokes every token of the installation, as on GitHub.
      state.installations.delete(inst.id);
      for (const [t, rec] of state.tokens) if (rec.installationId === inst.id) state.tokens.delete(t);
      const delivery = await core.sendEvent('installation', payload, {
        installation: inst,
        sender: input.sender,
      });
      return { delivery };
    },
    addRepos: (input) => changeRepos(input, 'added'),
    removeRepos: (input) => changeRepos(input, 'removed'),
  };
}
