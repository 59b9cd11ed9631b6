import { randomBytes } from 'node:crypto';
import type { Task } from '../../src/domain/task.js';
import { type Logger, redactText } from '../../src/logger.js';
import { capHeadTail } from '../../src/runs/cap-text.js';
import type { CostLedger } from '../../src/runs/cost-ledger.js';
import type { RunEvent, RunEventBody, RunMeta } from '../../src/runs/run-event.js';
import type { RunStore } from '../../src/runs/run-store.js';
import type { AgentSessionResult, SessionEvent } from '../session/run-agent-session.js';
import { noteOf } from './note-of.js';
import { type BufferedEntry, RecordBuffer } from './record-buffer.js';

/**
 * The worker's side of the run record: turns the session's events and the
 * flow's milestones into entries in the run store, which the run pages read
 * live. Every string is redacted with the transcript's redaction (the run's
 * tokens plus the known token shapes) and capped before it leaves the worker:
 * a secret never reaches Redis. Recording never throws into the flow and never
 * makes it wait: entries are queued and written in order in the background.
 */
export const TOOL_OUTPUT_CHARS = 16_384;
export const TOOL_INPUT_CHARS = 4_096;
export const MODEL_TEXT_CHARS = 8_192;
export const VERIFY_OUTPUT_CHARS = 8_192;
const TEXT_CHARS = 2_000;

export interface RunRecorderOptions {
  /** undefined: a recorder that records nothing (tests and tools without Redis). */
  store?: RunStore;
  ledger?: CostLedger;
  task: Task;
  jobId: string;
  /** The flow's secrets array, read at each write: tokens pushed later are scrubbed too. */
  secrets: readonly string[];
  publicUrl?: string;
  log: Logger;
  now?: () => number;
}

export interface RecordedOutcome {
  status: string;
  reason?: string;
  prNumber?: number;
  prUrl?: string;
  agent?: { turns: number; usage: { costUsd: number } };
}

export interface RunRecorder {
  readonly runId: string;
  /** `${PUBLIC_URL}/runs/<id>`, or null without PUBLIC_URL. */
  readonly url: string | null;
  started(details?: { title?: string | null; instruction?: string | null }): void;
  onSession(event: SessionEvent): void;
  links(links: { issueUrl?: string; prUrl?: string; trackingCommentUrl?: string }): void;
  session(result: AgentSessionResult): void;
  delivered(delivery: { prNumber?: number; prUrl?: string; branch?: string }): void;
  finish(outcome: RecordedOutcome): void;
  /** Resolves once everything recorded so far is in Redis (tests, shutdown). */
  flushed(): Promise<void>;
}

export function newRunId(): string {
  return `r_${randomBytes(15).toString('base64url')}`;
}

function numberOf(task: Task): number | null {
  return 'number' in task && typeof task.number === 'number' ? task.number : null;
}

function stringify(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value, null, 1) ?? '';
  } catch {
    return String(value);
  }
}

