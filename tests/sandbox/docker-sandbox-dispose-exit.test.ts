import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeWorkspace, removeContainersOf, removeDir, SANDBOX_IMAGE, testProvider } from './helpers.js';

const CHILD = fileURLToPath(new URL('./fixtures/dispose-exit-child.ts', import.meta.url));

/** Runs the child; resolves with how long it lived after printing `disposed`, or null if it had to be killed. */
function runChild(
  mode: string,
  workerHostId: string,
  workspace: string,
): Promise<{ out: string; lingerMs: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', CHILD, mode, workerHostId, workspace, SANDBOX_IMAGE],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let disposedAt: number | undefined;
    let killer: NodeJS.Timeout | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      if (disposedAt === undefined && out.includes('disposed')) {
        disposedAt = Date.now();
        killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(killer);
      if (disposedAt === undefined) reject(new Error(`child exited (${code}) before dispose: ${out}`));
      else resolve({ out, lingerMs: code === 0 ? Date.now() - disposedAt : null });
    });
  });
}

// Bug 8: `pullwright run` with an allowlist lingered ~300 s after the run, because the
// detached exec that starts the egress relay left its Docker connection open.
describe('DockerSandbox dispose leaves nothing that keeps the process alive (real Docker)', () => {
  const { workerHostId, docker } = testProvider();
  let workspace: string;

  beforeAll(async () => {
    workspace = await makeWorkspace();
  });

  afterAll(async () => {
    await removeContainersOf(docker, workerHostId);
    await removeDir(workspace);
  });

  it.each(['none', 'allowlist'])(
    'a process that used a %s sandbox exits within a few seconds of dispose',
    async (mode) => {
      const { out, lingerMs } = await runChild(mode, workerHostId, workspace);
      expect(out).toContain('disposed 0');
      expect(lingerMs).not.toBeNull();
      expect(lingerMs as number).toBeLessThan(5_000);
    },
  );
});
