import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { Sandbox, SandboxProcess } from '../../sandbox/sandbox.js';

/** Largest buffered line from a server; a server that floods without newlines is cut off. */
const MAX_LINE_BYTES = 4 * 1024 ** 2;

/**
 * An MCP transport over a process started INSIDE the sandbox (`Sandbox.spawn`): newline-
 * delimited JSON-RPC on its stdin/stdout, as the SDK's stdio transport does for a host
 * process. The server therefore sees only what the agent sees (the workspace, no network
 * beyond the sandbox's policy, no host credentials).
 */
export class SandboxStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: <T extends JSONRPCMessage>(message: T) => void;
  private process?: SandboxProcess;
  private readonly buffer = new ReadBuffer({ maxBufferSize: MAX_LINE_BYTES });
  private closed = false;
  stderrTail = '';

  constructor(
    private readonly sandbox: Sandbox,
    private readonly cmd: string[],
    private readonly signal?: AbortSignal,
  ) {}

  async start(): Promise<void> {
    if (!this.sandbox.spawn)
      throw new Error('This sandbox cannot start processes with streaming input (Sandbox.spawn).');
    const proc = await this.sandbox.spawn({ cmd: this.cmd, signal: this.signal });
    this.process = proc;
    proc.stdout.on('data', (chunk: Buffer) => {
      try {
        this.buffer.append(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
        for (let m = this.buffer.readMessage(); m; m = this.buffer.readMessage()) this.onmessage?.(m);
      } catch (err) {
        this.onerror?.(err as Error);
      }
    });
    proc.stderr.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString()).slice(-2_000);
    });
    proc.stdin.on?.('error', (err: Error) => this.onerror?.(err));
    void proc.exited.then(() => this.finish());
  }

  send(message: JSONRPCMessage): Promise<void> {
    const proc = this.process;
    if (!proc || this.closed) return Promise.reject(new Error('The MCP server is not running.'));
    return new Promise((resolve) => {
      if (proc.stdin.write(serializeMessage(message))) resolve();
      else proc.stdin.once('drain', () => resolve());
    });
  }

  async close(): Promise<void> {
    if (this.process) await this.process.kill();
    this.finish();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.buffer.clear();
    this.onclose?.();
  }
}
