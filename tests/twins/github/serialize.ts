import { repoUrls } from './repo-urls.js';
import type {
  CommentRec,
  InstallationRec,
  IssueRec,
  LabelRec,
  ReactionRec,
  RepoRec,
  ReviewCommentRec,
  ReviewRec,
  TwinState,
  UserRec,
} from './state.js';
import { DEFAULT_EVENTS } from './state.js';

export type Json = Record<string, unknown>;

export function nodeId(kind: string, id: number | string): string {
  return Buffer.from(`0:${kind}${id}`).toString('base64').replace(/=+$/, '');
}

export interface AppInfo {
  id: number;
  slug: string;
  name: string;
  owner: string;
  botLogin: string;
  botId: number;
  createdAt: string;
}

/**
 * Builds GitHub-shaped JSON from the twin's records; URLs point at the twin itself.
 * Over 400 lines on purpose: one method per GitHub object, mostly literal field lists checked against
 * GitHub's OpenAPI description (conformance.test.ts); the objects embed each other (user in repo in pull),
 * so splitting the class would only scatter those embeds. Repository URL templates live in repo-urls.ts.
 */
export class Serializer {
  constructor(
    private readonly base: string,
    private readonly state: TwinState,
    private readonly app: AppInfo,
  ) {}

  /** Names another app from now on (TwinCore.adoptApp). */
  adoptApp(info: Omit<AppInfo, 'createdAt'>): void {
    Object.assign(this.app, info);
  }

  private api(path: string): string {
    return `${this.base}${path}`;
  }

  private html(path: string): string {
    return `${this.base}${path}`;
  }

  user(login: string): Json {
    const u: UserRec | undefined = this.state.findUser(login);
    const name = u?.login ?? login;
    const id = u?.id ?? 0;
    const type = u?.type ?? 'User';
    const path = `/users/${encodeURIComponent(name)}`;
    // Bots live under /apps/{slug} on GitHub; '[bot]' is not valid in a URI path.
    const htmlPath =
      type === 'Bot'
        ? `/apps/${encodeURIComponent(name.replace(/\[bot\]$/, ''))}`
        : `/${encodeURIComponent(name)}`;
    return {
      login: name,
      id,
      node_id: nodeId(type === 'Bot' ? 'Bot' : 'User', id),
      avatar_url: `${this.base}/avatars/${id}`,
      gravatar_id: '',
      url: this.api(path),
      html_url: this.html(htmlPath),
      followers_url: this.api(`${path}/followers`),
      following_url: this.api(`${path}/following{/other_user}`),
      gists_url: this.api(`${path}/gists{/gist_id}`),
      starred_url: this.api(`${path}/starred{/owner}{/repo}`),
      subscriptions_url: this.api(`${path}/subscriptions`),
      organizations_url: this.api(`${path}/orgs`),
      repos_url: this.api(`${path}/repos`),
      events_url: this.api(`${path}/events{/privacy}`),
      received_events_url: this.api(`${path}/received_events`),
      type,
      site_admin: false,
      user_view_type: 'public',
    };
  }

  repo(r: RepoRec, options: { full?: boolean } = {}): Json {
    const openIssues = [...this.state.issuesOf(r).values()].filter((i) => i.state === 'open').length;
    const out: Json = {
      id: r.id,
      node_id: nodeId('Repository', r.id),
      name: r.name,
      full_name: r.fullName,
      private: r.private,
      owner: this.user(r.owner),
      html_url: this.html(`/${r.fullName}`),
      description: r.description,
      fork: r.forkOf !== null,
      ...repoUrls(this.base, r.fullName),
      svn_url: this.html(`/${r.fullName}`),
      homepage: null,
      language: null,
      forks_count: 0,
      stargazers_count: 0,
      watchers_count: 0,
      size: 1,
      default_branch: r.defaultBranch,
      open_issues_count: openIssues,
      is_template: false,
      topics: [],
      has_issues: true,
      has_projects: false,
      has_wiki: false,
      has_pages: false,
      has_downloads: true,
      has_discussions: false,
      archived: false,
      disabled: false,
      visibility: r.private ? 'private' : 'public',
      pushed_at: r.pushedAt,
      created_at: r.createdAt,
      updated_at: r.pushedAt,
      allow_forking: true,
      web_commit_signoff_required: false,
      license: null,
      forks: 0,
      open_issues: openIssues,
      watchers: 0,
    };
    if (options.full) {
      out.network_count = 0;
      out.subscribers_count = 0;
      out.permissions = { admin: false, maintain: false, push: true, triage: true, pull: true };
    }
    return out;
  }

