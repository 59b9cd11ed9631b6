import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createSilentLogger } from '../../../src/logger.js';
import {
  pruneTranscripts,
  startTranscriptRetention,
} from '../../../worker/agent/loop/transcript-retention.js';

const DAY = 24 * 60 * 60_000;
const NOW = Date.parse('2026-06-01T12:00:00Z');
const HOUR = 60 * 60_000;
const log = createSilentLogger();

let base: string;
afterEach(() => {
  vi.restoreAllMocks();
  if (base) rmSync(base, { recursive: true, force: true });
});

/** `<temp>/transcripts`, 0700, plus the helpers that date entries in it. */
function transcriptsDir(): string {
  base = mkdtempSync(join(tmpdir(), 'pw-retention-'));
  const dir = join(base, 'transcripts');
  mkdirSync(dir, { mode: 0o700 });
  return dir;
}
function writeAged(path: string, ageMs: number): void {
  writeFileSync(path, '{"type":"start"}\n');
  const at = new Date(NOW - ageMs);
  utimesSync(path, at, at);
}

/** Issue 14 item 10: transcripts were never pruned and piled up on the host forever. */
describe('pruneTranscripts', () => {
  it('removes worker transcripts older than the retention, oldest first, and leaves everything else', async () => {
    const dir = transcriptsDir();
    writeAged(join(dir, 'job-40d.jsonl'), 40 * DAY);
    writeAged(join(dir, 'job-31d.jsonl'), 31 * DAY);
    writeAged(join(dir, 'job-50d.jsonl'), 50 * DAY);
    writeAged(join(dir, 'job-29d.jsonl'), 29 * DAY);
    writeAged(join(dir, 'notes.txt'), 90 * DAY);
    // A symlink is never followed: its old target elsewhere stays.
    const outside = join(base, 'outside.jsonl');
    writeAged(outside, 90 * DAY);
    symlinkSync(outside, join(dir, 'link.jsonl'));

    const result = await pruneTranscripts({ dir, retentionDays: 30, activeMs: HOUR, log, now: () => NOW });

    expect(result.removed).toEqual(['job-50d.jsonl', 'job-40d.jsonl', 'job-31d.jsonl']);
    expect(readdirSync(dir).sort()).toEqual(['job-29d.jsonl', 'link.jsonl', 'notes.txt']);
    expect(existsSync(outside)).toBe(true);
  });

  it("removes the CLI's run folders by their newest transcript, not folders holding anything else", async () => {
    const dir = transcriptsDir();
    for (const [run, age] of [
      ['run-old', 40 * DAY],
      ['run-resumed', 40 * DAY],
      ['run-new', 2 * DAY],
      ['run-other', 40 * DAY],
    ] as const) {
      mkdirSync(join(dir, run));
      writeAged(join(dir, run, 'transcript.jsonl'), age);
    }
    // Resumed into a second file yesterday: the run is recent.
    writeAged(join(dir, 'run-resumed', 'transcript-2.jsonl'), DAY);
    writeAged(join(dir, 'run-other', 'keep.me'), 40 * DAY);
    for (const run of readdirSync(dir))
      utimesSync(join(dir, run), new Date(NOW - 40 * DAY), new Date(NOW - 40 * DAY));

    const result = await pruneTranscripts({ dir, retentionDays: 30, activeMs: HOUR, log, now: () => NOW });

    expect(result.removed).toEqual(['run-old']);
    expect(readdirSync(dir).sort()).toEqual(['run-new', 'run-other', 'run-resumed']);
  });

  it('with 0 days keeps only what a run may still be writing (the wall-time cap)', async () => {
    const dir = transcriptsDir();
    writeAged(join(dir, 'finished.jsonl'), 31 * 60_000);
    writeAged(join(dir, 'running.jsonl'), 29 * 60_000);
    const result = await pruneTranscripts({
      dir,
      retentionDays: 0,
      activeMs: 30 * 60_000,
      log,
      now: () => NOW,
    });
    expect(result.removed).toEqual(['finished.jsonl']);
    expect(readdirSync(dir)).toEqual(['running.jsonl']);
  });

  it('creates a missing folder 0700', async () => {
    base = mkdtempSync(join(tmpdir(), 'pw-retention-'));
    const dir = join(base, 'transcripts');
    await pruneTranscripts({ dir, retentionDays: 30, activeMs: HOUR, log });
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it('refuses a folder that is a symlink or writable by others, and deletes nothing in it', async () => {
    const dir = transcriptsDir();
    writeAged(join(dir, 'old.jsonl'), 90 * DAY);
    const link = join(base, 'link');
    symlinkSync(dir, link);
    await expect(
      pruneTranscripts({ dir: link, retentionDays: 30, activeMs: HOUR, log, now: () => NOW }),
    ).rejects.toMatchObject({ code: 'config_invalid' });
    chmodSync(dir, 0o777);
    await expect(
      pruneTranscripts({ dir, retentionDays: 30, activeMs: HOUR, log, now: () => NOW }),
    ).rejects.toMatchObject({ code: 'config_invalid' });
    expect(readdirSync(dir)).toEqual(['old.jsonl']);
  });
});

describe('startTranscriptRetention', () => {
  it('prunes at start and then on an unref’d timer until stopped', async () => {
    const dir = transcriptsDir();
    writeAged(join(dir, 'at-start.jsonl'), 90 * DAY);
    const setIntervalSpy = vi.spyOn(globalThis, 'setInterval');
    const retention = await startTranscriptRetention({
      dir,
      retentionDays: 30,
      activeMs: HOUR,
      log,
      now: () => NOW,
      intervalMs: 20,
    });
    try {
      expect(readdirSync(dir)).toEqual([]);
      const timer = setIntervalSpy.mock.results[0]?.value as NodeJS.Timeout;
      expect(timer.hasRef()).toBe(false);
      writeAged(join(dir, 'later.jsonl'), 90 * DAY);
      await vi.waitFor(() => expect(readdirSync(dir)).toEqual([]), { timeout: 2_000, interval: 10 });
    } finally {
      await retention.stop();
    }
    writeAged(join(dir, 'after-stop.jsonl'), 90 * DAY);
    await new Promise((r) => setTimeout(r, 100));
    expect(readdirSync(dir)).toEqual(['after-stop.jsonl']);
  });

  it('refuses to start on a folder others can write to', async () => {
    const dir = transcriptsDir();
    chmodSync(dir, 0o777);
    await expect(
      startTranscriptRetention({ dir, retentionDays: 30, activeMs: HOUR, log }),
    ).rejects.toMatchObject({
      code: 'config_invalid',
    });
  });
});
