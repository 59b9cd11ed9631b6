import type { Readable, Writable } from 'node:stream';
import { z } from 'zod';

/**
 * The Sandbox port: everything the agent and the worker may do inside an
 * isolated container. Kept narrow on purpose so another backend (a remote
 * Docker host, Kubernetes pods) can implement it without touching the agent.
 *
 * Policy is data: a plain value describing what the container may do, separate
 * from the code that enforces it.
 */
export const NetworkPolicy = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('none') }),
  z.object({ mode: z.literal('allowlist'), hosts: z.array(z.string().min(1)).max(200) }),
  z.object({ mode: z.literal('open') }),
]);
export type NetworkPolicy = z.infer<typeof NetworkPolicy>;

export const SandboxPolicy = z.object({
  image: z.string().min(1),
  cpus: z.number().positive().max(64).default(1),
  memoryBytes: z
    .number()
    .int()
    .positive()
    .default(2 * 1024 ** 3),
  pidsLimit: z.number().int().positive().default(512),
  /** Cap on the writable scratch space (tmp) inside the container. */
  tmpBytes: z
    .number()
    .int()
    .positive()
    .default(512 * 1024 ** 2),
  /** Cap on how much the workspace may grow during the run. */
  workspaceBytes: z
    .number()
    .int()
    .positive()
    .default(2 * 1024 ** 3),
  network: NetworkPolicy.default({ mode: 'none' }),
  /** Default timeout of one exec, when the caller gives none. */
  execTimeoutMs: z.number().int().positive().default(120_000),
  /**
   * The caller's labels on the container (job id, the runtime's instance). The provider
   * adds its own (sandbox, worker host, workspace, egress folder) and refuses a policy
   * that sets one of those: see sandbox-labels.ts.
   */
  labels: z.record(z.string(), z.string()).default({}),
});
export type SandboxPolicy = z.infer<typeof SandboxPolicy>;
export type SandboxPolicyInput = z.input<typeof SandboxPolicy>;

export interface ExecOptions {
  /** argv form is run as is; a string is run by `bash --noprofile --norc -c` (no startup files). */
  cmd: string[] | string;
  /** Inside the container; default the workspace root. */
  cwd?: string;
  env?: Record<string, string>;
  stdin?: string | Buffer;
  timeoutMs?: number;
  /** Cap per stream; output past it is dropped (head kept) and flagged. */
  maxOutputBytes?: number;
  signal?: AbortSignal;
}

export interface ExecResult {
  /** null when the process was killed (timeout, OOM, abort). */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  durationMs: number;
  timedOut: boolean;
  oomKilled: boolean;
  /**
   * The workspace grew past the policy's `workspaceBytes` while the command ran, so the
   * command's process tree was killed. Optional so plain fakes need not set it.
   */
  diskLimitExceeded?: boolean;
}

export interface SpawnOptions {
  /** argv form is run as is; a string is run by `bash --noprofile --norc -c`. */
  cmd: string[] | string;
  /** Inside the container; default the workspace root. */
  cwd?: string;
  env?: Record<string, string>;
  /** Aborting kills the process tree. */
  signal?: AbortSignal;
}

/**
 * A long-lived process in the sandbox with its standard streams (an MCP stdio
 * server, the exec server, a tar stream). Nothing is capped: the caller reads as it
 * goes and keeps its own bounds. Everything it says is the agent's word.
 */
export interface SandboxProcess {
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** The exit code once the process is gone and its output closed (null: killed or unknown). */
  readonly exited: Promise<number | null>;
  /** Kills the process's whole tree (idempotent); resolves once its output closed. */
  kill(): Promise<void>;
}

export interface BlockedConnection {
  host: string;
  port: number;
  at: string;
}

export interface Sandbox {
  readonly id: string;
  /** Absolute path of the workspace inside the sandbox. */
  readonly workdir: string;
  exec(options: ExecOptions): Promise<ExecResult>;
  /**
   * Starts a long-lived process with streaming stdin/stdout/stderr. Optional so fakes
   * need not implement it; the Docker provider does. Disposing the sandbox kills it.
   */
  spawn?(options: SpawnOptions): Promise<SandboxProcess>;
  /**
   * Routes later `exec` calls through an in-container exec server (faster; the agent's
   * container only: never for setup or verify). Resolves false when it is not available.
   */
  useExecServer?(): Promise<boolean>;
  /** Takes the workspace's current size as the growth bound's baseline (after a snapshot restore). */
  resetDiskBaseline?(): Promise<void>;
  /** Paths are relative to the workspace, or absolute inside the sandbox. */
  readFile(path: string): Promise<Buffer>;
  writeFile(path: string, data: string | Buffer): Promise<void>;
  /** Network attempts refused by an allowlist policy, for reporting on the PR. */
  blockedConnections(): Promise<BlockedConnection[]>;
  /**
   * Switches the network policy of a running sandbox, so one container can run the
   * repo's setup command with the setup policy and then the agent with its own.
   * Optional so fakes need not implement it; the Docker provider does.
   */
  setNetwork?(policy: NetworkPolicy): Promise<void>;
  /** Idempotent; always called in `finally`. */
  dispose(): Promise<void>;
}

export interface SandboxProvider {
  /** Starts a sandbox with `workspaceHostPath` (a credential-free working copy) as its workspace. */
  create(policy: SandboxPolicyInput, workspaceHostPath: string): Promise<Sandbox>;
  /**
   * The image's content id (`sha256:…`), part of an environment snapshot's key so a
   * rebuilt image never restores what an older one installed. Optional for fakes;
   * without it snapshots are off.
   */
  imageId?(image: string): Promise<string>;
}
