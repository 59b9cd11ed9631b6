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
