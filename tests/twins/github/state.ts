import { CiRecords } from './state-ci.js';
import type { AccessLevel, Permission, UserType } from './types.js';

/** In-memory records of the twin. Logins and full names are matched case-insensitively, as on GitHub. */

export interface UserRec {
  login: string;
  id: number;
  type: UserType;
  token: string;
}

export interface LabelRec {
  id: number;
  name: string;
  color: string;
  description: string | null;
}

export interface RepoRec {
  id: number;
  owner: string;
  name: string;
  fullName: string;
  private: boolean;
  description: string | null;
  defaultBranch: string;
  gitDir: string;
  createdAt: string;
  pushedAt: string;
  collaborators: Map<string, Permission>;
  labels: Map<string, LabelRec>;
  nextNumber: number;
  /** The repository this one was forked from, if it is a fork. */
  forkOf: number | null;
  /** Epoch ms before which a fork still being made is invisible (GitHub forks asynchronously). */
  readyAt?: number;
}

export interface PullRec {
  id: number;
  /** The fork holding the head branch; null when it is a branch of the base repository. */
  headRepoId: number | null;
  head: string;
  base: string;
  headSha: string;
  baseSha: string;
  draft: boolean;
  mergedAt: string | null;
}

export interface IssueRec {
  id: number;
  repoId: number;
  number: number;
  title: string;
  body: string | null;
  state: 'open' | 'closed';
  stateReason: 'completed' | 'not_planned' | 'reopened' | null;
  author: string;
  labels: string[];
  assignees: string[];
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  pull: PullRec | null;
}

export interface CommentRec {
  id: number;
  repoId: number;
  issueNumber: number;
  body: string;
  author: string;
  createdAt: string;
  updatedAt: string;
  history: string[];
}

export interface ReactionRec {
  id: number;
  repoId: number;
  subject: 'issue' | 'issue_comment' | 'review_comment';
  subjectId: number;
  content: string;
  user: string;
  createdAt: string;
}

export interface ReviewRec {
  id: number;
  repoId: number;
  number: number;
  author: string;
  state: 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED' | 'DISMISSED' | 'PENDING';
  body: string;
  commitId: string;
  submittedAt: string;
}

export interface ReviewCommentRec {
  id: number;
  repoId: number;
  number: number;
  reviewId: number;
  threadId: string;
  inReplyTo: number | null;
  path: string;
  line: number;
  body: string;
  author: string;
  commitId: string;
  createdAt: string;
  updatedAt: string;
  /** The diff hunk up to the commented line, filled from git on first read. */
  diffHunk?: string;
}

export interface ThreadRec {
  id: string;
  repoId: number;
  number: number;
  path: string;
  line: number;
  resolved: boolean;
  commentIds: number[];
}

export interface InstallationRec {
  id: number;
  account: string;
  /** Lower-cased full names; 'all' follows the account's repos. */
  repos: Set<string> | 'all';
  permissions: Record<string, AccessLevel>;
  createdAt: string;
}

export interface TokenRec {
  installationId: number;
  expiresAt: number;
  /** Lower-cased full names the token is narrowed to; null = the installation's repos. */
  repos: Set<string> | null;
  permissions: Record<string, AccessLevel>;
}

export const DEFAULT_PERMISSIONS: Record<string, AccessLevel> = {
  contents: 'write',
  issues: 'write',
  pull_requests: 'write',
  metadata: 'read',
  checks: 'write',
  actions: 'read',
  statuses: 'read',
};

export const DEFAULT_EVENTS = [
  'issues',
  'issue_comment',
  'pull_request',
  'pull_request_review',
  'pull_request_review_comment',
  'push',
  'check_run',
  'check_suite',
  'workflow_run',
  'workflow_job',
  'status',
];

export class TwinState {
  private nextId = 1000;
  users = new Map<string, UserRec>();
  repos = new Map<string, RepoRec>();
  issues = new Map<number, Map<number, IssueRec>>();
  comments = new Map<number, CommentRec>();
  reactions: ReactionRec[] = [];
  reviews: ReviewRec[] = [];
  reviewComments = new Map<number, ReviewCommentRec>();
  threads = new Map<string, ThreadRec>();
  installations = new Map<number, InstallationRec>();
  tokens = new Map<string, TokenRec>();
  ci = new CiRecords();
  nextInstallationId = 1;

  id(): number {
    this.nextId += 1;
    return this.nextId;
  }

  findUser(login: string): UserRec | undefined {
    return this.users.get(login.toLowerCase());
  }

  /** A repository by full name; a fork still being made is not found yet (REST and git answer 404). */
  findRepo(fullName: string): RepoRec | undefined {
    const repo = this.repos.get(fullName.toLowerCase());
    return repo && (repo.readyAt ?? 0) <= Date.now() ? repo : undefined;
  }

  repoById(id: number): RepoRec | undefined {
    for (const r of this.repos.values()) if (r.id === id) return r;
    return undefined;
  }

  issuesOf(repo: RepoRec): Map<number, IssueRec> {
    let m = this.issues.get(repo.id);
    if (!m) {
      m = new Map();
      this.issues.set(repo.id, m);
    }
    return m;
  }

  installationRepos(inst: InstallationRec): RepoRec[] {
    const all = [...this.repos.values()];
    if (inst.repos === 'all') return all.filter((r) => r.owner.toLowerCase() === inst.account.toLowerCase());
    const set = inst.repos;
    return all.filter((r) => set.has(r.fullName.toLowerCase()));
  }

  installationForRepo(repo: RepoRec): InstallationRec | undefined {
    for (const inst of this.installations.values()) {
      if (this.installationRepos(inst).some((r) => r.id === repo.id)) return inst;
    }
    return undefined;
  }

  /** Effective permission of a person on a repo: owner → admin, else the collaborator entry. */
  permissionOf(repo: RepoRec, login: string): Permission | 'none' {
    if (repo.owner.toLowerCase() === login.toLowerCase()) return 'admin';
    return repo.collaborators.get(login.toLowerCase()) ?? (repo.private ? 'none' : 'read');
  }
}
