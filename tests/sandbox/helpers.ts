import { randomBytes } from 'node:crypto';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll } from 'vitest';
import type { DockerSandbox } from '../../worker/sandbox/docker-sandbox.js';
import { DockerSandboxProvider } from '../../worker/sandbox/docker-sandbox-provider.js';
import type { SandboxPolicyInput } from '../../worker/sandbox/sandbox.js';
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

export interface SandboxFixture extends ReturnType<typeof testProvider> {
  /** The describe block's sandbox (started in beforeAll). */
  sandbox(): DockerSandbox;
  workspace(): string;
}

/**
 * One sandbox for a describe block: a provider of its own, a workspace, the sandbox started
 * in beforeAll (`before` runs first, `prepare` on the new sandbox), everything removed in afterAll.
 */
export function useSandbox(
  policy: () => SandboxPolicyInput,
  hooks: { before?: () => Promise<void>; prepare?: (sandbox: DockerSandbox) => Promise<void> } = {},
): SandboxFixture {
  const fixture = testProvider();
  let workspace: string | undefined;
  let sandbox: DockerSandbox | undefined;
  beforeAll(async () => {
    await hooks.before?.();
    workspace = await makeWorkspace();
    sandbox = await fixture.provider.create(policy(), workspace);
    await hooks.prepare?.(sandbox);
  });
  afterAll(async () => {
    await sandbox?.dispose();
    await removeContainersOf(fixture.docker, fixture.workerHostId);
    if (workspace) await removeDir(workspace);
  });
  const need = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('The sandbox fixture is used before beforeAll ran.');
    return value;
  };
  return { ...fixture, sandbox: () => need(sandbox), workspace: () => need(workspace) };
}
