import { createHmac, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';

/**
 * Signed deliveries built from @octokit/webhooks-examples payloads, with the
 * fields our tests care about overridden. Shared by the app tests and the bench.
 */
interface Definition {
  name: string;
  examples: Record<string, unknown>[];
}

const require = createRequire(import.meta.url);
const definitions = require('@octokit/webhooks-examples') as Definition[];

type Json = Record<string, unknown>;

function merge(base: Json, patch: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    const current = out[k];
    out[k] =
      v &&
      typeof v === 'object' &&
      !Array.isArray(v) &&
      current &&
      typeof current === 'object' &&
      !Array.isArray(current)
        ? merge(current as Json, v as Json)
        : v;
  }
  return out;
}

/** A deep copy of an example payload for `event` (first one with `action`), patched. */
export function examplePayload(event: string, action: string | null, patch: Json = {}): Json {
  const def = definitions.find((d) => d.name === event);
  const example = def?.examples.find((e) => action === null || e.action === action);
  if (!example) throw new Error(`no example for ${event}.${action}`);
  return merge(structuredClone(example), patch);
}

export interface Target {
  installationId: number;
  owner: string;
  repo: string;
  repoId?: number;
  defaultBranch?: string;
}

export function repoPatch(t: Target): Json {
  return {
    installation: { id: t.installationId },
    repository: {
      id: t.repoId ?? 4242,
      name: t.repo,
      full_name: `${t.owner}/${t.repo}`,
      owner: { login: t.owner },
      default_branch: t.defaultBranch ?? 'main',
    },
  };
}

export const user = (login: string, id = 100, type = 'User') => ({ login, id, type });

export function issueComment(
  t: Target,
  number: number,
  body: string,
  author = user('alice'),
  opts: { pr?: boolean; action?: string; commentId?: number } = {},
): Json {
  const payload = examplePayload('issue_comment', opts.action ?? 'created', {
    ...repoPatch(t),
    sender: author,
    comment: { id: opts.commentId ?? Math.floor(Math.random() * 1e9) + 1, body, user: author },
    issue: { number, state: 'open' },
  });
  const issue = payload.issue as Json;
  if (opts.pr)
    issue.pull_request = { url: `https://api.github.com/repos/${t.owner}/${t.repo}/pulls/${number}` };
  else delete issue.pull_request;
  return payload;
}

export function issuesEvent(
  t: Target,
  action: string,
  number: number,
  assignee: { login: string; id: number; type: string } | null,
  sender = user('alice'),
): Json {
  const payload = examplePayload('issues', null, {
    ...repoPatch(t),
    sender,
    issue: { number, state: action === 'closed' ? 'closed' : 'open' },
  });
  payload.action = action;
  payload.assignee = assignee;
  return payload;
}

export function sign(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export interface PostResult {
  status: number;
  text: string;
}

export async function postDelivery(
  url: string,
  event: string,
  payload: Json | string,
  options: {
    secret: string;
    deliveryId?: string;
    signature?: string | null;
    headers?: Record<string, string>;
  },
): Promise<PostResult> {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-github-event': event,
    'x-github-delivery': options.deliveryId ?? randomUUID(),
    ...options.headers,
  };
  const signature = options.signature === undefined ? sign(options.secret, body) : options.signature;
  if (signature !== null) headers['x-hub-signature-256'] = signature;
  const res = await fetch(url, { method: 'POST', headers, body });
  return { status: res.status, text: await res.text() };
}