  /** `GET /repos/{o}/{r}` and the fork answer: the full repository, with `parent` and `source` for a fork. */
  fullRepo(r: RepoRec): Json {
    const json = this.repo(r, { full: true });
    const parent = r.forkOf === null ? undefined : this.state.repoById(r.forkOf);
    let source = parent;
    while (source && source.forkOf !== null) source = this.state.repoById(source.forkOf) ?? source;
    if (parent) json.parent = this.repo(parent, { full: true });
    if (source) json.source = this.repo(source, { full: true });
    return json;
  }

  label(repo: RepoRec, l: LabelRec): Json {
    return {
      id: l.id,
      node_id: nodeId('Label', l.id),
      url: this.api(`/repos/${repo.fullName}/labels/${encodeURIComponent(l.name)}`),
      name: l.name,
      description: l.description,
      color: l.color,
      default: false,
    };
  }

  private reactionRollup(url: string, subject: ReactionRec['subject'], subjectId: number): Json {
    const rs = this.state.reactions.filter((r) => r.subject === subject && r.subjectId === subjectId);
    const count = (c: string) => rs.filter((r) => r.content === c).length;
    return {
      url,
      total_count: rs.length,
      '+1': count('+1'),
      '-1': count('-1'),
      laugh: count('laugh'),
      confused: count('confused'),
      heart: count('heart'),
      hooray: count('hooray'),
      eyes: count('eyes'),
      rocket: count('rocket'),
    };
  }

  private association(repo: RepoRec, login: string): string {
    if (repo.owner.toLowerCase() === login.toLowerCase()) return 'OWNER';
    if (repo.collaborators.has(login.toLowerCase())) return 'COLLABORATOR';
    return 'NONE';
  }

  issue(repo: RepoRec, i: IssueRec): Json {
    const a = (p: string) => this.api(`/repos/${repo.fullName}/issues/${i.number}${p}`);
    const comments = [...this.state.comments.values()].filter(
      (c) => c.repoId === repo.id && c.issueNumber === i.number,
    ).length;
    const out: Json = {
      url: a(''),
      repository_url: this.api(`/repos/${repo.fullName}`),
      labels_url: a('/labels{/name}'),
      comments_url: a('/comments'),
      events_url: a('/events'),
      html_url: this.html(`/${repo.fullName}/${i.pull ? 'pull' : 'issues'}/${i.number}`),
      id: i.id,
      node_id: nodeId(i.pull ? 'PullRequest' : 'Issue', i.id),
      number: i.number,
      title: i.title,
      user: this.user(i.author),
      labels: i.labels.flatMap((n) => {
        const l = repo.labels.get(n.toLowerCase());
        return l ? [this.label(repo, l)] : [];
      }),
      state: i.state,
      locked: false,
      assignee: i.assignees[0] ? this.user(i.assignees[0]) : null,
      assignees: i.assignees.map((l) => this.user(l)),
      milestone: null,
      comments,
      created_at: i.createdAt,
      updated_at: i.updatedAt,
      closed_at: i.closedAt,
      author_association: this.association(repo, i.author),
      active_lock_reason: null,
      body: i.body,
      closed_by: null,
      reactions: this.reactionRollup(a('/reactions'), 'issue', i.id),
      timeline_url: a('/timeline'),
      performed_via_github_app: null,
      state_reason: i.stateReason,
    };
    if (i.pull) {
      out.draft = i.pull.draft;
      out.pull_request = {
        url: this.api(`/repos/${repo.fullName}/pulls/${i.number}`),
        html_url: this.html(`/${repo.fullName}/pull/${i.number}`),
        diff_url: this.html(`/${repo.fullName}/pull/${i.number}.diff`),
        patch_url: this.html(`/${repo.fullName}/pull/${i.number}.patch`),
        merged_at: i.pull.mergedAt,
      };
    }
    return out;
  }

