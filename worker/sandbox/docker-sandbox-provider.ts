import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, posix, resolve } from 'node:path';
import type { Duplex } from 'node:stream';
import Docker from 'dockerode';
import { PullwrightError } from '../../src/errors.js';
import { createSilentLogger, type Logger } from '../../src/logger.js';
import { CappedBuffer, DockerStreamDemuxer } from './docker-stream.js';
import { EgressProxy } from './egress-proxy.js';
import {
  type BlockedConnection,
  type ExecOptions,
  type ExecResult,
  NetworkPolicy,
  type Sandbox,
  SandboxPolicy,
  type SandboxPolicyInput,
  type SandboxProvider,
} from './sandbox.js';
import {
  EGRESS_RELAY_SOURCE,
  EXEC_MARKER_VAR,
  KILL_TREE_SCRIPT,
  OOM_COUNT_SCRIPT,
  WRITE_FILE_SCRIPT,
} from './sandbox-scripts.js';

/** Labels every sandbox container carries, so the reaper can find a crashed worker's leftovers. */
export const SANDBOX_LABEL = 'dev.pullwright.sandbox';
export const HOST_LABEL = 'dev.pullwright.host';
export const JOB_LABEL = 'dev.pullwright.job';
export const WORKSPACE_LABEL = 'dev.pullwright.workspace';
export const EGRESS_DIR_LABEL = 'dev.pullwright.egress-dir';

export const SANDBOX_WORKDIR = '/workspace';
const HOME = '/home/agent';
const EGRESS_MOUNT = '/run/pullwright';
const AGENT_USER = '1000:1000';
const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;
const MAX_READ_FILE_BYTES = 64 * 1024 * 1024;
const PROXY_URL = 'http://127.0.0.1:3128';
/** Image label saying the exec wrapper `sandbox-image/pw-exec.c` is installed. */
export const PW_EXEC_LABEL = 'dev.pullwright.pw-exec';
const PW_EXEC_PATH = '/usr/local/bin/pw-exec';

export interface DockerSandboxProviderOptions {
  /** Identifies this worker host in container labels; the reaper removes only its own. */
  workerHostId: string;
  /** Defaults to the engine named by DOCKER_HOST or the local socket. */
  docker?: Docker;
  log?: Logger;
  /** Host folder for the per-sandbox egress sockets (allowlist policy). */
  egressRoot?: string;
  /** How often the workspace size is checked while a command runs. */
  diskCheckIntervalMs?: number;
}

function envList(env: Record<string, string>): string[] {
  return Object.entries(env).map(([k, v]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) || k === EXEC_MARKER_VAR)
      throw new PullwrightError('input_invalid', `Invalid environment variable name: ${k}`);
    return `${k}=${v}`;
  });
}

function hostDiskUsage(path: string): Promise<number> {
  // Apparent size, so a sparse `truncate -s 100G` counts: the patch extraction would read it all.
  return new Promise((resolvePromise) => {
    execFile(
      'du',
      ['-sx', '--apparent-size', '-B1', path],
      { timeout: 30_000, maxBuffer: 1024 * 1024 },
      (_err, stdout) => {
        const n = Number.parseInt(String(stdout).split(/\s/)[0] ?? '', 10);
        resolvePromise(Number.isFinite(n) ? n : 0);
      },
    );
  });
}

interface RawExecInput {
  cmd: string[];
  env?: string[];
  cwd?: string;
  stdin?: Buffer;
  maxOutputBytes: number;
}

interface RawExecOutput {
  exitCode: number | null;
  stdout: CappedBuffer;
  stderr: CappedBuffer;
}

/**
 * Runs one docker exec and collects its demultiplexed output. `stop` (when it
 * fires) gives the command a moment to be killed by the caller, then drops the
 * connection: a background process still holding stdout must not keep us waiting.
 */
