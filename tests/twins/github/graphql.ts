import type { IssueRec, RepoRec, ThreadRec, TwinState } from './state.js';

/**
 * Just enough GraphQL for a pull request's review threads: a hand-written matcher on the operation text,
 * with `$variables` resolved. Two operations are understood, both paginated as GitHub paginates:
 * `repository { pullRequest { reviewThreads(first, after) { pageInfo nodes { … comments(first, after) } } } }`
 * and `node(id:) { ... on PullRequestReviewThread { comments(first, after) } }` to page one thread's comments.
 * Connections need `first` (at most 100) and answer `pageInfo { hasNextPage endCursor }` with opaque cursors.
 * Anything else gets a GraphQL error, never a guess.
 */

/** GitHub refuses larger pages on every connection. */
export const MAX_PAGE = 100;

export interface Page {
  first: number;
  /** Index of the first node to return. */
  start: number;
}

export type GraphqlOperation =
  | { kind: 'reviewThreads'; owner: string; name: string; number: number; threads: Page; comments: Page }
  | { kind: 'threadComments'; id: string; comments: Page }
  | { kind: 'resolveThread'; field: 'resolveReviewThread' | 'unresolveReviewThread'; threadId: string };

type Variables = Record<string, unknown>;
export type GraphqlError = { message: string; type?: string; path?: string[] };

function argument(query: string, field: string, arg: string, variables: Variables): unknown {
  const fieldMatch = new RegExp(`\\b${field}\\s*\\(([^)]*)\\)`).exec(query);
  if (!fieldMatch) return undefined;
  const argMatch = new RegExp(`\\b${arg}\\s*:\\s*(\\$\\w+|"(?:[^"\\\\]|\\\\.)*"|-?\\d+|null)`).exec(
    fieldMatch[1] ?? '',
  );
  if (!argMatch) return undefined;
  const raw = argMatch[1]!;
  if (raw === 'null') return null;
  if (raw.startsWith('$')) return variables[raw.slice(1)];
  if (raw.startsWith('"')) return JSON.parse(raw) as string;
  return Number(raw);
}

/** Opaque like GitHub's (base64 of a versioned position), so clients cannot do arithmetic on them. */
export function cursorAt(index: number): string {
  return Buffer.from(`cursor:v2:${index}`).toString('base64');
}

function cursorIndex(cursor: string): number | null {
  const m = /^cursor:v2:(\d+)$/.exec(Buffer.from(cursor, 'base64').toString('utf8'));
  return m ? Number(m[1]) : null;
}

function page(query: string, field: string, variables: Variables): Page | GraphqlError {
  const first = argument(query, field, 'first', variables);
  const after = argument(query, field, 'after', variables);
  if (typeof first !== 'number') {
    return {
      type: 'MISSING_PAGINATION_BOUNDARIES',
      message: `You must provide a \`first\` or \`last\` value to properly paginate the \`${field}\` connection.`,
    };
  }
  if (first > MAX_PAGE || first < 0) {
    return {
      type: 'EXCESSIVE_PAGINATION',
      message: `Requesting ${first} records on the \`${field}\` connection exceeds the \`first\` limit of ${MAX_PAGE} records.`,
    };
  }
  if (after === undefined || after === null) return { first, start: 0 };
  const index = typeof after === 'string' ? cursorIndex(after) : null;
  if (index === null) return { message: `\`${String(after)}\` does not appear to be a valid cursor.` };
  return { first, start: index + 1 };
}

const isError = (v: Page | GraphqlError): v is GraphqlError => 'message' in v;

