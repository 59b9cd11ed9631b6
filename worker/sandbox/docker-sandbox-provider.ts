import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Docker from 'dockerode';
import { parseEgressRanges } from '../../src/domain/egress-address-policy.js';
import { PullwrightError } from '../../src/errors.js';
import { createSilentLogger, type Logger } from '../../src/logger.js';
import { containerSpec, staysOnBridgeAtStart } from './container-spec.js';
import { DockerSandbox, EXEC_SERVER_LABEL, PW_EXEC_LABEL } from './docker-sandbox.js';
import { EgressProxy } from './egress-proxy.js';
import { ensurePrivateDir } from './private-dir.js';
import { SandboxPolicy, type SandboxPolicyInput, type SandboxProvider } from './sandbox.js';
import { sandboxLabels } from './sandbox-labels.js';

// Kept so existing imports from this file keep working; new code imports from the files named.
export { SANDBOX_WORKDIR } from './container-spec.js';
export { DockerSandbox, EXEC_SERVER_LABEL, PW_EXEC_LABEL } from './docker-sandbox.js';
export { EGRESS_DIR_LABEL, HOST_LABEL, JOB_LABEL, SANDBOX_LABEL, WORKSPACE_LABEL } from './sandbox-labels.js';

interface ImageFeatures {
  pwExec: boolean;
  execServer: boolean;
}

/** Default host folder for the per-sandbox egress sockets; the reaper cleans under it. */
export const DEFAULT_EGRESS_ROOT = join(tmpdir(), 'pullwright-egress');

export interface DockerSandboxProviderOptions {
  /** Identifies this worker host in container labels; the reaper removes only its own. */
  workerHostId: string;
  /** Defaults to the engine named by DOCKER_HOST or the local socket. */
  docker?: Docker;
  log?: Logger;
  /**
   * Host folder for the per-sandbox egress sockets (allowlist policy). Created 0700; a
   * root that is a symlink, not this user's or writable by others is refused. It must be
   * the same path on the host running the Docker engine (the sockets are bind-mounted).
   */
  egressRoot?: string;
  /** How often the workspace size is checked while a command runs. */
  diskCheckIntervalMs?: number;
  /**
   * Internal address ranges (CIDR or single addresses) that `allowlist` sandboxes may
   * reach through the egress proxy, e.g. a package mirror on the private network.
   * Default none: loopback, private, link-local and the like are refused (see
   * src/domain/egress-address-policy.ts); cloud metadata addresses are refused regardless.
   */
  egressAllowedRanges?: readonly string[];
}

/**
 * Runs sandboxes as hardened local (or `DOCKER_HOST`) Docker containers. See the
 * README next to this file for each hardening choice and the threat it stops.
 */
export class DockerSandboxProvider implements SandboxProvider {
  readonly docker: Docker;
  private readonly log: Logger;
  private readonly egressRoot: string;
  private readonly diskCheckIntervalMs: number;
  private readonly featuresByImage = new Map<string, Promise<ImageFeatures>>();

  constructor(private readonly options: DockerSandboxProviderOptions) {
    this.docker = options.docker ?? new Docker();
    this.log = options.log ?? createSilentLogger();
    this.egressRoot = options.egressRoot ?? DEFAULT_EGRESS_ROOT;
    this.diskCheckIntervalMs = options.diskCheckIntervalMs ?? 1_000;
    // A typo in the operator's ranges is a configuration error at start, not a refusal mid-run.
    parseEgressRanges(options.egressAllowedRanges ?? []);
  }

  /**
   * Images built FROM ours inherit the labels; any other image falls back to host-side
   * capping and Docker exec for every command.
   */
  private imageFeatures(image: string): Promise<ImageFeatures> {
    let known = this.featuresByImage.get(image);
    if (!known) {
      known = this.docker
        .getImage(image)
        .inspect()
        .then((info) => ({
          pwExec: info.Config?.Labels?.[PW_EXEC_LABEL] === '1',
          execServer: info.Config?.Labels?.[EXEC_SERVER_LABEL] === '1',
        }))
        .catch(() => ({ pwExec: false, execServer: false }));
      this.featuresByImage.set(image, known);
    }
    return known;
  }

  async imageId(image: string): Promise<string> {
    const info = await this.docker.getImage(image).inspect();
    return info.Id;
  }

  async create(policyInput: SandboxPolicyInput, workspaceHostPath: string): Promise<DockerSandbox> {
    const policy = SandboxPolicy.parse(policyInput);
    const workspace = resolve(workspaceHostPath);
    const name = `pw-sbx-${randomBytes(6).toString('hex')}`;
    const egressDir = join(this.egressRoot, name);
    // Before anything is created: a reserved label is the caller's mistake, not a sandbox failure.
    const labels = sandboxLabels(policy.labels, {
      workerHostId: this.options.workerHostId,
      workspace,
      egressDir,
    });
    // Checked on every create: a root another user controls is refused before any container exists.
    await ensurePrivateDir(this.egressRoot, 'egress root');
    const features = this.imageFeatures(policy.image);
    await mkdir(egressDir, { mode: 0o755 });
    let container: Docker.Container | undefined;
    try {
      container = await this.docker.createContainer({
        name,
        ...containerSpec(policy, { workspace, egressDir }, labels),
      });
      if (!staysOnBridgeAtStart(policy.network)) {
        await this.docker.getNetwork('bridge').disconnect({ Container: container.id, Force: true });
      }
      await container.start();
    } catch (err) {
      if (container) await container.remove({ force: true }).catch(() => undefined);
      await rm(egressDir, { recursive: true, force: true }).catch(() => undefined);
      throw new PullwrightError('sandbox_failed', 'The sandbox container could not be started.', {
        cause: err,
        retryable: true,
      });
    }
    const sandbox = new DockerSandbox({
      docker: this.docker,
      container,
      id: name,
      policy,
      workspaceHostPath: workspace,
      egress: new EgressProxy(egressDir, this.log, { allowedRanges: this.options.egressAllowedRanges }),
      log: this.log,
      diskCheckIntervalMs: this.diskCheckIntervalMs,
      initialNetwork: staysOnBridgeAtStart(policy.network) ? policy.network : { mode: 'none' },
      hasPwExec: (await features).pwExec,
      hasExecServer: (await features).execServer,
    });
    if (policy.network.mode === 'allowlist') {
      try {
        await sandbox.setNetwork(policy.network);
      } catch (err) {
        await sandbox.dispose();
        throw err;
      }
    }
    this.log.info({ sandboxId: name, network: policy.network.mode }, 'Sandbox started');
    return sandbox;
  }
}