async function rawExec(
  container: Docker.Container,
  input: RawExecInput,
  stop?: AbortSignal,
): Promise<RawExecOutput> {
  const exec = await container.exec({
    Cmd: input.cmd,
    Env: input.env,
    WorkingDir: input.cwd,
    User: AGENT_USER,
    AttachStdin: input.stdin !== undefined,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
  });
  const stream: Duplex = await exec.start({ hijack: true, stdin: input.stdin !== undefined });
  const stdout = new CappedBuffer(input.maxOutputBytes);
  const stderr = new CappedBuffer(input.maxOutputBytes);
  const demux = new DockerStreamDemuxer(stdout, stderr);
  let poll: NodeJS.Timeout | undefined;
  let grace: NodeJS.Timeout | undefined;
  const onStop = () => {
    grace = setTimeout(() => stream.destroy(), 5_000);
  };
  try {
    await new Promise<void>((resolvePromise, reject) => {
      stream.on('data', (chunk: Buffer) => demux.write(chunk));
      stream.on('end', () => resolvePromise());
      stream.on('close', () => resolvePromise());
      stream.on('error', (err) => {
        if (stream.destroyed) resolvePromise();
        else reject(err);
      });
      if (stop) {
        if (stop.aborted) onStop();
        else stop.addEventListener('abort', onStop, { once: true });
      }
      if (input.stdin !== undefined) stream.end(input.stdin);
      // The stream stays open while any descendant holds stdout (`server &`); once the
      // command itself has exited, stop waiting for those.
      let checking = false;
      poll = setInterval(() => {
        if (checking) return;
        checking = true;
        exec
          .inspect()
          .then((info) => {
            if (!info.Running) setTimeout(() => stream.destroy(), 200);
          })
          .catch(() => undefined)
          .finally(() => {
            checking = false;
          });
      }, 1_000);
    });
  } finally {
    clearInterval(poll);
    clearTimeout(grace);
    stop?.removeEventListener('abort', onStop);
  }
  let info = await exec.inspect();
  for (let i = 0; i < 50 && info.Running; i++) {
    await new Promise((r) => setTimeout(r, 20));
    info = await exec.inspect();
  }
  return { exitCode: info.Running ? null : info.ExitCode, stdout, stderr };
}

type ActiveExec = {
  marker: string;
  /** Workspace size when the command started, if it started over the bound; else 0. */
  startBytes: number;
  diskLimitExceeded: boolean;
  kill: () => void;
  /** Settles when the kill (started by timeout, abort or the disk watchdog) is done. */
  killed?: Promise<void>;
};

export class DockerSandbox implements Sandbox {
  readonly workdir = SANDBOX_WORKDIR;
  private disposed = false;
  private oomCount = 0;
  private network: NetworkPolicy;
  private readonly active = new Set<ActiveExec>();
  private diskTimer: NodeJS.Timeout | undefined;
  private diskBaseline: Promise<number>;
  private relayRunning = false;

  constructor(
    private readonly docker: Docker,
    private readonly container: Docker.Container,
    readonly id: string,
    private readonly policy: SandboxPolicy,
    private readonly workspaceHostPath: string,
    private readonly egress: EgressProxy,
    private readonly log: Logger,
    private readonly diskCheckIntervalMs: number,
    initialNetwork: NetworkPolicy,
    private readonly hasPwExec: boolean,
  ) {
    this.network = initialNetwork;
    this.diskBaseline = hostDiskUsage(workspaceHostPath);
  }

  private assertLive(): void {
    if (this.disposed) throw new PullwrightError('sandbox_failed', 'The sandbox was disposed.');
  }

  private resolvePath(path: string): string {
    return isAbsolute(path) ? posix.normalize(path) : posix.join(SANDBOX_WORKDIR, path);
  }

