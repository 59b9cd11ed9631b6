import type { AgentResult } from '../agent/loop/run-agent.js';
import { renderReviewSection } from '../agent/review/review-before-delivery.js';
import type { SelfReview } from '../agent/review/run-self-review.js';
import type { PatchResult } from '../session/run-agent-session.js';
import { codeSpan, inertInline, inertMarkdown } from './inert-markdown.js';
import { formatUsage } from './tracking-comment.js';

/**
 * PR text is built by the host from what it knows. The agent's summary is model
 * output shaped by untrusted input, so it is rendered inert (inert-markdown.ts): no
 * mentions, images, HTML, links, issue references or closing keywords of its own,
 * and no headings or markers that could pass for the host's.
 */

export const PATCH_HASH_MARKER = 'pullwright:patch-sha256';

export function patchHashMarker(hash: string): string {
  return `<!-- ${PATCH_HASH_MARKER} ${hash} -->`;
}

export function readPatchHash(body: string): string | null {
  const m = new RegExp(`<!-- ${PATCH_HASH_MARKER} ([0-9a-f]{64}) -->`).exec(body);
  return m?.[1] ?? null;
}

export interface PrBodyInput {
  heading: string;
  result: AgentResult;
  patch: PatchResult;
  verify: { command: string; ok: boolean; exitCode: number | null }[];
  fixes?: number;
  draftReason?: string;
  requestedBy: string;
  patchHash: string;
  trackingUrl?: string;
  /** The reviewer's verdict before delivery (issue 18), when one ran. */
  review?: SelfReview | null;
}

export function renderPrBody(input: PrBodyInput): string {
  const { result, patch } = input;
  const lines: string[] = [patchHashMarker(input.patchHash), input.heading, ''];
  // The reason quotes verify commands (repository-chosen): one inert line, so it stays in the alert.
  if (input.draftReason)
    lines.push(`> [!WARNING]`, `> Opened as a draft: ${inertInline(input.draftReason, 1_000)}`, '');
  lines.push('## What changed and why', '', inertMarkdown(result.summary) || '_No summary given._', '');
  lines.push(
    `Files: ${patch.stats.files} changed, +${patch.stats.additions} −${patch.stats.deletions}.`,
    '',
    '## How it was verified',
    '',
  );
  if (input.verify.length === 0) {
    lines.push('No verify commands are configured (`verify` in `.github/pullwright.yml`).');
  } else {
    for (const v of input.verify) {
      const status = v.ok ? '✅ passed' : `❌ failed (exit ${v.exitCode ?? 'killed'})`;
      lines.push(`- ${codeSpan(v.command.slice(0, 500))} — ${status}`);
    }
  }
  lines.push('');
  // The reviewer is a model that read untrusted text: its verdict and findings are rendered inert.
  const review = renderReviewSection(input.review ?? null);
  if (review) lines.push('## Review before delivery', '', inertMarkdown(review, 6_000), '');
  if (input.fixes !== undefined) lines.push(`Fixes #${input.fixes}`, '');
  const usage = formatUsage({
    durationMs: result.durationMs,
    tokens: result.usage,
    costUsd: result.usage.costUsd,
  });
  lines.push('---', `<sub>Requested by @${input.requestedBy} · ${result.turns} turns · ${usage}</sub>`);
  if (input.trackingUrl) lines.push(`<sub>Run log: ${input.trackingUrl}</sub>`);
  return lines.join('\n');
}
