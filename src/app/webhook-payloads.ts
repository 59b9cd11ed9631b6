import { z } from 'zod';
import { type ApprovedText, approvedTextOf, type RepoRef } from '../domain/task.js';

/**
 * The fields of GitHub's webhook payloads the app uses, and nothing else.
 * Anything that does not fit is ignored with a log line. GitHub caps comment
 * bodies at 65,536 characters; a larger one did not come from GitHub.
 */
const MAX_BODY = 65_536;

export const Account = z.object({
  login: z.string().min(1).max(100),
  id: z.number().int().nonnegative(),
  type: z.string().max(50).optional(),
});
export type Account = z.infer<typeof Account>;

// GitHub's own character sets; anything else (':' in particular) would break queue ids.
export const RepositoryPayload = z.object({
  id: z.number().int().positive(),
  name: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[A-Za-z0-9._-]+$/),
  owner: z.object({
    login: z
      .string()
      .min(1)
      .max(100)
      .regex(/^[A-Za-z0-9_-]+$/),
  }),
  default_branch: z.string().min(1).max(255).optional(),
});

const Installation = z.object({ id: z.number().int().positive() });
const Body = z.string().max(MAX_BODY).nullable().optional();

const base = { installation: Installation, repository: RepositoryPayload, sender: Account };

/**
 * The issue's or PR's text when the event happened, recorded in the task as what
 * the trigger approved. Lenient: a field that does not fit is dropped (no record,
 * the worker uses the live text) rather than refusing the delivery.
 */
const approvalFields = {
  title: z.string().max(1_024).optional().catch(undefined),
  body: z.string().max(MAX_BODY).nullable().optional().catch(undefined),
  updated_at: z.iso.datetime({ offset: true }).optional().catch(undefined),
};

/** The approval record for a payload's issue or PR, when it carried its text. */
export function approvalOf(item: {
  title?: string;
  body?: string | null;
  updated_at?: string;
}): ApprovedText | undefined {
  if (item.title === undefined || item.body === undefined) return undefined;
  return approvedTextOf({ title: item.title, body: item.body, updatedAt: item.updated_at });
}

export const IssuesEvent = z.object({
  ...base,
  action: z.string(),
  issue: z.object({
    number: z.number().int().positive(),
    state: z.string().optional(),
    pull_request: z.unknown().optional(),
    ...approvalFields,
  }),
  assignee: Account.nullable().optional(),
});
export type IssuesEvent = z.infer<typeof IssuesEvent>;

export const IssueCommentEvent = z.object({
  ...base,
  action: z.string(),
  issue: z.object({
    number: z.number().int().positive(),
    pull_request: z.unknown().optional(),
    ...approvalFields,
  }),
  comment: z.object({ id: z.number().int().positive(), body: Body, user: Account }),
});
export type IssueCommentEvent = z.infer<typeof IssueCommentEvent>;

export const PullRequestReviewEvent = z.object({
  ...base,
  action: z.string(),
  pull_request: z.object({ number: z.number().int().positive(), ...approvalFields }),
  review: z.object({ id: z.number().int().positive(), body: Body, user: Account }),
});
export type PullRequestReviewEvent = z.infer<typeof PullRequestReviewEvent>;

export const PullRequestReviewCommentEvent = z.object({
  ...base,
  action: z.string(),
  pull_request: z.object({ number: z.number().int().positive(), ...approvalFields }),
  comment: z.object({ id: z.number().int().positive(), body: Body, user: Account }),
});
export type PullRequestReviewCommentEvent = z.infer<typeof PullRequestReviewCommentEvent>;

export const PullRequestClosedEvent = z.object({
  ...base,
  action: z.literal('closed'),
  pull_request: z.object({ number: z.number().int().positive() }),
});

