import { chmod, chown, mkdir, mkdtemp, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerSandboxProvider } from '../../worker/sandbox/docker-sandbox-provider.js';
import { SANDBOX_LABEL } from '../../worker/sandbox/sandbox-labels.js';
import { makeWorkspace, removeContainersOf, removeDir, SANDBOX_IMAGE, testProvider } from './helpers.js';

// Issue 14 item 10: the egress root (default /tmp/pullwright-egress) holds every sandbox's
// egress socket. Another local user who creates it first, or puts a symlink there, could
// swap a sandbox's socket for their own or read everyone's.
describe('egress root ownership (real Docker)', () => {
  const { workerHostId, docker } = testProvider();
  let base: string;
  let workspace: string;

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'pw-egress-root-'));
    workspace = await makeWorkspace();
  });

  afterAll(async () => {
    await removeContainersOf(docker, workerHostId);
    await removeDir(workspace);
    await removeDir(base);
  });

  const providerAt = (egressRoot: string) =>
    new DockerSandboxProvider({ workerHostId, docker, egressRoot, egressAllowedRanges: [] });

  async function containersOfThisTest(): Promise<number> {
    const list = await docker.listContainers({
      all: true,
      filters: { label: [`${SANDBOX_LABEL}=1`, `dev.pullwright.host=${workerHostId}`] },
    });
    return list.length;
  }

  it('creates a missing root with mode 0700, and an allowlist sandbox still reaches its socket', async () => {
    const root = join(base, 'fresh', 'egress');
    const box = await providerAt(root).create(
      { image: SANDBOX_IMAGE, network: { mode: 'allowlist', hosts: [] } },
      workspace,
    );
    try {
      expect((await stat(root)).mode & 0o777).toBe(0o700);
      // The relay inside (uid 1000) got through to the worker's proxy: a blocked host is answered by it.
      const r = await box.exec({
        cmd: 'curl -sS -m 5 -o /dev/null -w "%{http_code}" http://blocked.example/',
      });
      expect(r.stdout).toBe('403');
      expect((await box.blockedConnections()).map((c) => c.host)).toContain('blocked.example');
    } finally {
      await box.dispose();
    }
  });

  it('tightens a root of ours that others can read to 0700', async () => {
    const root = join(base, 'readable');
    await mkdir(root, { mode: 0o755 });
    await chmod(root, 0o755);
    const box = await providerAt(root).create({ image: SANDBOX_IMAGE }, workspace);
    await box.dispose();
    expect((await stat(root)).mode & 0o777).toBe(0o700);
  });

  const refused: [string, (root: string) => Promise<void>, RegExp][] = [
    [
      'a symlink to a folder someone else prepared',
      async (root) => {
        const elsewhere = join(base, 'attacker-dir');
        await mkdir(elsewhere, { mode: 0o700 });
        await symlink(elsewhere, root);
      },
      /is a symbolic link/,
    ],
    [
      'a folder another user owns',
      async (root) => {
        await mkdir(root, { mode: 0o700 });
        await chown(root, 4242, 4242);
      },
      /belongs to uid 4242/,
    ],
    [
      'a folder writable by other users',
      async (root) => {
        await mkdir(root);
        await chmod(root, 0o777);
      },
      /writable by other users/,
    ],
    [
      'a file',
      async (root) => {
        await writeFile(root, '');
      },
      /not a directory/,
    ],
  ];

  for (const [name, prepare, message] of refused) {
    it(`refuses ${name}, before any container exists`, async () => {
      const root = join(base, name.replace(/\W+/g, '-'));
      await prepare(root);
      const before = await containersOfThisTest();
      await expect(
        providerAt(root).create(
          { image: SANDBOX_IMAGE, network: { mode: 'allowlist', hosts: [] } },
          workspace,
        ),
      ).rejects.toMatchObject({
        code: 'config_invalid',
        retryable: false,
        message: expect.stringMatching(message),
      });
      expect(await containersOfThisTest()).toBe(before);
    });
  }
});
