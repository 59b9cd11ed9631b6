import { z } from 'zod';

/**
 * What a run record holds: one entry per thing that happened, in order. Every
 * string in it came from the run (task text, tool output, model text, file
 * names) and is untrusted: the pages escape all of it, and the recorder has
 * already redacted secrets and capped sizes before anything reaches Redis.
 */
export interface PlanEntry {
  step: string;
  status: 'pending' | 'in_progress' | 'completed';
}

export interface UsageCounts {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
}

export interface VerifyEntry {
  command: string;
  exitCode: number | null;
  output: string;
  durationMs?: number;
}

export type RunEventBody =
  | {
      t: 'started';
      kind: string;
      repo: string;
      number: number | null;
      requester: string;
      source: string;
      title: string | null;
      instruction: string | null;
    }
  | { t: 'phase'; phase: string }
  | { t: 'plan'; items: PlanEntry[] }
  | {
      t: 'tool';
      name: string;
      summary: string;
      durationMs: number;
      isError: boolean;
      turn?: number;
      input?: string;
      output?: string;
    }
  | {
      t: 'turn';
      turn: number;
      usage: UsageCounts;
      costUsd: number;
      model?: string;
      text?: string;
      durationMs?: number;
    }
  | { t: 'compaction'; kind: string; cleared: number }
  /** Harness events (environment, refused calls, subagents, review, MCP servers): a titled line with details. */
  | { t: 'note'; kind: string; title: string; detail: string | null; isError: boolean }
  | { t: 'status'; message: string }
  | { t: 'setup-failed'; exitCode: number | null }
  | { t: 'verify'; results: VerifyEntry[] }
  | { t: 'blocked'; hosts: string[] }
  | {
      t: 'diff';
      patch: string;
      files: number;
      additions: number;
      deletions: number;
      paths: string[];
      truncated: boolean;
    }
  | { t: 'delivered'; prNumber: number | null; prUrl: string | null; branch: string | null }
  | { t: 'outcome'; status: string; reason: string | null; costUsd: number; turns: number };

/** One stored entry: `seq` counts from 1 with no gaps, so a gap on a page means entries the cap dropped. */
export type RunEvent = RunEventBody & { seq: number; at: number };

/** The run's summary, kept apart from its entries: lists and access checks read only this. */
export const RunMeta = z.object({
  id: z.string(),
  jobId: z.string(),
  installationId: z.number().int(),
  /** `owner/name` as the task spelled it. */
  repo: z.string(),
  kind: z.string(),
  number: z.number().int().nullable(),
  title: z.string().nullable(),
  requester: z.string(),
  state: z.enum(['running', 'finished']),
  outcome: z.string().nullable(),
  reason: z.string().nullable(),
  startedAt: z.number(),
  endedAt: z.number().nullable(),
  costUsd: z.number(),
  inputTokens: z.number(),
  outputTokens: z.number(),
  turns: z.number(),
  /** Bytes of the entries as stored (JSON while live, compressed once finished). */
  bytes: z.number(),
  /** Entries dropped from the middle by the per-run cap. */
  omitted: z.number(),
  issueUrl: z.string().nullable(),
  prUrl: z.string().nullable(),
  prNumber: z.number().nullable(),
  trackingCommentUrl: z.string().nullable(),
});
export type RunMeta = z.infer<typeof RunMeta>;

/** Run ids are random and URL-safe: knowing one reveals nothing, guessing one is hopeless. */
export const RUN_ID_PATTERN = /^r_[A-Za-z0-9_-]{16,40}$/;
