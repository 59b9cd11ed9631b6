import { z } from 'zod';
import type { Tool } from '../tool.js';
import { capOutput, type OutputCaps } from './cap-output.js';
import { defineTool } from './define-tool.js';

export interface BashToolOptions {
  defaultTimeoutMs: number;
  maxTimeoutMs: number;
  caps: OutputCaps;
  /** Cap per stream taken from the sandbox before the head/tail cut. */
  streamBytes: number;
}

export const BashInput = z.strictObject({
  command: z.string().min(1).describe('The shell command (run by bash in the workspace root).'),
  timeout_ms: z.number().int().positive().optional().describe('Timeout in milliseconds.'),
});
export type BashInput = z.infer<typeof BashInput>;

function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s` : `${ms} ms`;
}

export function createBashTool(options: BashToolOptions): Tool<BashInput> {
  return defineTool({
    name: 'bash',
    description: [
      'Runs a shell command with bash in the workspace root, inside an isolated sandbox without network access.',
      'Each call is a fresh shell: cd and exported variables do not persist between calls (chain with &&).',
      `Default timeout ${formatMs(options.defaultTimeoutMs)}, max ${formatMs(options.maxTimeoutMs)} (timeout_ms).`,
      'stdout and stderr are both returned with the exit code; long output keeps its head and tail.',
      'Do not start interactive programs or servers that never exit; pipe long output through head/tail/grep.',
    ].join(' '),
    input: BashInput,
    async run(input, ctx) {
      const timeoutMs = Math.min(input.timeout_ms ?? options.defaultTimeoutMs, options.maxTimeoutMs);
      const out = await ctx.sandbox.exec({
        cmd: input.command,
        timeoutMs,
        maxOutputBytes: options.streamBytes,
        stdin: '',
        signal: ctx.signal,
      });
      const parts: string[] = [];
      const stdout = out.stdout.replace(/\n$/, '');
      const stderr = out.stderr.replace(/\n$/, '');
      const dropped = (flag: boolean) =>
        flag ? `\n[... output past ${(options.streamBytes / 1024 ** 2).toFixed(1)} MB was dropped ...]` : '';
      if (stdout !== '' || out.stdoutTruncated) parts.push(`${stdout}${dropped(out.stdoutTruncated)}`);
      if (stderr !== '' || out.stderrTruncated)
        parts.push(`[stderr]\n${stderr}${dropped(out.stderrTruncated)}`);
      let body = capOutput(parts.join('\n'), options.caps);
      if (body === '') body = '(no output)';
      let status: string;
      if (ctx.signal.aborted) status = 'The command was cancelled.';
      else if (out.timedOut) status = `The command timed out after ${formatMs(timeoutMs)} and was killed.`;
      else if (out.oomKilled) status = 'The command ran out of memory and was killed (OOM).';
      else if (out.diskLimitExceeded)
        status = 'The workspace grew past its size limit, so the command was killed. Remove the large files.';
      else if (out.exitCode === null) status = 'The command was killed.';
      else status = `exit code: ${out.exitCode}`;
      return { content: `${body}\n${status}`, isError: out.exitCode !== 0 };
    },
  });
}