  private networkEnv(): string[] {
    if (this.network.mode !== 'allowlist') return [];
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

  async exec(options: ExecOptions): Promise<ExecResult> {
    this.assertLive();
    const started = Date.now();
    const cmd = typeof options.cmd === 'string' ? ['bash', '-lc', options.cmd] : options.cmd;
    if (cmd.length === 0) throw new PullwrightError('input_invalid', 'Empty command.');
    const maxOutputBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    // With the wrapper, output past the cap is dropped inside the container and never
    // crosses the Docker connection; without it, the host drops it as it arrives.
    const wrapped = this.hasPwExec ? [PW_EXEC_PATH, String(maxOutputBytes), '--', ...cmd] : cmd;
    const marker = randomBytes(9).toString('hex');
    const env = [...this.networkEnv(), ...envList(options.env ?? {}), `${EXEC_MARKER_VAR}=${marker}`];
    const timeoutMs = options.timeoutMs ?? this.policy.execTimeoutMs;
    const stop = new AbortController();
    let timedOut = false;
    let aborted = false;
    const active: ActiveExec = {
      marker,
      startBytes: this.overLimit ? await hostDiskUsage(this.workspaceHostPath) : 0,
      diskLimitExceeded: false,
      kill: () => {
        if (stop.signal.aborted) return;
        stop.abort();
        active.killed = this.killTree(marker);
      },
    };
    const timer = setTimeout(() => {
      timedOut = true;
      active.kill();
    }, timeoutMs);
    const onAbort = () => {
      aborted = true;
      active.kill();
    };
    if (options.signal?.aborted) {
      clearTimeout(timer);
      throw new PullwrightError('cancelled', 'The command was cancelled before it started.');
    }
    options.signal?.addEventListener('abort', onAbort, { once: true });
    this.active.add(active);
    this.ensureDiskWatch();
    let out: RawExecOutput;
    try {
      out = await rawExec(
        this.container,
        {
          cmd: wrapped,
          env,
          cwd: this.resolvePath(options.cwd ?? '.'),
          stdin: options.stdin === undefined ? undefined : Buffer.from(options.stdin),
          maxOutputBytes,
        },
        stop.signal,
      );
    } catch (err) {
      throw new PullwrightError('sandbox_failed', 'The sandbox could not run the command.', { cause: err });
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      this.active.delete(active);
      if (this.active.size === 0) this.stopDiskWatch();
      // Return only once the tree is gone, so the next command finds a quiet sandbox.
      await active.killed;
    }
    if (aborted) throw new PullwrightError('cancelled', 'The command was cancelled.', { retryable: false });
    const killed = timedOut || active.diskLimitExceeded;
    const oomKilled = !killed && out.exitCode === 137 && (await this.oomHappened());
    return {
      exitCode: killed || oomKilled ? null : out.exitCode,
      stdout: out.stdout.toBuffer().toString('utf8'),
      stderr: out.stderr.toBuffer().toString('utf8'),
      stdoutTruncated: out.stdout.truncated,
      stderrTruncated: out.stderr.truncated,
      durationMs: Date.now() - started,
      timedOut,
      oomKilled,
      ...(active.diskLimitExceeded ? { diskLimitExceeded: true } : {}),
    };
  }

  /** A SIGKILL (137) counts as out-of-memory only when the container's cgroup recorded a new OOM kill. */
  private async oomHappened(): Promise<boolean> {
    try {
      const out = await rawExec(this.container, {
        cmd: ['bash', '-c', OOM_COUNT_SCRIPT],
        maxOutputBytes: 64,
      });
      const count = Number.parseInt(out.stdout.toBuffer().toString('utf8').trim(), 10);
      if (!Number.isFinite(count) || count < 0) return false;
      const grew = count > this.oomCount;
      this.oomCount = count;
      return grew;
    } catch {
      return false;
    }
  }

  /**
   * Kills one command's whole process tree from a second exec. If that exec cannot
   * start (a fork bomb holds every pid the limit allows), the container is restarted:
   * every process dies, the workspace stays, and the sandbox remains usable.
   */
  private async killTree(marker: string): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const out = await rawExec(this.container, {
          cmd: ['bash', '-c', KILL_TREE_SCRIPT, 'pw-kill', marker],
          maxOutputBytes: 4096,
        });
        if (out.exitCode === 0) return;
      } catch {
        // fall through and retry
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    if (this.disposed) return;
    this.log.warn({ sandboxId: this.id }, 'Process tree kill failed; restarting the sandbox container');
    try {
      await this.container.restart({ t: 0 });
      this.relayRunning = false;
      if (this.network.mode === 'allowlist') await this.startRelay();
    } catch (err) {
      this.log.error({ err, sandboxId: this.id }, 'Sandbox restart failed');
    }
  }

  private ensureDiskWatch(): void {
    if (this.diskTimer) return;
    this.diskTimer = setInterval(() => void this.checkDisk(), this.diskCheckIntervalMs);
  }

  private stopDiskWatch(): void {
    clearInterval(this.diskTimer);
    this.diskTimer = undefined;
  }

