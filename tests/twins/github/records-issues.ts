import { nowIso } from './http.js';
import type { CommentRec, IssueRec, LabelRec, RepoRec } from './state.js';
import type { TwinCore } from './twin-core.js';

/** Issues, their comments and labels, as REST routes, seeds and actions all change them. */

export function newIssue(
  core: TwinCore,
  repo: RepoRec,
  input: { title: string; body?: string | null; author: string; labels?: string[]; assignees?: string[] },
): IssueRec {
  core.ensureUser(input.author);
  const at = nowIso();
  for (const l of input.labels ?? []) ensureLabel(core, repo, l);
  const issue: IssueRec = {
    id: core.state.id(),
    repoId: repo.id,
    number: repo.nextNumber++,
    title: input.title,
    body: input.body ?? null,
    state: 'open',
    stateReason: null,
    author: input.author,
    labels: [...new Set(input.labels ?? [])],
    assignees: (input.assignees ?? [])
      .filter((a) => core.state.findUser(a))
      .map((a) => core.mustUser(a).login),
    createdAt: at,
    updatedAt: at,
    closedAt: null,
    pull: null,
  };
  core.state.issuesOf(repo).set(issue.number, issue);
  return issue;
}

export function ensureLabel(core: TwinCore, repo: RepoRec, name: string): LabelRec {
  const key = name.toLowerCase();
  let l = repo.labels.get(key);
  if (!l) {
    l = { id: core.state.id(), name, color: 'ededed', description: null };
    repo.labels.set(key, l);
  }
  return l;
}

export function newComment(core: TwinCore, repo: RepoRec, number: number, body: string, author: string) {
  const issue = core.mustIssue(repo, number);
  core.ensureUser(author);
  const at = nowIso();
  const c: CommentRec = {
    id: core.state.id(),
    repoId: repo.id,
    issueNumber: number,
    body,
    author,
    createdAt: at,
    updatedAt: at,
    history: [body],
  };
  core.state.comments.set(c.id, c);
  issue.updatedAt = nowIso();
  return c;
}

export function editCommentBody(
  c: { body: string; updatedAt: string; history: string[] },
  body: string,
): void {
  c.body = body;
  c.updatedAt = nowIso();
  c.history.push(body);
}

export function setIssueState(issue: IssueRec, next: 'open' | 'closed', reason?: string): void {
  if (issue.state === next) return;
  issue.state = next;
  issue.closedAt = next === 'closed' ? nowIso() : null;
  issue.stateReason =
    next === 'closed' ? (reason === 'not_planned' ? 'not_planned' : 'completed') : 'reopened';
  issue.updatedAt = nowIso();
}

export function addAssignees(core: TwinCore, issue: IssueRec, logins: string[]): void {
  for (const a of logins) {
    const u = core.state.findUser(a);
    // GitHub silently ignores assignees that cannot be assigned.
    if (u && !issue.assignees.some((x) => x.toLowerCase() === u.login.toLowerCase()))
      issue.assignees.push(u.login);
  }
  issue.updatedAt = nowIso();
}
