import { formatDuration, formatTime, formatTokens, formatUsd } from './format.js';
import { html, type SafeHtml, safeHref } from './html.js';
import { layout, type Viewer } from './page-layout.js';
import { renderDiff, renderPlan, renderTimeline } from './render-run-event.js';
import type { PlanEntry, RunEvent, RunMeta } from './run-event.js';
import type { RunRecord } from './run-store.js';

const KIND_LABEL: Record<string, string> = {
  implement: 'Implement',
  'address-review': 'Address review',
  revise: 'Revise',
  maintenance: 'Maintenance',
  'repair-ci': 'Repair CI',
  'update-branch': 'Update branch',
};

export function latestPlan(events: RunEvent[]): PlanEntry[] {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i] as RunEvent;
    if (e.t === 'plan') return e.items;
  }
  return [];
}

export function repoPath(repo: string): string {
  return `/repos/${repo.split('/').map(encodeURIComponent).join('/')}/runs`;
}

/** The summary facts; re-sent live as the run's cost and turns grow. */
export function renderFacts(meta: RunMeta, now = Date.now()): SafeHtml {
  const duration = (meta.endedAt ?? now) - meta.startedAt;
  const fact = (label: string, value: SafeHtml | string) =>
    html`<div><dt>${label}</dt><dd>${value}</dd></div>`;
  return html`${fact('Asked by', meta.requester)}${fact('Started', formatTime(meta.startedAt))}${fact(
    meta.state === 'running' ? 'Running for' : 'Duration',
    formatDuration(duration),
  )}${fact('Model turns', String(meta.turns))}${fact(
    'Tokens',
    `${formatTokens(meta.inputTokens)} in · ${formatTokens(meta.outputTokens)} out`,
  )}${fact('Cost', formatUsd(meta.costUsd))}`;
}

function links(meta: RunMeta): SafeHtml {
  const items: [string, string | null][] = [
    [meta.kind === 'implement' ? `Issue #${meta.number}` : `#${meta.number ?? ''}`, safeHref(meta.issueUrl)],
    [`Pull request${meta.prNumber ? ` #${meta.prNumber}` : ''}`, safeHref(meta.prUrl)],
    ['Tracking comment', safeHref(meta.trackingCommentUrl)],
  ];
  const shown = items.filter(([, href]) => href !== null);
  if (shown.length === 0) return html``;
  return html`<p class="links">${shown.map(([label, href]) => html`<a href="${href}" rel="noreferrer noopener">${label} ↗</a>`)}</p>`;
}

/** The run's part of the page; a finished run's is the same for every viewer (the pages cache it). */
export function renderRunBody(record: RunRecord, stop: SafeHtml | '' = '', now?: number): SafeHtml {
  const { meta, events } = record;
  const started = events.find((e): e is Extract<RunEvent, { t: 'started' }> => e.t === 'started');
  const diff = events.findLast((e): e is Extract<RunEvent, { t: 'diff' }> => e.t === 'diff');
  const status = meta.state === 'running' ? 'running' : (meta.outcome ?? 'finished');
  const lastSeq = events.at(-1)?.seq ?? 0;
  return html`<div id="run" data-run="${meta.id}" data-state="${meta.state}" data-after="${record.lastStreamId}" data-seq="${lastSeq}">
<section class="summary"><p class="muted">${KIND_LABEL[meta.kind] ?? meta.kind} · <a href="${repoPath(meta.repo)}">${meta.repo}</a>${meta.number ? ` #${meta.number}` : ''}</p>
<h1>${titleOf(meta)} <span class="badge ${status}" id="status">${status}</span>${meta.state === 'running' ? html`<span class="live">live</span>` : ''}</h1>
${meta.reason ? html`<p>${meta.reason}</p>` : ''}
<dl class="facts" id="facts">${renderFacts(meta, now)}</dl>${links(meta)}${stop}</section>
${started?.instruction ? html`<section><h2>Task</h2><p class="muted">${started.requester} asked (${started.source.replace('_', ' ')}):</p><div class="instruction">${started.instruction}</div></section>` : ''}
<section><h2>Plan</h2><div id="plan-body">${renderPlan(latestPlan(events))}</div></section>
<section><h2>Steps</h2>${meta.omitted > 0 ? html`<p class="note">${meta.omitted} entries of this long run were left out of the record (its start and end are kept).</p>` : ''}<ol class="steps" id="steps">${renderTimeline(events, meta.id)}</ol></section>
${diff ? html`<section id="diff"><h2>Delivered change</h2>${renderDiff(diff)}</section>` : ''}
</div>`;
}

function titleOf(meta: RunMeta): string {
  return meta.title ?? `${KIND_LABEL[meta.kind] ?? meta.kind} ${meta.number ? `#${meta.number}` : ''}`;
}

export function renderRunPage(options: {
  record: RunRecord;
  viewer: Viewer;
  canStop: boolean;
  /** The token of this run's Stop form. */
  stopCsrf: string;
  /** The token of the sign-out form. */
  logoutCsrf: string;
  /** A finished run's body rendered before (the same for every viewer). */
  body?: SafeHtml;
  now?: number;
}): string {
  const { meta } = options.record;
  const stop =
    options.canStop && meta.state === 'running'
      ? html`<form class="actions" method="post" action="/runs/${meta.id}/stop"><input type="hidden" name="csrf" value="${options.stopCsrf}"><button class="danger" type="submit" id="stop">Stop this run</button></form>`
      : '';
  return layout({
    title: `${titleOf(meta)} (${meta.repo})`,
    crumbs: html`<a href="${repoPath(meta.repo)}">${meta.repo}</a><span>/</span>run`,
    viewer: options.viewer,
    csrf: options.logoutCsrf,
    body: options.body ?? renderRunBody(options.record, stop, options.now),
  });
}
