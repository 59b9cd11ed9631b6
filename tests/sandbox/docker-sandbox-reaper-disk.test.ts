import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DockerSandboxProvider,
  HOST_LABEL,
  JOB_LABEL,
} from '../../worker/sandbox/docker-sandbox-provider.js';
import { reapSandboxes } from '../../worker/sandbox/reap-sandboxes.js';
import { makeWorkspace, removeContainersOf, removeDir, SANDBOX_IMAGE, testProvider } from './helpers.js';

const MiB = 1024 * 1024;

describe('sandbox reaper and workspace size bound (real Docker)', () => {
  const a = testProvider();
  const b = testProvider();
  let root: string;

  beforeAll(async () => {
    root = await makeWorkspace();
  });

  afterAll(async () => {
    await removeContainersOf(a.docker, a.workerHostId);
    await removeContainersOf(b.docker, b.workerHostId);
    await removeDir(root);
  });

  it('removes only this worker host’s containers and its unmounted working copies', async () => {
    const jobs = join(root, 'jobs');
    const dirs = ['job-1', 'job-2', 'job-3'].map((n) => join(jobs, n));
    for (const d of dirs) {
      await mkdir(d, { recursive: true });
      await chown(d, 1000, 1000);
    }
    const egressRoot = join(root, 'egress');
    const providerA = new DockerSandboxProvider({
      workerHostId: a.workerHostId,
      docker: a.docker,
      egressRoot,
    });
    const mine1 = await providerA.create(
      { image: SANDBOX_IMAGE, labels: { [JOB_LABEL]: 'j1' } },
      dirs[0] as string,
    );
    const mine2 = await providerA.create(
      { image: SANDBOX_IMAGE, labels: { [JOB_LABEL]: 'j2' } },
      dirs[1] as string,
    );
    const theirs = await b.provider.create({ image: SANDBOX_IMAGE }, dirs[2] as string);
    // A crashed worker: nothing disposes, the reaper of the next start cleans up.
    const reaped = await reapSandboxes({
      workerHostId: a.workerHostId,
      docker: a.docker,
      workspaceRoot: jobs,
      egressRoot,
      // job j2 is still running in this process
      isActive: (labels) => labels[JOB_LABEL] === 'j2',
    });
    const left = await a.docker.listContainers({
      all: true,
      filters: { label: [`${HOST_LABEL}=${a.workerHostId}`] },
    });
    expect(left.map((c) => c.Names[0])).toEqual([`/${mine2.id}`]);
    expect(reaped.containers).toHaveLength(1);
    const other = await b.docker.listContainers({
      all: true,
      filters: { label: [`${HOST_LABEL}=${b.workerHostId}`] },
    });
    expect(other).toHaveLength(1);
    // job-2 is mounted by a live sandbox; job-3 belongs to the other host's live sandbox but
    // sits in our folder with no container of ours, so it goes too.
    expect(existsSync(dirs[0] as string)).toBe(false);
    expect(existsSync(dirs[1] as string)).toBe(true);
    expect(readdirSync(egressRoot)).toEqual([mine2.id]);
    await mine1.dispose();
    await mine2.dispose();
    await theirs.dispose();
  });

  it('honours olderThanMs', async () => {
    const ws = await makeWorkspace();
    const box = await a.provider.create({ image: SANDBOX_IMAGE }, ws);
    const reaped = await reapSandboxes({
      workerHostId: a.workerHostId,
      docker: a.docker,
      olderThanMs: 60 * 60_000,
    });
    expect(reaped.containers).toEqual([]);
    await box.dispose();
    await removeDir(ws);
  });

  it('kills a command that grows the workspace past its bound and reports it', async () => {
    const ws = await makeWorkspace();
    const provider = new DockerSandboxProvider({
      workerHostId: a.workerHostId,
      docker: a.docker,
      diskCheckIntervalMs: 200,
    });
    const box = await provider.create({ image: SANDBOX_IMAGE, workspaceBytes: 20 * MiB }, ws);
    try {
      const r = await box.exec({
        cmd: 'for i in $(seq 1 300); do head -c 1048576 /dev/zero > fill-$i; sleep 0.02; done; echo finished',
        timeoutMs: 60_000,
      });
      expect(r.diskLimitExceeded).toBe(true);
      expect(r.exitCode).toBeNull();
      expect(r.stdout).not.toContain('finished');
      const files = readdirSync(ws).filter((f) => f.startsWith('fill-')).length;
      expect(files).toBeGreaterThan(19);
      expect(files).toBeLessThan(300);
      // Still usable: after cleaning up, commands run again.
      const after = await box.exec({ cmd: 'rm -f fill-*; echo ok' });
      expect(after.stdout).toBe('ok\n');
      expect(after.diskLimitExceeded).toBeUndefined();
    } finally {
      await box.dispose();
      await removeDir(ws);
    }
  });
});
