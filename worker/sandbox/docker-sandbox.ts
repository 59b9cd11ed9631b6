import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { isAbsolute, posix } from 'node:path';
import type Docker from 'dockerode';
import { PullwrightError } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';
import { countOomKills, killProcessTree } from './container-processes.js';
import { SANDBOX_WORKDIR } from './container-spec.js';
import { DiskWatchdog, type WatchedCommand } from './disk-watchdog.js';
import { execEnv, type RawExecOutput, rawExec } from './docker-exec.js';
import { assertSpawnable, dockerSpawn } from './docker-spawn.js';
import type { EgressProxy } from './egress-proxy.js';
import { proxyEnv, startEgressRelay } from './egress-relay.js';
import { ExecServerClient } from './exec-server.js';
import {
  type BlockedConnection,
  type ExecOptions,
  type ExecResult,
  NetworkPolicy,
  type Sandbox,
  type SandboxPolicy,
  type SandboxProcess,
  type SpawnOptions,
} from './sandbox.js';
import { EXEC_MARKER_VAR, WRITE_FILE_SCRIPT } from './sandbox-scripts.js';

const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;
const MAX_READ_FILE_BYTES = 64 * 1024 * 1024;
/** Image label saying the exec wrapper `sandbox-image/pw-exec.c` is installed. */
export const PW_EXEC_LABEL = 'dev.pullwright.pw-exec';
/** Image label saying the exec server `sandbox-image/pw-exec-server.c` is installed. */
export const EXEC_SERVER_LABEL = 'dev.pullwright.exec-server';
const PW_EXEC_PATH = '/usr/local/bin/pw-exec';

export interface DockerSandboxOptions {
  docker: Docker;
  container: Docker.Container;
  /** The container name; also the sandbox id in logs. */
  id: string;
  policy: SandboxPolicy;
  /** Resolved host path of the workspace bind mount (measured by the disk watchdog). */
  workspaceHostPath: string;
  egress: EgressProxy;
  log: Logger;
  diskCheckIntervalMs: number;
  /** The network the container actually has at start (`allowlist` is applied later by `setNetwork`). */
  initialNetwork: NetworkPolicy;
  /** Whether the image has the in-container output capper (see PW_EXEC_LABEL). */
  hasPwExec: boolean;
  /** Whether the image has the exec server (see EXEC_SERVER_LABEL). */
  hasExecServer: boolean;
}

type ActiveExec = WatchedCommand & {
  marker: string;
  /** Settles when the kill (started by timeout, abort or the disk watchdog) is done. */
  killed?: Promise<void>;
};

/** One running sandbox container. Created by DockerSandboxProvider; see the README for its contract. */
export class DockerSandbox implements Sandbox {
  readonly workdir = SANDBOX_WORKDIR;
  readonly id: string;
  private readonly docker: Docker;
  private readonly container: Docker.Container;
  private readonly policy: SandboxPolicy;
  private readonly egress: EgressProxy;
  private readonly log: Logger;
  private readonly hasPwExec: boolean;
  private readonly hasExecServer: boolean;
  private readonly watchdog: DiskWatchdog;
  private readonly active = new Set<ActiveExec>();
  private readonly spawned = new Set<SandboxProcess>();
  private execServer: ExecServerClient | null = null;
  private network: NetworkPolicy;
  private disposed = false;
  private oomCount = 0;
  private relayRunning = false;

  constructor(options: DockerSandboxOptions) {
    this.docker = options.docker;
    this.container = options.container;
    this.id = options.id;
    this.policy = options.policy;
    this.egress = options.egress;
    this.log = options.log;
    this.hasPwExec = options.hasPwExec;
    this.hasExecServer = options.hasExecServer;
    this.network = options.initialNetwork;
    this.watchdog = new DiskWatchdog({
      workspaceHostPath: options.workspaceHostPath,
      limitBytes: options.policy.workspaceBytes,
      intervalMs: options.diskCheckIntervalMs,
      log: options.log,
      sandboxId: options.id,
    });
  }

  private assertLive(): void {
    if (this.disposed) throw new PullwrightError('sandbox_failed', 'The sandbox was disposed.');
  }

  private resolvePath(path: string): string {
    return isAbsolute(path) ? posix.normalize(path) : posix.join(SANDBOX_WORKDIR, path);
  }

