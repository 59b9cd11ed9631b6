import { z } from 'zod';
import type { Logger } from '../../src/logger.js';
import type { RawExecInput, RawExecOutput } from './docker-exec.js';
import { CappedBuffer } from './docker-stream.js';
import type { SandboxProcess } from './sandbox.js';
import { EXEC_SERVER_SOURCE } from './sandbox-scripts.js';

/** How long a started server has to answer its first ping. */
const READY_TIMEOUT_MS = 5_000;
/** How long a request may wait for "started" before the call falls back to Docker exec. */
const ACK_TIMEOUT_MS = 2_000;
/** After a stop (timeout, abort, disk), how long to wait for the server's answer. */
const STOP_GRACE_MS = 5_000;

const Reply = z.object({
  id: z.number().int(),
  pong: z.literal(true).optional(),
  started: z.literal(true).optional(),
  exitCode: z.number().int().nullable().optional(),
  stdout: z.string().optional(),
  stderr: z.string().optional(),
});
type Reply = z.infer<typeof Reply>;

interface Pending {
  onStarted(): void;
  onResult(reply: Reply | null): void;
}

/**
 * The host side of the in-container exec server (issue 17): tool calls in the
 * agent's container go over one long-lived Docker exec's stdin/stdout instead of a
 * new Docker exec each (a few milliseconds instead of tens). The caller keeps
 * every guarantee of a Docker exec: timeouts, aborts and the disk watchdog kill
 * the command's tree through Docker by its marker (never through the server),
 * output is capped by pw-exec, by the server and again here, and a server that
 * does not acknowledge a request within ACK_TIMEOUT_MS, or stops, is abandoned
 * for Docker exec. Everything it says is the agent's own word: it only ever
 * carries the agent's tool calls, never setup or verify.
 */
