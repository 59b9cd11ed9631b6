import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withHostLock } from '../../worker/workspace/host-lock.js';
import { git, makeOriginRepo, makeTmp } from './fixtures.js';
import { type GitHttpServer, startGitHttpServer } from './git-http-server.js';

const TOKEN = `ghs_${'L0ckToken'.repeat(4)}`;
const CHILD = join(import.meta.dirname, 'host-lock-child.ts');

function startChild(args: string[]): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

async function outputOf(
  child: ChildProcess,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

describe('host lock (flock) across worker processes', () => {
  let root: string;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    ({ dir: root, cleanup } = await makeTmp('pw-hostlock-'));
  });
  afterAll(async () => {
    await cleanup?.();
  });

  it('never lets two holders run at once', async () => {
    const lockFile = join(root, 'a', 'repo.git.lock');
    const spans: [number, number][] = [];
    const hold = () =>
      withHostLock(lockFile, async () => {
        const start = performance.now();
        await new Promise((resolve) => setTimeout(resolve, 150));
        spans.push([start, performance.now()]);
      });
    await Promise.all([hold(), hold(), hold()]);
    spans.sort((x, y) => x[0] - y[0]);
    for (let i = 1; i < spans.length; i++) {
      expect(spans[i]?.[0]).toBeGreaterThanOrEqual(spans[i - 1]?.[1] ?? Number.POSITIVE_INFINITY);
    }
  });

  it('gives up with a retryable timeout while another process holds it, and is free once that process dies', async () => {
    const lockFile = join(root, 'b', 'repo.git.lock');
    const holder = startChild(['hold', lockFile]);
    const exited = once(holder, 'exit');
    await new Promise<void>((resolve, reject) => {
      holder.stdout?.on('data', (c: Buffer) => c.toString().includes('held') && resolve());
      holder.once('exit', (code) => reject(new Error(`holder exited with ${code}`)));
    });
    await expect(withHostLock(lockFile, async () => 'got it', { waitSeconds: 1 })).rejects.toMatchObject({
      code: 'timeout',
      retryable: true,
    });
    // A crashed worker: no cleanup runs, yet its lock goes with it.
    holder.kill('SIGKILL');
    await exited;
    expect(await withHostLock(lockFile, async () => 'got it', { waitSeconds: 10 })).toBe('got it');
  });

  describe('repository cache', () => {
    let server: GitHttpServer;
    let remoteUrl: string;
    let mainSha: string;

    beforeAll(async () => {
      const origin = makeOriginRepo(join(root, 'remote'), 'acme', 'race');
      mainSha = git(origin.scratch, ['rev-parse', 'main']);
      server = await startGitHttpServer(join(root, 'remote'), TOKEN);
      remoteUrl = `${server.url}/acme/race.git`;
    });
    afterAll(async () => {
      await server?.close();
    });

    it('worker processes filling the same new cache at the same moment all get it', async () => {
      const cacheDir = join(root, 'shared-cache');
      const goFile = join(root, 'go');
      const children = [1, 2, 3, 4].map(() => startChild(['fetch', remoteUrl, TOKEN, cacheDir, goFile]));
      const results = children.map((child) => outputOf(child));
      // Every child up and waiting, then all released at once: the race the lock is for.
      await Promise.all(
        children.map(
          (child) =>
            new Promise<void>((resolve) => {
              let seen = '';
              child.stdout?.on('data', (c: Buffer) => {
                seen += c.toString();
                if (seen.includes('ready')) resolve();
              });
            }),
        ),
      );
      await writeFile(goFile, '');
      for (const r of await Promise.all(results)) {
        expect(r.stderr).toBe('');
        expect(r).toMatchObject({ code: 0, stdout: `ready\n${mainSha}\n` });
      }
    });
  });
});
