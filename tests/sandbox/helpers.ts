import { randomBytes } from 'node:crypto';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { DockerSandboxProvider } from '../../worker/sandbox/docker-sandbox-provider.js';
import { HOST_LABEL } from '../../worker/sandbox/sandbox-labels.js';

export const SANDBOX_IMAGE = process.env.SANDBOX_IMAGE ?? 'pullwright-sandbox:latest';

/** A provider with a worker-host id of its own, so tests never touch each other's containers. */
export function testProvider(): { provider: DockerSandboxProvider; workerHostId: string; docker: Docker } {
  const workerHostId = `test-${randomBytes(5).toString('hex')}`;
  const docker = new Docker();
  return { provider: new DockerSandboxProvider({ workerHostId, docker }), workerHostId, docker };
}

/** A workspace folder the sandbox user (uid 1000) can write. */
export async function makeWorkspace(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'pw-ws-'));
  await chown(dir, 1000, 1000);
  return dir;
}

export async function removeContainersOf(docker: Docker, workerHostId: string): Promise<void> {
  const list = await docker.listContainers({
    all: true,
    filters: { label: [`${HOST_LABEL}=${workerHostId}`] },
  });
  await Promise.all(
    list.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined),
    ),
  );
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