export const PushEvent = z.object({
  installation: Installation,
  repository: RepositoryPayload,
  ref: z.string(),
  after: z.string().optional(),
  /** Absent in older fixtures; a push's sender is whoever pushed (a person, a bot, the app). */
  sender: Account.optional(),
  deleted: z.boolean().optional(),
  commits: z
    .array(
      z.object({
        added: z.array(z.string()).optional(),
        modified: z.array(z.string()).optional(),
        removed: z.array(z.string()).optional(),
      }),
    )
    .max(2_048)
    .default([]),
  head_commit: z
    .object({
      added: z.array(z.string()).optional(),
      modified: z.array(z.string()).optional(),
      removed: z.array(z.string()).optional(),
    })
    .nullable()
    .optional(),
});
export type PushEvent = z.infer<typeof PushEvent>;

const Sha = z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/);

/** A PR as check suites and workflow runs list it (empty for a head in a fork). */
const PullRef = z.object({
  number: z.number().int().positive(),
  head: z
    .object({ sha: z.string().max(64), ref: z.string().max(255) })
    .partial()
    .optional(),
  base: z
    .object({ ref: z.string().max(255) })
    .partial()
    .optional(),
});
const PullRefs = z.array(PullRef).max(100).default([]).catch([]);

export const CheckSuiteEvent = z.object({
  ...base,
  action: z.string(),
  check_suite: z.object({
    id: z.number().int().nonnegative().optional(),
    head_sha: Sha,
    head_branch: z.string().max(255).nullable().optional(),
    status: z.string().max(50).nullable().optional(),
    conclusion: z.string().max(50).nullable().optional(),
    app: z
      .object({ id: z.number().int().optional(), slug: z.string().max(100).optional() })
      .nullable()
      .optional(),
    pull_requests: PullRefs,
  }),
});
export type CheckSuiteEvent = z.infer<typeof CheckSuiteEvent>;

export const WorkflowRunEvent = z.object({
  ...base,
  action: z.string(),
  workflow_run: z.object({
    id: z.number().int().nonnegative(),
    name: z.string().max(500).nullable().optional(),
    head_sha: Sha,
    head_branch: z.string().max(255).nullable().optional(),
    status: z.string().max(50).nullable().optional(),
    conclusion: z.string().max(50).nullable().optional(),
    /** 2 and up for a re-run (a flaky-check re-run Pullwright started waits for it). */
    run_attempt: z.number().int().positive().optional(),
    pull_requests: PullRefs,
  }),
});
export type WorkflowRunEvent = z.infer<typeof WorkflowRunEvent>;

/** Legacy commit statuses (`status`): no action, no PR list. */
export const StatusEvent = z.object({
  ...base,
  sha: Sha,
  state: z.string().max(20),
  context: z.string().max(500).optional(),
});
export type StatusEvent = z.infer<typeof StatusEvent>;

/** `issues.edited`: the dashboard's checkboxes; `changes.body.from` is the body before the edit. */
export const IssueEditedEvent = z.object({
  ...base,
  action: z.string(),
  issue: z.object({
    number: z.number().int().positive(),
    body: z.string().max(MAX_BODY).nullable().optional(),
    user: Account.optional(),
    pull_request: z.unknown().optional(),
  }),
  changes: z
    .object({ body: z.object({ from: z.string().max(MAX_BODY).nullable() }).optional() })
    .passthrough()
    .optional(),
});
export type IssueEditedEvent = z.infer<typeof IssueEditedEvent>;

const RepoListItem = z.object({ full_name: z.string().regex(/^[A-Za-z0-9_-]+\/[A-Za-z0-9._-]+$/) });

export const InstallationEvent = z.object({
  action: z.string(),
  installation: Installation,
  repositories: z.array(RepoListItem).max(10_000).optional(),
});

export const InstallationRepositoriesEvent = z.object({
  action: z.string(),
  installation: Installation,
  repositories_added: z.array(RepoListItem).max(10_000).default([]),
  repositories_removed: z.array(RepoListItem).max(10_000).default([]),
});

/** The queue's reference to a payload's repository. */
export function refOf(repository: { name: string; owner: { login: string }; id: number }): RepoRef {
  return { owner: repository.owner.login, name: repository.name, id: repository.id };
}

/** `owner/name` from an installation's repository list (already checked by `RepoListItem`). */
export function splitFullName(fullName: string): RepoRef {
  const [owner = '', name = ''] = fullName.split('/');
  return { owner, name };
}
