import type { GitHubPort, Permission, ReactionTarget, RepoFile } from '../../src/github/github-port.js';

const notHere = (name: string) => () =>
  Promise.reject(new Error(`FakeGitHubPort.${name}: use the GitHub twin for tests that need it`));

/**
 * An in-memory GitHubPort for tests that exercise the server without the twin.
 * The pull request, CI and issue reads are not faked: tests of follow-ups and the
 * dashboard run against the twin (tests/app/integration/).
 */
export class FakeGitHubPort implements GitHubPort {
  getPull = notHere('getPull');
  getPullMergeability = notHere('getPullMergeability');
  compareCommits = notHere('compareCommits');
  listOpenPulls = notHere('listOpenPulls');
  listPullsForCommit = notHere('listPullsForCommit');
  getIssue = notHere('getIssue');
  createIssue = notHere('createIssue');
  updateIssue = notHere('updateIssue');
  findIssueByMarker = notHere('findIssueByMarker');
  getCombinedStatus = notHere('getCombinedStatus');
  listCheckSuitesForRef = notHere('listCheckSuitesForRef');

  permissions = new Map<string, Permission>();
  files = new Map<string, RepoFile>();
  reactions: { repo: string; target: ReactionTarget }[] = [];
  comments: { repo: string; number: number; body: string }[] = [];
  permissionLookups = 0;
  /** Thrown by every permission lookup while set. */
  permissionError: Error | null = null;

  async getPermission(_i: number, repo: { owner: string; name: string }, login: string): Promise<Permission> {
    this.permissionLookups += 1;
    if (this.permissionError) throw this.permissionError;
    return this.permissions.get(`${repo.owner}/${repo.name}:${login}`) ?? 'none';
  }
  async addReaction(
    _i: number,
    repo: { owner: string; name: string },
    target: ReactionTarget,
  ): Promise<void> {
    this.reactions.push({ repo: `${repo.owner}/${repo.name}`, target });
  }
  async createComment(
    _i: number,
    repo: { owner: string; name: string },
    number: number,
    body: string,
  ): Promise<void> {
    this.comments.push({ repo: `${repo.owner}/${repo.name}`, number, body });
  }
  async getDefaultBranchFile(
    _i: number,
    repo: { owner: string; name: string },
    path: string,
  ): Promise<RepoFile | null> {
    return this.files.get(`${repo.owner}/${repo.name}:${path}`) ?? null;
  }
}