  comment(repo: RepoRec, c: CommentRec): Json {
    const url = this.api(`/repos/${repo.fullName}/issues/comments/${c.id}`);
    return {
      id: c.id,
      node_id: nodeId('IssueComment', c.id),
      url,
      html_url: this.html(`/${repo.fullName}/issues/${c.issueNumber}#issuecomment-${c.id}`),
      body: c.body,
      user: this.user(c.author),
      created_at: c.createdAt,
      updated_at: c.updatedAt,
      issue_url: this.api(`/repos/${repo.fullName}/issues/${c.issueNumber}`),
      author_association: this.association(repo, c.author),
      performed_via_github_app: null,
      reactions: this.reactionRollup(`${url}/reactions`, 'issue_comment', c.id),
    };
  }

  private branchRef(repo: RepoRec, branch: string, sha: string): Json {
    const owner = this.user(repo.owner);
    return {
      label: `${repo.owner}:${branch}`,
      ref: branch,
      sha,
      user: owner,
      repo: this.repo(repo),
    };
  }

  pull(
    repo: RepoRec,
    i: IssueRec,
    extra: {
      commits: number;
      additions: number;
      deletions: number;
      changedFiles: number;
      mergeable: boolean | null;
      mergeableState: string;
    } | null,
  ): Json {
    const p = i.pull!;
    const a = (s: string) => this.api(`/repos/${repo.fullName}/pulls/${i.number}${s}`);
    const issueUrl = this.api(`/repos/${repo.fullName}/issues/${i.number}`);
    const htmlUrl = this.html(`/${repo.fullName}/pull/${i.number}`);
    const out: Json = {
      url: a(''),
      id: p.id,
      node_id: nodeId('PullRequest', p.id),
      html_url: htmlUrl,
      diff_url: `${htmlUrl}.diff`,
      patch_url: `${htmlUrl}.patch`,
      issue_url: issueUrl,
      number: i.number,
      state: i.state,
      locked: false,
      title: i.title,
      user: this.user(i.author),
      body: i.body,
      created_at: i.createdAt,
      updated_at: i.updatedAt,
      closed_at: i.closedAt,
      merged_at: p.mergedAt,
      merge_commit_sha: null,
      assignee: i.assignees[0] ? this.user(i.assignees[0]) : null,
      assignees: i.assignees.map((l) => this.user(l)),
      requested_reviewers: [],
      requested_teams: [],
      labels: i.labels.flatMap((n) => {
        const l = repo.labels.get(n.toLowerCase());
        return l ? [this.label(repo, l)] : [];
      }),
      milestone: null,
      draft: p.draft,
      commits_url: a('/commits'),
      review_comments_url: a('/comments'),
      review_comment_url: this.api(`/repos/${repo.fullName}/pulls/comments{/number}`),
      comments_url: `${issueUrl}/comments`,
      statuses_url: this.api(`/repos/${repo.fullName}/statuses/${p.headSha}`),
      head: this.branchRef(
        (p.headRepoId !== null ? this.state.repoById(p.headRepoId) : undefined) ?? repo,
        p.head,
        p.headSha,
      ),
      base: this.branchRef(repo, p.base, p.baseSha),
      _links: {
        self: { href: a('') },
        html: { href: htmlUrl },
        issue: { href: issueUrl },
        comments: { href: `${issueUrl}/comments` },
        review_comments: { href: a('/comments') },
        review_comment: { href: this.api(`/repos/${repo.fullName}/pulls/comments{/number}`) },
        commits: { href: a('/commits') },
        statuses: { href: this.api(`/repos/${repo.fullName}/statuses/${p.headSha}`) },
      },
      author_association: this.association(repo, i.author),
      auto_merge: null,
      active_lock_reason: null,
    };
    if (extra) {
      const comments = [...this.state.comments.values()].filter(
        (c) => c.repoId === repo.id && c.issueNumber === i.number,
      ).length;
      const reviewComments = [...this.state.reviewComments.values()].filter(
        (c) => c.repoId === repo.id && c.number === i.number,
      ).length;
      Object.assign(out, {
        merged: p.mergedAt !== null,
        mergeable: extra.mergeable,
        rebaseable: extra.mergeable,
        mergeable_state: extra.mergeableState,
        merged_by: null,
        comments,
        review_comments: reviewComments,
        maintainer_can_modify: false,
        commits: extra.commits,
        additions: extra.additions,
        deletions: extra.deletions,
        changed_files: extra.changedFiles,
      });
    }
    return out;
  }

