import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSilentLogger } from '../../src/logger.js';
import {
  DiskWatchdog,
  measureWorkspaceBytes,
  type WatchedCommand,
} from '../../worker/sandbox/disk-watchdog.js';

const MiB = 1024 * 1024;

function command(startBytes = 0): WatchedCommand & { kills: number } {
  const c = {
    startBytes,
    diskLimitExceeded: false,
    kills: 0,
    kill: () => {
      c.kills++;
    },
  };
  return c;
}

/** A watchdog whose measurements come from a list (null = the measurement failed). */
function watchdogWith(sizes: Array<number | null>, limitBytes = 10 * MiB): DiskWatchdog {
  let i = 0;
  return new DiskWatchdog({
    workspaceHostPath: '/nowhere',
    limitBytes,
    intervalMs: 60_000,
    log: createSilentLogger(),
    sandboxId: 'test',
    measure: async () => sizes[Math.min(i++, sizes.length - 1)] ?? null,
  });
}

describe('DiskWatchdog', () => {
  let dog: DiskWatchdog | undefined;
  afterEach(() => dog?.stop());

  it('leaves commands alone while the workspace stays within its bound', async () => {
    dog = watchdogWith([100 * MiB, 105 * MiB]);
    const c = command();
    dog.add(c);
    await dog.check();
    expect(c).toMatchObject({ diskLimitExceeded: false, kills: 0 });
  });

  it('kills a command once the workspace grew past the bound', async () => {
    dog = watchdogWith([100 * MiB, 111 * MiB]);
    const c = command();
    dog.add(c);
    await dog.check();
    expect(c).toMatchObject({ diskLimitExceeded: true, kills: 1 });
  });

  // Bug 3: a failed or timed-out `du` used to read as 0 bytes, so nothing was ever killed.
  it('fails closed: a failed measurement kills every running command', async () => {
    dog = watchdogWith([100 * MiB, null]);
    const a = command();
    const b = command(500 * MiB);
    dog.add(a);
    dog.add(b);
    await dog.check();
    expect(a).toMatchObject({ diskLimitExceeded: true, kills: 1 });
    expect(b).toMatchObject({ diskLimitExceeded: true, kills: 1 });
  });

  it('an unmeasurable starting size counts every byte as growth', async () => {
    dog = watchdogWith([null, 11 * MiB]);
    const c = command();
    dog.add(c);
    await dog.check();
    expect(c.diskLimitExceeded).toBe(true);
  });

  it('gives a command started over the bound leeway only when the size at its start is known', async () => {
    // over the bound → next command measures its start (150) → a later check at 150 spares it
    dog = watchdogWith([100 * MiB, 150 * MiB, 150 * MiB, 150 * MiB]);
    dog.add(command());
    await dog.check();
    const known = command(await dog.startBytes());
    expect(known.startBytes).toBe(150 * MiB);
    dog.add(known);
    await dog.check();
    expect(known.kills).toBe(0);

    const unknown = watchdogWith([100 * MiB, 150 * MiB, null, 150 * MiB]);
    unknown.add(command());
    await unknown.check();
    const c = command(await unknown.startBytes());
    expect(c.startBytes).toBe(0);
    unknown.add(c);
    await unknown.check();
    expect(c.kills).toBe(1);
    unknown.stop();
  });
});

describe('measureWorkspaceBytes', () => {
  let dir: string;
  let fakeBin: string;
  let savedPath: string | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pw-du-'));
    await writeFile(join(dir, 'a'), Buffer.alloc(4096, 1));
    fakeBin = await mkdtemp(join(tmpdir(), 'pw-fake-du-'));
    savedPath = process.env.PATH;
  });

  afterEach(() => {
    process.env.PATH = savedPath;
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await rm(fakeBin, { recursive: true, force: true });
  });

  async function fakeDu(script: string): Promise<void> {
    await writeFile(join(fakeBin, 'du'), `#!/bin/sh\n${script}\n`);
    await chmod(join(fakeBin, 'du'), 0o755);
    process.env.PATH = `${fakeBin}:${savedPath ?? ''}`;
  }

  it('measures the apparent size', async () => {
    expect(await measureWorkspaceBytes(dir)).toBeGreaterThanOrEqual(4096);
  });

  it('is null when du fails without a total', async () => {
    await fakeDu('exit 1');
    expect(await measureWorkspaceBytes(dir)).toBeNull();
  });

  it('is null when du times out', async () => {
    await fakeDu('sleep 5; echo "1 $1"');
    expect(await measureWorkspaceBytes(dir, 200)).toBeNull();
  });

  it('is null when du could not read part of the tree, even with a total', async () => {
    await fakeDu(
      'echo "du: cannot read directory \'x/hidden\': Permission denied" >&2; echo "4096\tx"; exit 1',
    );
    expect(await measureWorkspaceBytes(dir)).toBeNull();
  });

  it('keeps the total when du only saw files vanish during the walk', async () => {
    await fakeDu(
      'echo "du: cannot access \'x/tmp-1\': No such file or directory" >&2; echo "8192\tx"; exit 1',
    );
    expect(await measureWorkspaceBytes(dir)).toBe(8192);
  });
});