export function createRunRecorder(options: RunRecorderOptions): RunRecorder {
  const { store, ledger, task, log } = options;
  const now = options.now ?? Date.now;
  const runId = newRunId();
  const url = options.publicUrl ? `${options.publicUrl.replace(/\/+$/, '')}/runs/${runId}` : null;
  const repo = `${task.repo.owner}/${task.repo.name}`;
  const clean = (text: string, max: number) => capHeadTail(redactText(text, options.secrets), max);
  const buffer = new RecordBuffer(store?.options.maxRunBytes ?? 1_048_576);
  const meta: RunMeta = {
    id: runId,
    jobId: options.jobId,
    installationId: task.installationId,
    repo,
    kind: task.kind,
    number: numberOf(task),
    title: null,
    requester: task.trigger.actor,
    state: 'running',
    outcome: null,
    reason: null,
    startedAt: now(),
    endedAt: null,
    costUsd: 0,
    inputTokens: 0,
    outputTokens: 0,
    turns: 0,
    bytes: 0,
    omitted: 0,
    issueUrl: null,
    prUrl: null,
    prNumber: null,
    trackingCommentUrl: null,
  };
  let seq = 0;
  let began = false;
  let finished = false;
  let pending: BufferedEntry[] = [];
  let toDrop: string[] = [];
  let chain: Promise<void> = Promise.resolve();
  let sessionCostUsd = 0;
  let ledgerCostUsd = 0;
  let failed = false;
  let lastPlan = '';

  const write = (work: () => Promise<void>) => {
    chain = chain.then(work).catch((err: unknown) => {
      // A Redis hiccup costs the page some entries, never the run.
      if (!failed) log.warn({ err, runId }, 'Run record write failed; the run goes on');
      failed = true;
    });
  };

  const flush = () =>
    write(async () => {
      if (!store || (pending.length === 0 && toDrop.length === 0 && began)) return;
      if (!began) {
        began = true;
        await store.begin({ ...meta });
      }
      const batch = pending;
      const drops = toDrop;
      pending = [];
      toDrop = [];
      meta.bytes = buffer.totalBytes;
      meta.omitted = buffer.omitted;
      const ids = await store.append(
        { ...meta },
        batch.map((e) => e.event),
        drops,
      );
      batch.forEach((entry, i) => {
        entry.streamId = ids[i];
        // Dropped by the cap while being written: drop it from the stream on the next write.
        if (entry.dropped && entry.streamId) toDrop.push(entry.streamId);
      });
    });

  const record = (body: RunEventBody) => {
    if (finished || !store) return;
    seq += 1;
    const event = { ...body, seq, at: now() } as RunEvent;
    const dropped = buffer.add(event);
    for (const entry of dropped) {
      if (entry.streamId) toDrop.push(entry.streamId);
      else pending = pending.filter((p) => p !== entry);
    }
    pending.push(buffer.entries.at(-1) as BufferedEntry);
    flush();
  };

  const addCost = (costUsd: number, inputTokens = 0, outputTokens = 0, runs = 0) => {
    if (!ledger) return;
    ledgerCostUsd += costUsd;
    write(() =>
      ledger.add({ installationId: task.installationId, repo, runs, inputTokens, outputTokens, costUsd }),
    );
  };

  return {
    runId,
    url,

    started(details = {}) {
      // The issue's or PR's own title as approved with the trigger reads best; else the flow's.
      const approved = 'approved' in task ? task.approved?.title : undefined;
      const title = approved || details.title;
      meta.title = title ? clean(title, 300) : null;
      record({
        t: 'started',
        kind: task.kind,
        repo,
        number: meta.number,
        requester: task.trigger.actor,
        source: task.trigger.source,
        title: meta.title,
        instruction:
          (details.instruction ?? task.trigger.instruction)
            ? clean(String(details.instruction ?? task.trigger.instruction), TEXT_CHARS)
            : null,
      });
      addCost(0, 0, 0, 1);
    },

    onSession(event) {
      try {
        switch (event.type) {
          case 'phase':
            record({ t: 'phase', phase: event.phase });
            break;
          case 'setup-failed':
            record({ t: 'setup-failed', exitCode: event.exitCode });
            break;
          case 'plan':
            lastPlan = JSON.stringify(event.items);
            record({
              t: 'plan',
              items: event.items.slice(0, 100).map((i) => ({ step: clean(i.step, 500), status: i.status })),
            });
            break;
          case 'status':
            record({ t: 'status', message: clean(event.message, TEXT_CHARS) });
            break;
          case 'tool': {
            const rich = event as typeof event & {
              turn?: number;
              input?: unknown;
              output?: string;
              costUsd?: number;
            };
            // A subagent's model use is paid through its tool call.
            if (rich.costUsd) {
              meta.costUsd += rich.costUsd;
              addCost(rich.costUsd);
            }
            record({
              t: 'tool',
              name: clean(event.name, 100),
              summary: clean(event.summary, 500),
              durationMs: event.durationMs,
              isError: event.isError,
              ...(rich.turn !== undefined ? { turn: rich.turn } : {}),
              ...(rich.input !== undefined ? { input: clean(stringify(rich.input), TOOL_INPUT_CHARS) } : {}),
              ...(typeof rich.output === 'string' ? { output: clean(rich.output, TOOL_OUTPUT_CHARS) } : {}),
            });
            break;
          }
          case 'turn': {
            const rich = event as typeof event & {
              costUsd?: number;
              model?: string;
              text?: string;
              durationMs?: number;
            };
            const u = event.usage;
            const costUsd = rich.costUsd ?? 0;
            meta.turns = Math.max(meta.turns, event.turn);
            meta.inputTokens += u.input + u.cacheRead + u.cacheWrite;
            meta.outputTokens += u.output;
            meta.costUsd += costUsd;
            record({
              t: 'turn',
              turn: event.turn,
              usage: { input: u.input, output: u.output, cacheRead: u.cacheRead, cacheWrite: u.cacheWrite },
              costUsd,
              ...(rich.model ? { model: clean(rich.model, 100) } : {}),
              ...(rich.text ? { text: clean(rich.text, MODEL_TEXT_CHARS) } : {}),
              ...(rich.durationMs !== undefined ? { durationMs: rich.durationMs } : {}),
            });
            addCost(costUsd, u.input + u.cacheRead + u.cacheWrite, u.output);
            break;
          }
          default: {
            const note = noteOf(event as unknown as Record<string, unknown>);
            if (note)
              record({
                t: 'note',
                kind: note.kind,
                title: clean(note.title, 500),
                detail: note.detail ? clean(note.detail, TOOL_OUTPUT_CHARS) : null,
                isError: note.isError ?? false,
              });
            else if ((event as { type: string }).type === 'compaction') {
              const c = event as unknown as { kind?: string; cleared?: number };
              record({ t: 'compaction', kind: String(c.kind ?? 'clear'), cleared: Number(c.cleared ?? 0) });
            }
          }
        }
      } catch (err) {
        log.warn({ err, runId }, 'Run record event skipped');
      }
    },

    links(links) {
      if (links.issueUrl) meta.issueUrl = links.issueUrl;
      if (links.prUrl) meta.prUrl = links.prUrl;
      if (links.trackingCommentUrl) meta.trackingCommentUrl = links.trackingCommentUrl;
      if (began || pending.length > 0) flush();
    },

    session(result) {
      try {
        sessionCostUsd = result.agent.usage.costUsd;
        // The loop's own total is the truth: turns the events did not price are added here,
        // so the month's counters (and the budget) always match what the run cost.
        const unpriced = sessionCostUsd - ledgerCostUsd;
        if (unpriced > 1e-9) addCost(unpriced);
        meta.costUsd = Math.max(meta.costUsd, sessionCostUsd);
        meta.turns = Math.max(meta.turns, result.agent.turns);
        if (meta.inputTokens === 0) {
          const u = result.agent.usage;
          meta.inputTokens = u.input + u.cacheRead + u.cacheWrite;
          meta.outputTokens = u.output;
        }
        // The final plan, unless the last plan event already said exactly this.
        if (result.agent.plan.length > 0 && JSON.stringify(result.agent.plan) !== lastPlan)
          this.onSession({ type: 'plan', items: result.agent.plan });
        if (result.setup || result.verify.length > 0) {
          record({
            t: 'verify',
            results: [
              ...(result.setup ? [{ ...result.setup, command: `setup: ${result.setup.command}` }] : []),
              ...result.verify,
            ].map((r) => ({
              command: clean(r.command, 500),
              exitCode: r.exitCode,
              output: clean(r.outputTail, VERIFY_OUTPUT_CHARS),
              durationMs: r.durationMs,
            })),
          });
        }
        if (result.blockedHosts.length > 0)
          record({ t: 'blocked', hosts: result.blockedHosts.slice(0, 100).map((h) => clean(h, 300)) });
        if (result.patch.patch !== '') {
          const maxPatch = Math.floor((store?.options.maxRunBytes ?? 1_048_576) / 4);
          const patch = redactText(result.patch.patch, options.secrets);
          record({
            t: 'diff',
            patch: capHeadTail(patch, maxPatch),
            files: result.patch.stats.files,
            additions: result.patch.stats.additions,
            deletions: result.patch.stats.deletions,
            paths: result.patch.paths.slice(0, 500).map((p) => clean(p, 500)),
            truncated: patch.length > maxPatch,
          });
        }
      } catch (err) {
        log.warn({ err, runId }, 'Run record session result skipped');
      }
    },

    delivered(delivery) {
      if (delivery.prUrl) meta.prUrl = delivery.prUrl;
      if (delivery.prNumber) meta.prNumber = delivery.prNumber;
      record({
        t: 'delivered',
        prNumber: delivery.prNumber ?? null,
        prUrl: delivery.prUrl ?? null,
        branch: delivery.branch ? clean(delivery.branch, 300) : null,
      });
    },

    finish(outcome) {
      if (finished || !store) return;
      if (outcome.prUrl) meta.prUrl = outcome.prUrl;
      if (outcome.prNumber) meta.prNumber = outcome.prNumber;
      if (outcome.agent) {
        meta.costUsd = Math.max(meta.costUsd, outcome.agent.usage.costUsd);
        meta.turns = Math.max(meta.turns, outcome.agent.turns);
        if (sessionCostUsd === 0 && outcome.agent.usage.costUsd - ledgerCostUsd > 1e-9)
          addCost(outcome.agent.usage.costUsd - ledgerCostUsd);
      }
      meta.outcome = outcome.status;
      meta.reason = outcome.reason ? clean(outcome.reason, TEXT_CHARS) : null;
      record({
        t: 'outcome',
        status: outcome.status,
        reason: meta.reason,
        costUsd: meta.costUsd,
        turns: meta.turns,
      });
      finished = true;
      meta.state = 'finished';
      meta.endedAt = now();
      flush();
      write(async () => {
        meta.omitted = buffer.omitted;
        await store.finish({ ...meta }, buffer.events());
      });
    },

    flushed() {
      return chain;
    },
  };
}
