import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { PullwrightError } from '../../src/errors.js';
import { AGENT_USER, EGRESS_MOUNT } from './container-spec.js';
import { rawExec } from './docker-exec.js';
import { EGRESS_RELAY_SOURCE, EXEC_MARKER_VAR } from './sandbox-scripts.js';

/** Where the relay listens inside the sandbox; every exec's proxy variables point here. */
export const PROXY_URL = 'http://127.0.0.1:3128';

/** Proxy variables for an exec under the `allowlist` policy (both spellings: tools differ). */
export function proxyEnv(): string[] {
  const noProxy = 'localhost,127.0.0.1,::1';
  return [
    `HTTP_PROXY=${PROXY_URL}`,
    `HTTPS_PROXY=${PROXY_URL}`,
    `http_proxy=${PROXY_URL}`,
    `https_proxy=${PROXY_URL}`,
    `NO_PROXY=${noProxy}`,
    `no_proxy=${noProxy}`,
  ];
}

/**
 * Starts the in-sandbox relay (127.0.0.1:3128 → the mounted egress socket) as a
 * detached exec and waits until it accepts connections.
 */
export async function startEgressRelay(container: Docker.Container): Promise<void> {
  const exec = await container.exec({
    Cmd: ['node', '-e', EGRESS_RELAY_SOURCE, join(EGRESS_MOUNT, 'egress.sock')],
    Env: [`${EXEC_MARKER_VAR}=egress-relay`],
    User: AGENT_USER,
    WorkingDir: '/',
    AttachStdout: false,
    AttachStderr: false,
  });
  // Even detached, dockerode hands back the HTTP response of `exec start` as a stream.
  // Nobody reads it, so its socket stayed open (paused) until the engine's idle timeout,
  // keeping a finished `pullwright run` alive for about 300 s (bug 8). The relay does
  // not depend on that connection, so it is closed at once.
  const response = (await exec.start({ Detach: true })) as Readable | undefined;
  response?.destroy?.();
  for (let i = 0; i < 100; i++) {
    const probe = await rawExec(container, {
      cmd: ['bash', '-c', 'exec 3<>/dev/tcp/127.0.0.1/3128'],
      maxOutputBytes: 1024,
    });
    if (probe.exitCode === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new PullwrightError('sandbox_failed', 'The egress relay did not start in the sandbox.');
}