  private checking = false;
  /** Whether the last measurement found the workspace over its bound. */
  private overLimit = false;
  private async checkDisk(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const [base, now] = await Promise.all([this.diskBaseline, hostDiskUsage(this.workspaceHostPath)]);
      this.overLimit = now - base > this.policy.workspaceBytes;
      if (!this.overLimit) return;
      this.log.warn(
        { sandboxId: this.id, bytes: now, limit: base + this.policy.workspaceBytes },
        'Workspace over its size limit; killing running commands',
      );
      // A command started while the workspace was already over the bound is stopped only
      // if it grows it further, so the agent can still look around and clean up (`rm`).
      for (const a of this.active) {
        if (now <= a.startBytes) continue;
        a.diskLimitExceeded = true;
        a.kill();
      }
    } finally {
      this.checking = false;
    }
  }

  async readFile(path: string): Promise<Buffer> {
    this.assertLive();
    const target = this.resolvePath(path);
    const out = await rawExec(this.container, {
      cmd: ['cat', '--', target],
      cwd: SANDBOX_WORKDIR,
      maxOutputBytes: MAX_READ_FILE_BYTES,
    });
    if (out.exitCode !== 0) {
      const message = out.stderr.toBuffer().toString('utf8').trim();
      const code = /No such file/.test(message) ? 'not_found' : 'sandbox_failed';
      throw new PullwrightError(code, `Cannot read ${path}: ${message}`, { retryable: false });
    }
    if (out.stdout.truncated)
      throw new PullwrightError('input_invalid', `File ${path} is larger than ${MAX_READ_FILE_BYTES} bytes.`);
    return out.stdout.toBuffer();
  }

  async writeFile(path: string, data: string | Buffer): Promise<void> {
    this.assertLive();
    // Written by uid 1000 through an exec, so the file is owned like everything the agent makes.
    const out = await rawExec(this.container, {
      cmd: ['bash', '-c', WRITE_FILE_SCRIPT, 'pw-write', this.resolvePath(path)],
      cwd: SANDBOX_WORKDIR,
      stdin: Buffer.from(data),
      maxOutputBytes: 4096,
    });
    if (out.exitCode !== 0) {
      throw new PullwrightError(
        'sandbox_failed',
        `Cannot write ${path}: ${out.stderr.toBuffer().toString('utf8').trim()}`,
        { retryable: false },
      );
    }
  }

  async blockedConnections(): Promise<BlockedConnection[]> {
    return this.egress.blockedConnections();
  }

  async setNetwork(input: NetworkPolicy): Promise<void> {
    this.assertLive();
    const next = NetworkPolicy.parse(input);
    const wasOpen = this.network.mode === 'open';
    if (next.mode === 'open' && !wasOpen) {
      await this.docker.getNetwork('bridge').connect({ Container: this.container.id });
    } else if (next.mode !== 'open' && wasOpen) {
      await this.docker.getNetwork('bridge').disconnect({ Container: this.container.id, Force: true });
    }
    if (next.mode === 'allowlist') {
      this.egress.setAllowlist(next.hosts);
      await this.egress.start();
      await this.startRelay();
    } else {
      this.egress.setAllowlist([]);
      await this.egress.stop();
    }
    this.network = next;
    this.log.info({ sandboxId: this.id, mode: next.mode }, 'Sandbox network policy set');
  }

  /** Starts the in-sandbox relay to the egress socket and waits until it accepts connections. */
  private async startRelay(): Promise<void> {
    if (this.relayRunning) return;
    const exec = await this.container.exec({
      Cmd: ['node', '-e', EGRESS_RELAY_SOURCE, join(EGRESS_MOUNT, 'egress.sock')],
      Env: [`${EXEC_MARKER_VAR}=egress-relay`],
      User: AGENT_USER,
      WorkingDir: '/',
      AttachStdout: false,
      AttachStderr: false,
    });
    await exec.start({ Detach: true });
    for (let i = 0; i < 100; i++) {
      const probe = await rawExec(this.container, {
        cmd: ['bash', '-c', 'exec 3<>/dev/tcp/127.0.0.1/3128'],
        maxOutputBytes: 1024,
      });
      if (probe.exitCode === 0) {
        this.relayRunning = true;
        return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new PullwrightError('sandbox_failed', 'The egress relay did not start in the sandbox.');
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.stopDiskWatch();
    for (const a of this.active) a.kill();
    try {
      await this.container.remove({ force: true, v: true });
    } catch (err) {
      const status = (err as { statusCode?: number }).statusCode;
      if (status !== 404 && status !== 409)
        this.log.warn({ err, sandboxId: this.id }, 'Sandbox remove failed');
    }
    await this.egress.stop().catch(() => undefined);
    await rm(this.egress.dir, { recursive: true, force: true }).catch(() => undefined);
    this.log.info({ sandboxId: this.id }, 'Sandbox disposed');
  }
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
  private readonly pwExecByImage = new Map<string, Promise<boolean>>();

  constructor(private readonly options: DockerSandboxProviderOptions) {
    this.docker = options.docker ?? new Docker();
    this.log = options.log ?? createSilentLogger();
    this.egressRoot = options.egressRoot ?? join(tmpdir(), 'pullwright-egress');
    this.diskCheckIntervalMs = options.diskCheckIntervalMs ?? 1_000;
  }

  /** Images built FROM ours inherit the label; any other image falls back to host-side capping. */
  private imageHasPwExec(image: string): Promise<boolean> {
    let known = this.pwExecByImage.get(image);
    if (!known) {
      known = this.docker
        .getImage(image)
        .inspect()
        .then((info) => info.Config?.Labels?.[PW_EXEC_LABEL] === '1')
        .catch(() => false);
      this.pwExecByImage.set(image, known);
    }
    return known;
  }

  async create(policyInput: SandboxPolicyInput, workspaceHostPath: string): Promise<DockerSandbox> {
    const policy = SandboxPolicy.parse(policyInput);
    const hasPwExec = this.imageHasPwExec(policy.image);
    const workspace = resolve(workspaceHostPath);
    const name = `pw-sbx-${randomBytes(6).toString('hex')}`;
    const egressDir = join(this.egressRoot, name);
    await mkdir(egressDir, { recursive: true, mode: 0o755 });
    const labels: Record<string, string> = {
      ...policy.labels,
      [SANDBOX_LABEL]: '1',
      [HOST_LABEL]: this.options.workerHostId,
      [WORKSPACE_LABEL]: workspace,
      [EGRESS_DIR_LABEL]: egressDir,
    };
    let container: Docker.Container | undefined;
    try {
      container = await this.docker.createContainer({
        name,
        Image: policy.image,
        Labels: labels,
        User: AGENT_USER,
        WorkingDir: SANDBOX_WORKDIR,
        // Only what we choose: nothing of the worker's own environment (tokens, keys) is passed.
        Env: [`HOME=${HOME}`, 'LANG=C.UTF-8'],
        Entrypoint: ['/usr/bin/tini', '--'],
        Cmd: ['sleep', 'infinity'],
        Tty: false,
        OpenStdin: false,
        NetworkDisabled: false,
        HostConfig: {
          // Bridge at creation so a later setNetwork('open') can connect; disconnected
          // below before start unless the policy is open.
          NetworkMode: 'bridge',
          Mounts: [
            { Type: 'bind', Source: workspace, Target: SANDBOX_WORKDIR, ReadOnly: false },
            { Type: 'bind', Source: egressDir, Target: EGRESS_MOUNT, ReadOnly: true },
          ],
          ReadonlyRootfs: true,
          Tmpfs: {
            '/tmp': `rw,nosuid,nodev,size=${policy.tmpBytes},mode=1777`,
            // Package managers keep their caches in HOME (~/.npm, ~/.cache/pip) during setup.
            [HOME]: `rw,nosuid,nodev,size=${policy.tmpBytes},uid=1000,gid=1000,mode=0755`,
          },
          CapDrop: ['ALL'],
          SecurityOpt: ['no-new-privileges:true'],
          Privileged: false,
          Memory: policy.memoryBytes,
          MemorySwap: policy.memoryBytes,
          MemorySwappiness: 0,
          NanoCpus: Math.round(policy.cpus * 1e9),
          PidsLimit: policy.pidsLimit,
          IpcMode: 'private',
          Ulimits: [{ Name: 'nofile', Soft: 4096, Hard: 4096 }],
          AutoRemove: false,
          RestartPolicy: { Name: 'no' },
        },
      });
      if (policy.network.mode !== 'open') {
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
    const egress = new EgressProxy(egressDir, this.log);
    const sandbox = new DockerSandbox(
      this.docker,
      container,
      name,
      policy,
      workspace,
      egress,
      this.log,
      this.diskCheckIntervalMs,
      policy.network.mode === 'open' ? policy.network : { mode: 'none' },
      await hasPwExec,
    );
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