export function parseGraphqlOperation(query: string, variables: Variables): GraphqlOperation | GraphqlError {
  if (/^\s*mutation\b/.test(query)) {
    const field = /\bunresolveReviewThread\b/.test(query)
      ? 'unresolveReviewThread'
      : /\bresolveReviewThread\b/.test(query)
        ? 'resolveReviewThread'
        : null;
    if (!field)
      return {
        message: 'The GitHub twin only answers the resolveReviewThread and unresolveReviewThread mutations.',
      };
    // `input: { threadId: … }` inline, or `input: $input` with the object in the variables.
    let threadId = argument(query, field, 'threadId', variables);
    const input = argument(query, field, 'input', variables);
    if (threadId === undefined && input && typeof input === 'object')
      threadId = (input as Variables).threadId;
    if (typeof threadId !== 'string') {
      return {
        message: `Argument 'threadId' on InputObject '${field[0]!.toUpperCase()}${field.slice(1)}Input' is required.`,
      };
    }
    return { kind: 'resolveThread', field, threadId };
  }
  if (/\bnode\s*\(/.test(query) && /\bPullRequestReviewThread\b/.test(query)) {
    const id = argument(query, 'node', 'id', variables);
    if (typeof id !== 'string') return { message: "Argument 'id' on Field 'node' has an invalid value." };
    const comments = page(query, 'comments', variables);
    return isError(comments) ? comments : { kind: 'threadComments', id, comments };
  }
  if (!/\breviewThreads\b/.test(query)) {
    return { message: 'The GitHub twin only answers review-thread queries.' };
  }
  const owner = argument(query, 'repository', 'owner', variables);
  const name = argument(query, 'repository', 'name', variables);
  const number = argument(query, 'pullRequest', 'number', variables);
  if (typeof owner !== 'string' || typeof name !== 'string') {
    return { message: "Argument 'owner' and 'name' on Field 'repository' are required." };
  }
  if (typeof number !== 'number' || !Number.isInteger(number)) {
    return { message: "Argument 'number' on Field 'pullRequest' has an invalid value." };
  }
  const threads = page(query, 'reviewThreads', variables);
  if (isError(threads)) return threads;
  const comments = page(query, 'comments', variables);
  if (isError(comments)) return comments;
  return { kind: 'reviewThreads', owner, name, number, threads, comments };
}

function connection<T, N>(items: T[], at: Page, toNode: (item: T) => N) {
  const slice = items.slice(at.start, at.start + at.first);
  const last = at.start + slice.length - 1;
  return {
    pageInfo: {
      hasNextPage: at.start + slice.length < items.length,
      endCursor: slice.length ? cursorAt(last) : null,
    },
    nodes: slice.map(toNode),
  };
}

/**
 * Answers a parsed operation from the twin's state. `visible` says whether the caller may see a
 * repository; one it may not see is answered as GitHub answers a missing one, never as forbidden.
 */
export function answerGraphql(
  op: GraphqlOperation,
  state: TwinState,
  visible: (repo: RepoRec) => boolean,
  canWrite: (repo: RepoRec) => boolean = () => false,
): { data: unknown; errors?: GraphqlError[] } {
  const comments = (t: ThreadRec, at: Page) =>
    connection(t.commentIds, at, (id) => {
      const c = state.reviewComments.get(id)!;
      return { databaseId: c.id, body: c.body, author: { login: c.author.replace(/\[bot\]$/, '') } };
    });
  if (op.kind === 'resolveThread') return resolveThread(op, state, visible, canWrite);
  if (op.kind === 'threadComments') {
    const thread = state.threads.get(op.id);
    const repo = thread ? state.repoById(thread.repoId) : undefined;
    if (!thread || !repo || !visible(repo)) {
      return {
        data: { node: null },
        errors: [
          {
            type: 'NOT_FOUND',
            path: ['node'],
            message: `Could not resolve to a node with the global id of '${op.id}'`,
          },
        ],
      };
    }
    return { data: { node: { comments: comments(thread, op.comments) } } };
  }
  const repo = state.findRepo(`${op.owner}/${op.name}`);
  if (!repo || !visible(repo)) {
    return {
      data: { repository: null },
      errors: [
        {
          type: 'NOT_FOUND',
          path: ['repository'],
          message: `Could not resolve to a Repository with the name '${op.owner}/${op.name}'.`,
        },
      ],
    };
  }
  const issue: IssueRec | undefined = state.issuesOf(repo).get(op.number);
  if (!issue?.pull) {
    return {
      data: { repository: { pullRequest: null } },
      errors: [
        {
          type: 'NOT_FOUND',
          path: ['repository', 'pullRequest'],
          message: `Could not resolve to a PullRequest with the number of ${op.number}.`,
        },
      ],
    };
  }
  const headSha = issue.pull.headSha;
  const threads = [...state.threads.values()].filter(
    (t) => t.repoId === repo.id && t.number === issue.number,
  );
  const reviewThreads = connection(threads, op.threads, (t) => ({
    id: t.id,
    isResolved: t.resolved,
    isOutdated: (state.reviewComments.get(t.commentIds[0] ?? -1)?.commitId ?? '') !== headSha,
    path: t.path,
    line: t.line,
    comments: comments(t, op.comments),
  }));
  return { data: { repository: { pullRequest: { reviewThreads } } } };
}

/** `resolveReviewThread` / `unresolveReviewThread`: needs write access to pull requests, as on GitHub. */
function resolveThread(
  op: Extract<GraphqlOperation, { kind: 'resolveThread' }>,
  state: TwinState,
  visible: (repo: RepoRec) => boolean,
  canWrite: (repo: RepoRec) => boolean,
): { data: unknown; errors?: GraphqlError[] } {
  const thread = state.threads.get(op.threadId);
  const repo = thread ? state.repoById(thread.repoId) : undefined;
  if (!thread || !repo || !visible(repo)) {
    return {
      data: { [op.field]: null },
      errors: [
        {
          type: 'NOT_FOUND',
          path: [op.field],
          message: `Could not resolve to a node with the global id of '${op.threadId}'`,
        },
      ],
    };
  }
  if (!canWrite(repo)) {
    return {
      data: { [op.field]: null },
      errors: [{ type: 'FORBIDDEN', path: [op.field], message: 'Resource not accessible by integration' }],
    };
  }
  thread.resolved = op.field === 'resolveReviewThread';
  return { data: { [op.field]: { thread: { id: thread.id, isResolved: thread.resolved } } } };
}
