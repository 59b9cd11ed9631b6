import type { AgentResult } from '../agent/loop/run-agent.js';
import type { PatchResult } from '../session/run-agent-session.js';
import { formatUsage } from './tracking-comment.js';

/**
 * PR text is built by the host from what it knows. The agent's summary is
 * model output shaped by untrusted input, so it is quoted inside a fenced
 * section, stripped of hidden markup and of mentions that would ping people.
 */
export function neutralizeMarkdown(text: string, maxLength = 6_000): string {
  return text
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/@(?=[A-Za-z0-9])/g, '@\u200b')
    .slice(0, maxLength)
    .trim();
}

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
}

export function renderPrBody(input: PrBodyInput): string {
  const { result, patch } = input;
  const lines: string[] = [patchHashMarker(input.patchHash), input.heading, ''];
  if (input.draftReason) lines.push(`> [!WARNING]`, `> Opened as a draft: ${input.draftReason}`, '');
  lines.push('## What changed and why', '', neutralizeMarkdown(result.summary) || '_No summary given._', '');
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
      lines.push(`- \`${v.command.replace(/`/g, "'")}\` — ${status}`);
    }
  }
  lines.push('');
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
