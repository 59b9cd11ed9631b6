import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runAgent } from '../../../worker/agent/loop/run-agent.js';
import { baseOptions, FakeModel, finishTool, use } from './fakes.js';

const mode = (path: string) => statSync(path).mode & 0o777;
const finishing = () => new FakeModel(() => ({ content: [use('finish', { summary: 'ok' })] }));

/** A run whose transcript goes to `<temp>/runs/job-1.jsonl`; `runs` is made first when `folderMode` is given. */
function transcriptCase(folderMode?: number) {
  const opts = baseOptions(finishing(), [finishTool]);
  const folder = join(dirname(opts.transcriptPath), 'runs');
  if (folderMode !== undefined) {
    mkdirSync(folder);
    chmodSync(folder, folderMode);
  }
  return { opts, folder, transcriptPath: join(folder, 'job-1.jsonl') };
}

/**
 * Issue 14 item 10: transcripts hold the task, private code and the model's reasoning;
 * they were written 0644 into whatever folder was there. Other local users must not be
 * able to read them, nor to swap the folder for one they control.
 */
describe('transcript privacy', () => {
  it('writes the transcript 0600 in a 0700 folder it creates, whatever the umask', async () => {
    const { opts, transcriptPath } = transcriptCase();
    const previous = process.umask(0o022);
    try {
      expect((await runAgent({ ...opts, transcriptPath })).outcome).toBe('succeeded');
    } finally {
      process.umask(previous);
    }
    expect(mode(transcriptPath)).toBe(0o600);
    expect(mode(dirname(transcriptPath))).toBe(0o700);
  });

  it('tightens a folder of ours that others can read, and a transcript left 0644 that a resume appends to', async () => {
    const { opts, folder, transcriptPath } = transcriptCase(0o755);
    writeFileSync(transcriptPath, '');
    chmodSync(transcriptPath, 0o644);
    await runAgent({ ...opts, transcriptPath });
    expect(mode(folder)).toBe(0o700);
    expect(mode(transcriptPath)).toBe(0o600);
  });

  it('refuses a transcript folder that is a symlink: nothing is written through it, the run goes on', async () => {
    const opts = baseOptions(finishing(), [finishTool]);
    const base = dirname(opts.transcriptPath);
    const elsewhere = join(base, 'someone-elses');
    mkdirSync(elsewhere);
    symlinkSync(elsewhere, join(base, 'runs'));
    const warnings: string[] = [];
    const log = opts.log;
    const spy = Object.assign(Object.create(log), {
      warn: (_obj: unknown, msg: string) => warnings.push(msg),
    }) as typeof log;
    const result = await runAgent({ ...opts, log: spy, transcriptPath: join(base, 'runs', 'job-1.jsonl') });
    expect(result.outcome).toBe('succeeded');
    expect(readdirSync(elsewhere)).toEqual([]);
    expect(warnings).toContain('Transcript cannot be written; the run goes on without it');
  });

  it('refuses a transcript folder other users can write to', async () => {
    const { opts, folder, transcriptPath } = transcriptCase(0o777);
    expect((await runAgent({ ...opts, transcriptPath })).outcome).toBe('succeeded');
    expect(existsSync(transcriptPath)).toBe(false);
    // Refused, not repaired: someone else may already have a handle in it.
    expect(mode(folder)).toBe(0o777);
  });

  // Only root can give a folder to another user; elsewhere this case is the sandbox's private-dir test.
  it.skipIf(process.getuid?.() !== 0)(
    'refuses a transcript folder that belongs to another user',
    async () => {
      const opts = baseOptions(finishing(), [finishTool]);
      const folder = join(dirname(opts.transcriptPath), 'runs');
      mkdirSync(folder, { mode: 0o700 });
      chownSync(folder, 4242, 4242);
      const transcriptPath = join(folder, 'job-1.jsonl');
      expect((await runAgent({ ...opts, transcriptPath })).outcome).toBe('succeeded');
      expect(existsSync(transcriptPath)).toBe(false);
    },
  );
});
