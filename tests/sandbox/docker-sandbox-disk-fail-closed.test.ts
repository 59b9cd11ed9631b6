import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerSandboxProvider } from '../../worker/sandbox/docker-sandbox-provider.js';
import { makeWorkspace, removeContainersOf, removeDir, SANDBOX_IMAGE, testProvider } from './helpers.js';

const MiB = 1024 * 1024;

// Bug 3: when the host's `du` failed, the workspace read as 0 bytes and the watchdog
// never fired, exactly when the workspace was too big (or too strange) to measure.
// A `du` that always fails is put first on this test file's PATH (each vitest file
// runs in its own worker, so no other file sees it).
describe('DockerSandbox disk watchdog fails closed (real Docker)', () => {
  const { workerHostId, docker } = testProvider();
  let fakeBin: string;
  let savedPath: string | undefined;

  beforeAll(async () => {
    fakeBin = await mkdtemp(join(tmpdir(), 'pw-fake-du-'));
    await writeFile(
      join(fakeBin, 'du'),
      '#!/bin/sh\necho "du: cannot read directory: Permission denied" >&2\nexit 1\n',
    );
    await chmod(join(fakeBin, 'du'), 0o755);
    savedPath = process.env.PATH;
    process.env.PATH = `${fakeBin}:${savedPath ?? ''}`;
  });

  afterAll(async () => {
    process.env.PATH = savedPath;
    await removeContainersOf(docker, workerHostId);
    await rm(fakeBin, { recursive: true, force: true });
  });

  it('kills a running command when the workspace cannot be measured', async () => {
    const ws = await makeWorkspace();
    const provider = new DockerSandboxProvider({ workerHostId, docker, diskCheckIntervalMs: 200 });
    const box = await provider.create({ image: SANDBOX_IMAGE, workspaceBytes: 20 * MiB }, ws);
    try {
      const r = await box.exec({
        cmd: 'for i in $(seq 1 100); do head -c 1048576 /dev/zero > fill-$i; sleep 0.05; done; echo finished',
        timeoutMs: 60_000,
      });
      expect(r.diskLimitExceeded).toBe(true);
      expect(r.exitCode).toBeNull();
      expect(r.stdout).not.toContain('finished');
    } finally {
      await box.dispose();
      await removeDir(ws);
    }
  });
});
