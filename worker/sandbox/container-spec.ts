import type Docker from 'dockerode';
import type { NetworkPolicy, SandboxPolicy } from './sandbox.js';

export const SANDBOX_WORKDIR = '/workspace';
export const SANDBOX_HOME = '/home/agent';
/** Read-only mount of the per-sandbox host folder holding only the egress socket. */
export const EGRESS_MOUNT = '/run/pullwright';
/** Every process in the sandbox, execs included, runs as this uid:gid (never root). */
export const AGENT_USER = '1000:1000';
/** Variables naming a file a shell runs before any command; never set inside a sandbox. */
export const STARTUP_FILE_VARS: readonly string[] = ['BASH_ENV', 'ENV'];
/** The image's init; reaps zombies so killed trees do not pile up. */
const INIT = '/usr/bin/tini';

export interface SandboxMounts {
  /** Absolute host path of the credential-free working copy. */
  workspace: string;
  /** Absolute host path of the folder holding the egress socket. */
  egressDir: string;
}

/**
 * The Docker create options for one sandbox, as data: every hardening choice is a
 * field here (and asserted by tests/sandbox/container-spec.test.ts without Docker).
 * The README next to this file names the threat each one stops.
 */
export function containerSpec(
  policy: SandboxPolicy,
  mounts: SandboxMounts,
  labels: Record<string, string>,
): Docker.ContainerCreateOptions {
  return {
    Image: policy.image,
    Labels: { ...labels },
    User: AGENT_USER,
    WorkingDir: SANDBOX_WORKDIR,
    // Only what we choose: nothing of the worker's own environment (tokens, keys) is passed.
    // BASH_ENV and ENV are emptied (an empty value is ignored) so an image that sets them
    // cannot make every non-interactive bash or sh first run a file the agent wrote in HOME.
    Env: [`HOME=${SANDBOX_HOME}`, 'LANG=C.UTF-8', ...STARTUP_FILE_VARS.map((name) => `${name}=`)],
    Entrypoint: [INIT, '--'],
    Cmd: ['sleep', 'infinity'],
    Tty: false,
    OpenStdin: false,
    NetworkDisabled: false,
    HostConfig: {
      // Bridge at creation so a later setNetwork('open') can connect; the provider
      // disconnects it before start unless `staysOnBridgeAtStart` says otherwise.
      NetworkMode: 'bridge',
      Mounts: [
        { Type: 'bind', Source: mounts.workspace, Target: SANDBOX_WORKDIR, ReadOnly: false },
        { Type: 'bind', Source: mounts.egressDir, Target: EGRESS_MOUNT, ReadOnly: true },
      ],
      ReadonlyRootfs: true,
      Tmpfs: {
        '/tmp': `rw,nosuid,nodev,size=${policy.tmpBytes},mode=1777`,
        // Package managers keep their caches in HOME (~/.npm, ~/.cache/pip) during setup.
        [SANDBOX_HOME]: `rw,nosuid,nodev,size=${policy.tmpBytes},uid=1000,gid=1000,mode=0755`,
      },
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges:true'],
      Privileged: false,
      Memory: policy.memoryBytes,
      // Equal to Memory: no swap, so the memory limit is the real limit.
      MemorySwap: policy.memoryBytes,
      MemorySwappiness: 0,
      NanoCpus: Math.round(policy.cpus * 1e9),
      PidsLimit: policy.pidsLimit,
      IpcMode: 'private',
      Ulimits: [{ Name: 'nofile', Soft: 4096, Hard: 4096 }],
      AutoRemove: false,
      RestartPolicy: { Name: 'no' },
    },
  };
}

/**
 * Only `open` keeps the default bridge when the container starts; `none` and
 * `allowlist` start with loopback only (allowlist traffic leaves through the
 * egress socket, never through an interface).
 */
export function staysOnBridgeAtStart(network: NetworkPolicy): boolean {
  return network.mode === 'open';
}
