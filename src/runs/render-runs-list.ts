import type { CostTotals } from './cost-ledger.js';
import { formatDuration, formatTime, formatTokens, formatUsd } from './format.js';
import { html } from './html.js';
import { layout, type Viewer } from './page-layout.js';
import type { RunMeta } from './run-event.js';

export function renderRunsList(options: {
  repo: string;
  runs: RunMeta[];
  month: string;
  repoTotals: CostTotals;
  installationTotals: CostTotals;
  budgetUsd: number | null;
  viewer: Viewer;
  csrf: string;
  now?: number;
}): string {
  const now = options.now ?? Date.now();
  const t = options.repoTotals;
  const rows = options.runs.map((run) => {
    const status = run.state === 'running' ? 'running' : (run.outcome ?? 'finished');
    return html`<tr><td><a href="/runs/${run.id}">${run.title ?? run.kind}</a><div class="note">${run.kind}${run.number ? ` #${run.number}` : ''} · ${run.requester}</div></td><td><span class="badge ${status}">${status}</span></td><td class="hide-sm">${formatTime(run.startedAt)}</td><td class="num">${formatDuration((run.endedAt ?? now) - run.startedAt)}</td><td class="num">${formatUsd(run.costUsd)}</td></tr>`;
  });
  const body = html`<section><h1>${options.repo}</h1><p class="muted">Agent runs, newest first.</p>
<dl class="facts" id="month"><div><dt>Runs in ${options.month}</dt><dd>${t.runs}</dd></div><div><dt>Tokens this month</dt><dd>${formatTokens(t.inputTokens)} in · ${formatTokens(t.outputTokens)} out</dd></div><div><dt>Cost this month</dt><dd>${formatUsd(t.costUsd)}</dd></div><div><dt>Installation this month</dt><dd>${formatUsd(options.installationTotals.costUsd)}${options.budgetUsd !== null ? ` of ${formatUsd(options.budgetUsd)}` : ''}</dd></div></dl></section>
<section>${
    options.runs.length === 0
      ? html`<p class="muted">No runs recorded yet.</p>`
      : html`<table><thead><tr><th>Task</th><th>Outcome</th><th class="hide-sm">Started</th><th class="num">Duration</th><th class="num">Cost</th></tr></thead><tbody>${rows}</tbody></table>`
  }</section>`;
  return layout({
    title: `Runs of ${options.repo}`,
    crumbs: html`${options.repo}<span>/</span>runs`,
    viewer: options.viewer,
    csrf: options.csrf,
    body,
  });
}
