import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { expect } from 'vitest';
import type { Delivery } from './types.js';

/** Twin webhooks against GitHub's real payload examples (`@octokit/webhooks-examples`), shared by the twin's tests. */

interface ExampleEvent {
  name: string;
  examples: Record<string, unknown>[];
}

const require = createRequire(import.meta.url);
const EXAMPLES = JSON.parse(
  readFileSync(require.resolve('@octokit/webhooks-examples/api.github.com/index.json'), 'utf8'),
) as ExampleEvent[];

/** Top-level keys of the real examples for an event/action; 'installation' etc. are optional there. */
function exampleKeys(event: string, action: string | null): { union: Set<string>; required: Set<string> } {
  const all = EXAMPLES.find((e) => e.name === event)?.examples ?? [];
  expect(all.length, `no example for ${event}`).toBeGreaterThan(0);
  // Some actions (e.g. issues.closed) have no example of their own: compare with the event's other actions.
  const exact = all.filter((x) => (x.action ?? null) === action);
  const examples = exact.length > 0 ? exact : all;
  const union = new Set(examples.flatMap((x) => Object.keys(x)));
  const required = new Set(Object.keys(examples[0]!).filter((k) => examples.every((x) => k in x)));
  for (const optional of ['installation', 'organization', 'enterprise']) {
    union.add(optional);
    // An organization only exists for an organization's repository (every workflow_run example has one).
    required.delete(optional);
  }
  return { union, required };
}

export function expectShapedLikeExample(delivery: Delivery) {
  const payload = JSON.parse(delivery.body) as Record<string, unknown>;
  const { union, required } = exampleKeys(delivery.event, delivery.action);
  const keys = Object.keys(payload);
  expect(
    keys.filter((k) => !union.has(k)),
    `${delivery.event}.${delivery.action} extra keys`,
  ).toEqual([]);
  expect(
    [...required].filter((k) => !keys.includes(k)),
    `${delivery.event}.${delivery.action} missing keys`,
  ).toEqual([]);
  const installation = payload.installation as { id: number; node_id: string } | undefined;
  if (delivery.event !== 'installation' && delivery.event !== 'installation_repositories') {
    expect(installation).toEqual({ id: delivery.installationId, node_id: expect.any(String) });
  }
}