export class ExecServerClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private buffer = '';
  private alive = true;
  private ready = false;

  private constructor(
    private readonly proc: SandboxProcess,
    private readonly maxLineBytes: number,
    private readonly log: Logger,
  ) {
    proc.stdout.on('data', (chunk: Buffer) => this.onData(chunk));
    proc.stderr.resume();
    void proc.exited.then(() => this.fail('exited'));
  }

  /** Starts the server through `spawn` and waits for its first answer; null when it does not come. */
  static async start(
    spawn: (cmd: string[]) => Promise<SandboxProcess>,
    options: { maxOutputBytes: number; log: Logger },
  ): Promise<ExecServerClient | null> {
    const proc = await spawn(['node', '-e', EXEC_SERVER_SOURCE]);
    // Two capped streams in base64 plus the envelope.
    const client = new ExecServerClient(
      proc,
      Math.ceil((options.maxOutputBytes + 1) * 2 * 1.4) + 4096,
      options.log,
    );
    const ok = await client.ping(READY_TIMEOUT_MS);
    if (!ok) {
      await proc.kill();
      return null;
    }
    client.ready = true;
    return client;
  }

  get usable(): boolean {
    return this.alive && this.ready;
  }

  /** Whether this request fits the server's frame bound (bigger caps go through Docker exec). */
  accepts(input: RawExecInput): boolean {
    return Math.ceil((input.maxOutputBytes + 1) * 2 * 1.4) + 4096 <= this.maxLineBytes;
  }

  private ping(timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const id = this.nextId++;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve(false);
      }, timeoutMs);
      this.pending.set(id, {
        onStarted: () => undefined,
        onResult: (reply) => {
          clearTimeout(timer);
          this.pending.delete(id);
          resolve(reply?.pong === true);
        },
      });
      this.write({ id, ping: true });
    });
  }

  private write(message: unknown): void {
    this.proc.stdin.write(`${JSON.stringify(message)}\n`);
  }

  private onData(chunk: Buffer): void {
    this.buffer += chunk.toString('utf8');
    if (this.buffer.length > this.maxLineBytes && !this.buffer.includes('\n')) {
      // A frame past any answer's bound: the server is not the one we started.
      this.fail('oversized');
      return;
    }
    let nl = this.buffer.indexOf('\n');
    while (nl >= 0) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      this.onLine(line);
      nl = this.buffer.indexOf('\n');
    }
  }

  private onLine(line: string): void {
    let reply: Reply;
    try {
      reply = Reply.parse(JSON.parse(line));
    } catch {
      return; // not ours; the agent may write anything to this stream
    }
    const waiter = this.pending.get(reply.id);
    if (!waiter) return;
    if (reply.started) waiter.onStarted();
    if (reply.pong || reply.exitCode !== undefined) waiter.onResult(reply);
  }

  private fail(why: string): void {
    if (!this.alive) {
      for (const waiter of this.pending.values()) waiter.onResult(null);
      this.pending.clear();
      return;
    }
    this.alive = false;
    this.log.warn({ why }, 'Exec server stopped; tool calls go through Docker exec');
    for (const waiter of this.pending.values()) waiter.onResult(null);
    this.pending.clear();
    void this.proc.kill();
  }

  /**
   * Runs one command. `'unavailable'` means it did not start through the server
   * (not acknowledged in time, or the server is gone): the caller kills anything
   * by the marker and uses Docker exec.
   */
  run(input: RawExecInput, stop: AbortSignal): Promise<RawExecOutput | 'unavailable'> {
    if (!this.usable) return Promise.resolve('unavailable');
    return new Promise((resolve) => {
      const id = this.nextId++;
      let started = false;
      let settled = false;
      const finish = (value: RawExecOutput | 'unavailable') => {
        if (settled) return;
        settled = true;
        clearTimeout(ackTimer);
        clearTimeout(graceTimer);
        stop.removeEventListener('abort', onStop);
        this.pending.delete(id);
        resolve(value);
      };
      const ackTimer = setTimeout(() => {
        if (started) return;
        this.fail('no-ack');
        finish('unavailable');
      }, ACK_TIMEOUT_MS);
      let graceTimer: NodeJS.Timeout | undefined;
      const onStop = () => {
        // The caller kills the tree through Docker; give the server a moment to report it.
        graceTimer = setTimeout(() => finish(emptyOutput(input.maxOutputBytes)), STOP_GRACE_MS);
      };
      if (stop.aborted) onStop();
      else stop.addEventListener('abort', onStop, { once: true });
      this.pending.set(id, {
        onStarted: () => {
          started = true;
        },
        onResult: (reply) => {
          if (!reply) {
            // The server died: a command that never started may go to Docker exec; one that
            // did is reported as killed (running it again could repeat its side effects).
            if (!started) return finish('unavailable');
            const out = emptyOutput(input.maxOutputBytes);
            out.stderr.push(Buffer.from('The command was interrupted (the sandbox exec server stopped).\n'));
            return finish(out);
          }
          const stdout = new CappedBuffer(input.maxOutputBytes + 1);
          const stderr = new CappedBuffer(input.maxOutputBytes + 1);
          stdout.push(Buffer.from(reply.stdout ?? '', 'base64'));
          stderr.push(Buffer.from(reply.stderr ?? '', 'base64'));
          finish({
            exitCode: reply.exitCode ?? null,
            stdout: capAt(stdout, input.maxOutputBytes),
            stderr: capAt(stderr, input.maxOutputBytes),
          });
        },
      });
      this.write({
        id,
        cmd: input.cmd,
        env: input.env ?? [],
        cwd: input.cwd,
        cap: input.maxOutputBytes,
        ...(input.stdin !== undefined ? { stdin: input.stdin.toString('base64') } : {}),
      });
    });
  }

  /** Stops using the server (the sandbox is being disposed; removing the container ends it). */
  stop(): void {
    this.alive = false;
  }
}

function emptyOutput(cap: number): RawExecOutput {
  return { exitCode: null, stdout: new CappedBuffer(cap), stderr: new CappedBuffer(cap) };
}

/** The same shape Docker exec gives: at most `cap` bytes kept, `truncated` when there were more. */
function capAt(buffer: CappedBuffer, cap: number): CappedBuffer {
  const bytes = buffer.toBuffer();
  const out = new CappedBuffer(cap);
  out.push(bytes);
  return out;
}