  async exec(options: ExecOptions): Promise<ExecResult> {
    this.assertLive();
    const started = Date.now();
    // No login or rc files: HOME is writable, so `exit 0` in ~/.bash_profile or ~/.bashrc
    // would make every later command (the verify commands too) report success (issue 14 item 6).
    const cmd =
      typeof options.cmd === 'string' ? ['bash', '--noprofile', '--norc', '-c', options.cmd] : options.cmd;
    if (cmd.length === 0) throw new PullwrightError('input_invalid', 'Empty command.');
    const maxOutputBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    // With the wrapper, output past the cap is dropped inside the container and never
    // crosses the Docker connection; without it, the host drops it as it arrives.
    const wrapped = this.hasPwExec ? [PW_EXEC_PATH, String(maxOutputBytes), '--', ...cmd] : cmd;
    const marker = randomBytes(9).toString('hex');
    const networkEnv = this.network.mode === 'allowlist' ? proxyEnv() : [];
    const env = [...networkEnv, ...execEnv(options.env ?? {}), `${EXEC_MARKER_VAR}=${marker}`];
    const timeoutMs = options.timeoutMs ?? this.policy.execTimeoutMs;
    const stop = new AbortController();
    let timedOut = false;
    let aborted = false;
    const active: ActiveExec = {
      marker,
      startBytes: await this.watchdog.startBytes(),
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
    this.watchdog.add(active);
    let out: RawExecOutput;
    try {
      const input = {
        cmd,
        env,
        cwd: this.resolvePath(options.cwd ?? '.'),
        stdin: options.stdin === undefined ? undefined : Buffer.from(options.stdin),
        maxOutputBytes,
      };
      const server = this.execServer;
      // The server caps output itself, the way pw-exec does for a Docker exec.
      const viaServer =
        server?.usable && server.accepts(input) ? await server.run(input, stop.signal) : 'unavailable';
      if (viaServer !== 'unavailable') {
        out = viaServer;
      } else {
        // A request the server took but did not acknowledge might still start: kill by the
        // marker first, so the command never runs twice.
        if (server) await killProcessTree(this.container, marker);
        out = await rawExec(this.container, { ...input, cmd: wrapped }, stop.signal);
      }
    } catch (err) {
      throw new PullwrightError('sandbox_failed', 'The sandbox could not run the command.', { cause: err });
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      this.active.delete(active);
      this.watchdog.delete(active);
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

  async spawn(options: SpawnOptions): Promise<SandboxProcess> {
    this.assertLive();
    const cmd =
      typeof options.cmd === 'string' ? ['bash', '--noprofile', '--norc', '-c', options.cmd] : options.cmd;
    assertSpawnable(cmd);
    if (options.signal?.aborted)
      throw new PullwrightError('cancelled', 'The process was cancelled before it started.');
    const networkEnv = this.network.mode === 'allowlist' ? proxyEnv() : [];
    let proc: SandboxProcess;
    try {
      proc = await dockerSpawn(this.container, {
        cmd,
        env: [...networkEnv, ...execEnv(options.env ?? {})],
        cwd: this.resolvePath(options.cwd ?? '.'),
      });
    } catch (err) {
      throw new PullwrightError('sandbox_failed', 'The sandbox could not start the process.', { cause: err });
    }
    this.spawned.add(proc);
    const onAbort = () => void proc.kill();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    void proc.exited.finally(() => {
      this.spawned.delete(proc);
      options.signal?.removeEventListener('abort', onAbort);
    });
    return proc;
  }

  /**
   * Routes this sandbox's later `exec` calls through an in-container exec server
   * (exec-server.ts). Only for the agent's own container: the server is the agent's
   * process, so setup and verify, whose results the host relies on, keep Docker exec.
   * Needs the image's pw-exec-server (EXEC_SERVER_LABEL). Returns whether the server
   * answered; when not, Docker exec stays.
   */
  async useExecServer(): Promise<boolean> {
    this.assertLive();
    if (this.execServer?.usable) return true;
    if (!this.hasExecServer) return false;
    try {
      this.execServer = await ExecServerClient.start((cmd) => this.spawn({ cmd, cwd: '/' }), {
        maxOutputBytes: DEFAULT_MAX_OUTPUT_BYTES * 8,
        log: this.log,
      });
    } catch (err) {
      this.log.warn({ err, sandboxId: this.id }, 'Exec server did not start; using Docker exec');
      this.execServer = null;
    }
    return this.execServer !== null;
  }

  /** Takes the workspace's current size as the watchdog's baseline (after a snapshot was unpacked). */
  async resetDiskBaseline(): Promise<void> {
    await this.watchdog.rebaseline();
  }

  /** A SIGKILL (137) counts as out-of-memory only when the container's cgroup recorded a new OOM kill. */
  private async oomHappened(): Promise<boolean> {
    const count = await countOomKills(this.container);
    if (count === null) return false;
    const grew = count > this.oomCount;
    this.oomCount = count;
    return grew;
  }

  /**
   * Kills one command's process tree. If no exec can start to do it (a fork bomb holds
   * every pid the limit allows), the container is restarted: every process dies, the
   * workspace stays, and the sandbox remains usable.
   */
  private async killTree(marker: string): Promise<void> {
    if (await killProcessTree(this.container, marker)) return;
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

  private async startRelay(): Promise<void> {
    if (this.relayRunning) return;
    await startEgressRelay(this.container);
    this.relayRunning = true;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.watchdog.stop();
    for (const a of this.active) a.kill();
    this.execServer?.stop();
    for (const p of this.spawned) p.stdin.destroy();
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
