import type { Logger } from '../../src/logger.js';
import type { RawExecInput, RawExecOutput } from './docker-exec.js';
import { CappedBuffer } from './docker-stream.js';
import type { SandboxProcess } from './sandbox.js';

/** The server binary in images labelled `dev.pullwright.exec-server=1` (sandbox-image/pw-exec-server.c). */
export const EXEC_SERVER_PATH = '/usr/local/bin/pw-exec-server';
/** How long a started server has to answer its first ping. */
const READY_TIMEOUT_MS = 5_000;
/** How long a request may wait for "started" before the call falls back to Docker exec. */
const ACK_TIMEOUT_MS = 2_000;
/** After a stop (timeout, abort, disk), how long to wait for the server's answer. */
const STOP_GRACE_MS = 5_000;

/**
 * One answer line: `PW <id> P` (pong), `PW <id> S` (started) or
 * `PW <id> R <exit> <stdout base64> <stderr base64>`. Anything else is not an answer.
 */
const ANSWER = /^PW (\d{1,15}) (?:(P|S)|R (-?\d{1,4}) ([A-Za-z0-9+/]*={0,2}) ([A-Za-z0-9+/]*={0,2}))$/;

interface Answer {
  id: number;
  kind: 'pong' | 'started' | 'result';
  exitCode?: number;
  stdout?: string;
  stderr?: string;
}

interface Pending {
  onStarted(): void;
  onResult(answer: Answer | null): void;
}

const b64 = (value: string | Buffer) => Buffer.from(value).toString('base64');

/** Base64 of `n` bytes. */
const b64Length = (n: number) => 4 * Math.ceil(n / 3);

/**
 * The host side of the in-container exec server (issue 17): tool calls in the agent's
 * container go over one long-lived Docker exec's stdin/stdout, one line each way per
 * command, to `pw-exec-server` (a small C program in the image) instead of a new Docker
 * exec each (a few milliseconds instead of tens). The caller keeps every guarantee of a
 * Docker exec: timeouts, aborts and the disk watchdog kill the command's tree through
 * Docker by its marker (never through the server), output is capped by the server and
 * again here, and a server that does not acknowledge a request within ACK_TIMEOUT_MS,
 * or stops, is abandoned for Docker exec. Everything it says is the agent's own word:
 * it only ever carries the agent's tool calls, never setup or verify.
 */
export class ExecServerClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** The line being received, in pieces. */
  private parts: string[] = [];
  private partBytes = 0;
  private alive = true;
  private ready = false;

  private constructor(
    private readonly proc: SandboxProcess,
    private readonly maxOutputBytes: number,
    private readonly log: Logger,
  ) {
    proc.stdout.setEncoding('latin1');
    proc.stdout.on('data', (chunk: string) => this.onData(chunk));
    proc.stderr.resume();
    void proc.exited.then(() => this.fail('exited'));
  }

  /** Starts the server through `spawn` and waits for its first answer; null when it does not come. */
  static async start(
    spawn: (cmd: string[]) => Promise<SandboxProcess>,
    options: { maxOutputBytes: number; log: Logger },
  ): Promise<ExecServerClient | null> {
    const proc = await spawn([EXEC_SERVER_PATH]);
    const client = new ExecServerClient(proc, options.maxOutputBytes, options.log);
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

  /** Whether this request fits the server's answer bound (bigger caps go through Docker exec). */
  accepts(input: RawExecInput): boolean {
    return input.maxOutputBytes <= this.maxOutputBytes;
  }

  /** The longest answer line the server may send: two capped streams in base64 plus the envelope. */
  private get maxLineBytes(): number {
    return 2 * b64Length(this.maxOutputBytes + 1) + 64;
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
        onResult: (answer) => {
          clearTimeout(timer);
          this.pending.delete(id);
          resolve(answer?.kind === 'pong');
        },
      });
      this.proc.stdin.write(`PING ${id}\n`);
    });
  }

  private onData(chunk: string): void {
    if (!this.alive) return;
    // latin1 keeps one character per byte, so lengths are byte counts; answers are ASCII.
    // Only the new chunk is searched for line ends: a long answer arrives in many chunks.
    let from = 0;
    let nl = chunk.indexOf('\n');
    while (nl >= 0) {
      this.parts.push(chunk.slice(from, nl));
      const line = this.parts.join('');
      this.parts = [];
      this.partBytes = 0;
      this.onLine(line);
      from = nl + 1;
      nl = chunk.indexOf('\n', from);
    }
    if (from < chunk.length) {
      this.parts.push(chunk.slice(from));
      this.partBytes += chunk.length - from;
    }
    // A line past any answer's bound: the server is not the one we started.
    if (this.partBytes > this.maxLineBytes) this.fail('oversized');
  }

  private onLine(line: string): void {
    if (line.length > this.maxLineBytes) return;
    const m = ANSWER.exec(line);
    if (!m) return; // not ours; the agent may write anything to this stream
    const id = Number(m[1]);
    const waiter = this.pending.get(id);
    if (!waiter) return;
    if (m[2] === 'S') waiter.onStarted();
    else if (m[2] === 'P') waiter.onResult({ id, kind: 'pong' });
    else waiter.onResult({ id, kind: 'result', exitCode: Number(m[3]), stdout: m[4], stderr: m[5] });
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
   * Runs one command (`input.cmd` as is: the server caps output itself, like
   * pw-exec). `'unavailable'` means it did not start through the server (not
   * acknowledged in time, or the server is gone): the caller kills anything by the
   * marker and uses Docker exec.
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
          clearTimeout(ackTimer);
        },
        onResult: (answer) => {
          if (!answer) {
            // The server died: a command that never started may go to Docker exec; one that
            // did is reported as killed (running it again could repeat its side effects).
            if (!started) return finish('unavailable');
            const out = emptyOutput(input.maxOutputBytes);
            out.stderr.push(Buffer.from('The command was interrupted (the sandbox exec server stopped).\n'));
            return finish(out);
          }
          const stdout = new CappedBuffer(input.maxOutputBytes);
          const stderr = new CappedBuffer(input.maxOutputBytes);
          stdout.push(Buffer.from(answer.stdout ?? '', 'base64'));
          stderr.push(Buffer.from(answer.stderr ?? '', 'base64'));
          finish({ exitCode: answer.exitCode ?? null, stdout, stderr });
        },
      });
      const tokens = [
        'RUN',
        String(id),
        String(input.maxOutputBytes),
        b64(input.cwd ?? '/'),
        String(input.cmd.length),
        ...input.cmd.map(b64),
        String(input.env?.length ?? 0),
        ...(input.env ?? []).map(b64),
        input.stdin === undefined ? '-' : b64(input.stdin),
      ];
      this.proc.stdin.write(`${tokens.join(' ')}\n`);
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
