import { formatDuration, formatTokens, formatUsd } from './format.js';
import { html, SafeHtml } from './html.js';
import type { PlanEntry, RunEvent } from './run-event.js';

/**
 * One timeline entry per recorded event, as HTML fragments: the page renders
 * them at first and the live stream sends the same fragments, so a line looks
 * the same whether it was there on load or arrived while watching. Every run
 * value goes through `html` (escaped).
 */
const PHASES: Record<string, string> = {
  setup: 'Running the setup command',
  sandbox: 'Starting the sandbox',
  agent: 'The agent is working',
  verify: 'Running the verify commands',
};

function parseInput(input: string | undefined): Record<string, unknown> | null {
  if (!input) return null;
  try {
    const value = JSON.parse(input) as unknown;
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** Lines of a unified diff, each classed by its first character. */
export function diffLines(text: string): SafeHtml {
  return html`${text.split('\n').map((line) => {
    const cls =
      line.startsWith('+++') || line.startsWith('---')
        ? 'meta'
        : line.startsWith('+')
          ? 'add'
          : line.startsWith('-')
            ? 'del'
            : line.startsWith('@@')
              ? 'hunk'
              : line.startsWith('diff ')
                ? 'meta'
                : '';
    return html`<span class="${cls}">${line}</span>`;
  })}`;
}

function editBody(input: Record<string, unknown>): SafeHtml | null {
  const command = str(input.command);
  const prefixed = (text: string, mark: string) =>
    text
      .split('\n')
      .map((l) => `${mark}${l}`)
      .join('\n');
  if (command === 'str_replace')
    return html`<pre class="diff">${diffLines(`${prefixed(str(input.old_str), '-')}\n${prefixed(str(input.new_str), '+')}`)}</pre>`;
  if (command === 'create')
    return html`<pre class="diff">${diffLines(prefixed(str(input.file_text), '+'))}</pre>`;
  if (command === 'insert')
    return html`<p class="note">after line ${String(input.insert_line ?? '?')}</p><pre class="diff">${diffLines(prefixed(str(input.new_str), '+'))}</pre>`;
  return null;
}

/** Output shown inline; longer output shows its start and end, the whole of it one click away. */
export const INLINE_OUTPUT_CHARS = 2_000;

function outputBlock(output: string, seq: number, runId: string | null): SafeHtml {
  if (runId === null || output.length <= INLINE_OUTPUT_CHARS)
    return html`<pre class="output">${output || '(no output)'}</pre>`;
  const half = INLINE_OUTPUT_CHARS / 2;
  return html`<pre class="output">${output.slice(0, half)}</pre><p class="more"><a href="/runs/${runId}/entries/${seq}">Show all ${output.length.toLocaleString('en')} characters</a></p><pre class="output">${output.slice(-half)}</pre>`;
}

function toolLine(event: Extract<RunEvent, { t: 'tool' }>, runId: string | null): SafeHtml {
  const input = parseInput(event.input);
  const isEdit = event.name === 'str_replace_based_edit_tool';
  const command = str(input?.command);
  const label =
    event.name === 'bash'
      ? html`<code>$ ${str(input?.command) || event.summary}</code>`
      : isEdit
        ? html`${command === 'view' ? 'Viewed' : 'Edited'} <code>${str(input?.path) || event.summary}</code>`
        : event.name === 'update_plan'
          ? html`Updated the plan`
          : event.name === 'finish'
            ? html`Finished: ${str(input?.summary) || event.summary}`
            : html`${event.name} <code>${event.summary}</code>`;
  const kind = isEdit ? (command === 'view' ? 'view' : 'edit') : event.name === 'bash' ? 'command' : 'tool';
  const body = isEdit && input ? editBody(input) : null;
  const showInput = !isEdit && event.name !== 'bash' && event.name !== 'update_plan' && event.input;
  const open = kind === 'edit';
  return html`<li class="step ${kind}${event.isError ? ' error' : ''}" data-seq="${event.seq}">
<details${open ? new SafeHtml(' open') : ''}><summary><span class="icon" aria-hidden="true"></span><span class="what">${label}</span><span class="dur">${formatDuration(event.durationMs)}${event.isError ? ' · failed' : ''}</span></summary>
${body ?? ''}${showInput ? html`<pre class="input">${event.input}</pre>` : ''}${
  event.output !== undefined ? outputBlock(event.output, event.seq, runId) : ''
}</details></li>`;
}

export function renderPlan(items: PlanEntry[]): SafeHtml {
  if (items.length === 0) return html`<p class="muted">No plan yet.</p>`;
  return html`<ul class="plan">${items.map(
    (i) =>
      html`<li class="${i.status}"><input type="checkbox" disabled${i.status === 'completed' ? new SafeHtml(' checked') : ''} aria-label="${i.status}"> <span>${i.step}</span>${i.status === 'in_progress' ? html` <em>in progress</em>` : ''}</li>`,
  )}</ul>`;
}

export function renderDiff(event: Extract<RunEvent, { t: 'diff' }>): SafeHtml {
  const files = event.patch.split(/\n(?=diff --git )/);
  return html`<p class="muted">${event.files} file${event.files === 1 ? '' : 's'}, <span class="plus">+${event.additions}</span> <span class="minus">−${event.deletions}</span>${event.truncated ? ' · shortened: the record keeps the start and the end' : ''}</p>
${files.map((file) => {
  const name = /^diff --git a\/(.+?) b\//.exec(file)?.[1] ?? 'patch';
  return html`<details class="file" open><summary><code>${name}</code></summary><pre class="diff">${diffLines(file)}</pre></details>`;
})}`;
}

/** The timeline line of one event ('' for events shown in their own section). */
/**
 * `runId`: the run whose page this is (long outputs link to their full text there);
 * null renders everything in full (the one-entry page).
 */
export function renderEvent(event: RunEvent, runId: string | null): SafeHtml {
  switch (event.t) {
    case 'tool':
      return toolLine(event, runId);
    case 'turn':
      return html`<li class="turn" data-seq="${event.seq}"><details${event.text ? '' : new SafeHtml(' class="empty"')}><summary><span class="icon" aria-hidden="true"></span><span class="what">Model turn ${event.turn}</span><span class="dur">${formatTokens(event.usage.input + event.usage.cacheRead + event.usage.cacheWrite)} in · ${formatTokens(event.usage.output)} out · ${formatUsd(event.costUsd)}</span></summary>${
        event.text ? html`<div class="model-text">${event.text}</div>` : ''
      }<p class="note">${formatTokens(event.usage.cacheRead)} cached read · ${formatTokens(event.usage.cacheWrite)} cache write${event.model ? html` · ${event.model}` : ''}</p></details></li>`;
    case 'phase':
      return html`<li class="phase" data-seq="${event.seq}">${PHASES[event.phase] ?? event.phase}</li>`;
    case 'status':
      return html`<li class="phase" data-seq="${event.seq}">${event.message}</li>`;
    case 'compaction':
      return html`<li class="phase" data-seq="${event.seq}">Context compacted (${event.kind}, ${event.cleared} cleared)</li>`;
    case 'note':
      return html`<li class="note-line ${event.kind}${event.isError ? ' error' : ''}" data-seq="${event.seq}">${
        event.detail
          ? html`<details><summary><span class="icon" aria-hidden="true"></span><span class="what">${event.title}</span></summary><pre class="output">${event.detail}</pre></details>`
          : html`<span class="icon" aria-hidden="true"></span> ${event.title}`
      }</li>`;
    case 'setup-failed':
      return html`<li class="phase error" data-seq="${event.seq}">The setup command exited with ${event.exitCode ?? 'a kill'}; continuing</li>`;
    case 'plan':
      return html`<li class="phase" data-seq="${event.seq}">Plan updated: ${event.items.filter((i) => i.status === 'completed').length} of ${event.items.length} done</li>`;
    case 'verify':
      return html`<li class="verify" data-seq="${event.seq}"><h3>Verification</h3><ul>${event.results.map(
        (r) =>
          html`<li class="${r.exitCode === 0 ? 'ok' : 'error'}"><details><summary><code>${r.command}</code><span class="dur">${r.exitCode === 0 ? 'passed' : `exit ${r.exitCode ?? 'killed'}`}${r.durationMs !== undefined ? ` · ${formatDuration(r.durationMs)}` : ''}</span></summary><pre class="output">${r.output || '(no output)'}</pre></details></li>`,
      )}</ul></li>`;
    case 'blocked':
      return html`<li class="blocked" data-seq="${event.seq}"><h3>Blocked network requests</h3><p>The sandbox refused: ${event.hosts.map((h, i) => html`${i > 0 ? ', ' : ''}<code>${h}</code>`)}</p></li>`;
    case 'delivered':
      return html`<li class="phase ok" data-seq="${event.seq}">Delivered${event.prNumber ? ` pull request #${event.prNumber}` : ''}${event.branch ? html` on <code>${event.branch}</code>` : ''}</li>`;
    case 'outcome':
      return html`<li class="phase outcome ${event.status}" data-seq="${event.seq}">Finished: ${event.status}${event.reason ? html` — ${event.reason}` : ''}</li>`;
    case 'diff':
      return html`<li class="phase" data-seq="${event.seq}">Change extracted: ${event.files} file${event.files === 1 ? '' : 's'} (+${event.additions} −${event.deletions})</li>`;
    default:
      return html``;
  }
}

/** The timeline, with a line where the per-run cap dropped entries from the middle. */
export function renderTimeline(events: RunEvent[], runId: string, afterSeq = 0): SafeHtml {
  let prev = afterSeq;
  const parts: SafeHtml[] = [];
  for (const event of events) {
    if (event.seq > prev + 1 && prev > 0)
      parts.push(
        html`<li class="gap">${event.seq - prev - 1} entries omitted here: long runs keep their start and their end</li>`,
      );
    prev = event.seq;
    if (event.t !== 'started') parts.push(renderEvent(event, runId));
  }
  return html`${parts}`;
}
