import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../../src/logger.js';
import { ensurePrivateDir } from '../../sandbox/private-dir.js';

/** `TRANSCRIPT_RETENTION_DAYS`'s default (src/config/env.ts). */
export const DEFAULT_TRANSCRIPT_RETENTION_DAYS = 30;
export const TRANSCRIPT_PRUNE_INTERVAL_MS = 60 * 60_000;
const DAY_MS = 24 * 60 * 60_000;
const TRANSCRIPT_FILE = /\.jsonl$/;

export interface PruneTranscriptsOptions {
  /**
   * The transcript folder: the worker's `<WORK_DIR>/transcripts` (one `<jobId>.jsonl` per
   * job) or the CLI's `<git common dir>/pullwright/runs` (one `<runId>/transcript.jsonl`
   * folder per run). Created 0700, or refused like any private folder.
   */
  dir: string;
  /**
   * Days a transcript is kept after its last write. 0 keeps none: each is removed at the
   * first prune once its run can no longer be writing to it (`activeMs`).
   */
  retentionDays: number;
  /**
   * How long a run may still append after a transcript's last write: the wall-time cap
   * (MAX_WALL_MINUTES). A run starts before its first line, so a transcript untouched for
   * longer belongs to a run that has ended. Nothing younger is ever removed.
   */
  activeMs: number;
  log: Logger;
  now?: () => number;
}

export interface PruneResult {
  /** Entry names, oldest first. */
  removed: string[];
}

interface Candidate {
  name: string;
  lastWrite: number;
}

/**
 * The age of one entry, or null for what is not a transcript and stays: a `*.jsonl`
 * file, or a run folder holding only `*.jsonl` files (dated by its newest). Symlinks
 * and anything else an operator put there are left alone.
 */
async function findCandidate(dir: string, name: string): Promise<Candidate | null> {
  const path = join(dir, name);
  const info = await lstat(path);
  if (info.isFile()) return TRANSCRIPT_FILE.test(name) ? { name, lastWrite: info.mtimeMs } : null;
  if (!info.isDirectory()) return null;
  let lastWrite = info.mtimeMs;
  for (const inner of await readdir(path)) {
    const innerInfo = await lstat(join(path, inner));
    if (!innerInfo.isFile() || !TRANSCRIPT_FILE.test(inner)) return null;
    lastWrite = Math.max(lastWrite, innerInfo.mtimeMs);
  }
  return { name, lastWrite };
}

/**
 * Removes transcripts older than the retention, oldest first (an interrupted prune has
 * freed the oldest). Transcripts hold private code and the model's reasoning: kept
 * forever they pile up on the host's disk and widen what a later leak exposes. The
 * folder is checked first (ensurePrivateDir): a prune never deletes inside a folder
 * someone else controls, where a planted symlink could point it elsewhere.
 */
export async function pruneTranscripts(options: PruneTranscriptsOptions): Promise<PruneResult> {
  const { dir, log } = options;
  await ensurePrivateDir(dir, 'transcript folder');
  const now = options.now?.() ?? Date.now();
  const cutoff = now - Math.max(options.retentionDays * DAY_MS, options.activeMs);
  const candidates: Candidate[] = [];
  for (const name of await readdir(dir)) {
    // Another worker sharing WORK_DIR may be pruning the same entry.
    const candidate = await findCandidate(dir, name).catch(() => null);
    if (candidate && candidate.lastWrite < cutoff) candidates.push(candidate);
  }
  candidates.sort((a, b) => a.lastWrite - b.lastWrite);
  const removed: string[] = [];
  for (const { name } of candidates) {
    try {
      await rm(join(dir, name), { recursive: true, force: true });
      removed.push(name);
    } catch (err) {
      log.warn({ err, dir, name }, 'Transcript could not be removed');
    }
  }
  if (removed.length > 0)
    log.info(
      { dir, removed: removed.length, retentionDays: options.retentionDays },
      'Pruned old transcripts',
    );
  return { removed };
}

export interface TranscriptRetention {
  /** Resolves once a prune in flight has finished; no prune starts after it. */
  stop(): Promise<void>;
}

/**
 * Prunes once now (a refused folder throws `config_invalid`, so the worker does not
 * start on it) and then every `intervalMs` (default hourly) on an unref'd timer that
 * never keeps the process alive. Later failures are logged, not thrown.
 */
export async function startTranscriptRetention(
  options: PruneTranscriptsOptions & { intervalMs?: number },
): Promise<TranscriptRetention> {
  await pruneTranscripts(options);
  // A prune in flight when stop() is called finishes before stop() resolves, and none starts
  // after it: a stopped worker must not delete files any more (a prune that read the folder
  // before the stop could otherwise remove a file written after it).
  let stopped = false;
  let inFlight: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    if (stopped) return;
    inFlight = pruneTranscripts(options)
      .then(() => undefined)
      .catch((err) => options.log.warn({ err, dir: options.dir }, 'Transcript pruning failed'));
  }, options.intervalMs ?? TRANSCRIPT_PRUNE_INTERVAL_MS);
  timer.unref();
  return {
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await inFlight;
    },
  };
}