  review(repo: RepoRec, r: ReviewRec): Json {
    const prUrl = this.api(`/repos/${repo.fullName}/pulls/${r.number}`);
    const html = this.html(`/${repo.fullName}/pull/${r.number}#pullrequestreview-${r.id}`);
    return {
      id: r.id,
      node_id: nodeId('PullRequestReview', r.id),
      user: this.user(r.author),
      body: r.body,
      state: r.state,
      html_url: html,
      pull_request_url: prUrl,
      _links: { html: { href: html }, pull_request: { href: prUrl } },
      submitted_at: r.submittedAt,
      commit_id: r.commitId,
      author_association: this.association(repo, r.author),
    };
  }

  reviewComment(repo: RepoRec, c: ReviewCommentRec): Json {
    const url = this.api(`/repos/${repo.fullName}/pulls/comments/${c.id}`);
    const prUrl = this.api(`/repos/${repo.fullName}/pulls/${c.number}`);
    const html = this.html(`/${repo.fullName}/pull/${c.number}#discussion_r${c.id}`);
    const out: Json = {
      url,
      pull_request_review_id: c.reviewId,
      id: c.id,
      node_id: nodeId('PullRequestReviewComment', c.id),
      diff_hunk: c.diffHunk ?? `@@ -${c.line},1 +${c.line},1 @@`,
      path: c.path,
      commit_id: c.commitId,
      original_commit_id: c.commitId,
      user: this.user(c.author),
      body: c.body,
      created_at: c.createdAt,
      updated_at: c.updatedAt,
      html_url: html,
      pull_request_url: prUrl,
      author_association: this.association(repo, c.author),
      _links: { self: { href: url }, html: { href: html }, pull_request: { href: prUrl } },
      reactions: this.reactionRollup(`${url}/reactions`, 'review_comment', c.id),
      start_line: null,
      original_start_line: null,
      start_side: null,
      line: c.line,
      original_line: c.line,
      side: 'RIGHT',
      original_position: c.line,
      position: c.line,
      subject_type: 'line',
    };
    if (c.inReplyTo !== null) out.in_reply_to_id = c.inReplyTo;
    return out;
  }

  reaction(r: ReactionRec): Json {
    return {
      id: r.id,
      node_id: nodeId('Reaction', r.id),
      user: this.user(r.user),
      content: r.content,
      created_at: r.createdAt,
    };
  }

  appJson(): Json {
    return {
      id: this.app.id,
      slug: this.app.slug,
      client_id: `Iv1.${this.app.id.toString(16).padStart(16, '0')}`,
      node_id: nodeId('App', this.app.id),
      owner: this.user(this.app.owner),
      name: this.app.name,
      description: 'Pullwright (GitHub twin)',
      external_url: this.base,
      html_url: this.html(`/apps/${this.app.slug}`),
      created_at: this.app.createdAt,
      updated_at: this.app.createdAt,
      permissions: {
        contents: 'write',
        issues: 'write',
        pull_requests: 'write',
        metadata: 'read',
        checks: 'write',
      },
      events: DEFAULT_EVENTS,
      installations_count: this.state.installations.size,
    };
  }

  installation(inst: InstallationRec): Json {
    const account = this.state.findUser(inst.account);
    return {
      id: inst.id,
      // The description's inlined schema for GET /app/installations requires the account to satisfy both
      // simple-user and enterprise (allOf), so it also carries the enterprise-only fields.
      account: {
        ...this.user(inst.account),
        name: inst.account,
        slug: inst.account.toLowerCase(),
        created_at: inst.createdAt,
        updated_at: inst.createdAt,
      },
      repository_selection: inst.repos === 'all' ? 'all' : 'selected',
      access_tokens_url: this.api(`/app/installations/${inst.id}/access_tokens`),
      repositories_url: this.api('/installation/repositories'),
      html_url: this.html(`/settings/installations/${inst.id}`),
      app_id: this.app.id,
      app_slug: this.app.slug,
      target_id: account?.id ?? 0,
      target_type: account?.type === 'Organization' ? 'Organization' : 'User',
      permissions: inst.permissions,
      events: DEFAULT_EVENTS,
      created_at: inst.createdAt,
      updated_at: inst.createdAt,
      single_file_name: null,
      has_multiple_single_files: false,
      single_file_paths: [],
      suspended_by: null,
      suspended_at: null,
    };
  }
}
