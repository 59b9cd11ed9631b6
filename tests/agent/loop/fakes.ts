import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { z } from 'zod';
import { createSilentLogger } from '../../../src/logger.js';
import type { RunAgentOptions } from '../../../worker/agent/loop/run-agent.js';
import type { Tool } from '../../../worker/agent/tool.js';
import type {
  Message,
  Model,
  ModelRequest,
  ModelResponse,
  TextBlock,
  ToolUseBlock,
  Usage,
} from '../../../worker/model/model.js';
import type { ExecResult, Sandbox } from '../../../worker/sandbox/sandbox.js';

export type Reply = {
  content: (TextBlock | Omit<ToolUseBlock, 'id'>)[];
  stopReason?: ModelResponse['stopReason'];
  usage?: Partial<Usage>;
};

/** A scripted model: `script(request, call)` answers each call; every request is recorded (deep copy). */
export class FakeModel implements Model {
  readonly name = 'claude-sonnet-4-5';
  readonly requests: ModelRequest[] = [];
  private calls = 0;
  constructor(
    private readonly script: (request: ModelRequest, call: number) => Reply | Promise<Reply>,
    readonly contextWindow = 200_000,
  ) {}

  async complete(request: ModelRequest): Promise<ModelResponse> {
    this.calls += 1;
    const { signal: _s, onText: _o, ...rest } = request;
    this.requests.push(structuredClone(rest) as ModelRequest);
    const reply = await this.script(request, this.calls);
    const content = reply.content.map((b, i) =>
      b.type === 'tool_use' ? ({ ...b, id: `toolu_${this.calls}_${i}` } as ToolUseBlock) : (b as TextBlock),
    );
    return {
      id: `msg_${this.calls}`,
      model: this.name,
      content,
      stopReason: reply.stopReason ?? (content.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn'),
      usage: { input: 100, output: 10, cacheRead: 0, cacheWrite: 0, ...reply.usage },
    };
  }
}

/** A sandbox the fake tools never really need; exec echoes. */
export function fakeSandbox(): Sandbox {
  const result = (stdout: string): ExecResult => ({
    exitCode: 0,
    stdout,
    stderr: '',
    stdoutTruncated: false,
    stderrTruncated: false,
    durationMs: 1,
    timedOut: false,
    oomKilled: false,
  });
  return {
    id: 'fake',
    workdir: '/workspace',
    exec: async (o) => result(Array.isArray(o.cmd) ? o.cmd.join(' ') : o.cmd),
    readFile: async () => Buffer.from(''),
    writeFile: async () => {},
    blockedConnections: async () => [],
    dispose: async () => {},
  };
}

const echoInput = z.object({ text: z.string() });
export const echoTool: Tool<z.infer<typeof echoInput>> = {
  name: 'echo',
  description: 'Echoes text',
  input: echoInput,
  inputJsonSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
  run: async (input, ctx) => {
    const r = await ctx.sandbox.exec({ cmd: ['echo', input.text], signal: ctx.signal });
    return { content: r.stdout, isError: false };
  },
};

const planInput = z.object({
  items: z.array(z.object({ step: z.string(), status: z.enum(['pending', 'in_progress', 'completed']) })),
});
export const planTool: Tool<z.infer<typeof planInput>> = {
  name: 'update_plan',
  description: 'Updates the plan',
  input: planInput,
  inputJsonSchema: { type: 'object', properties: { items: { type: 'array' } } },
  run: async (input) => ({
    content: 'Plan updated',
    isError: false,
    effect: { kind: 'plan', items: input.items },
  }),
};

const finishInput = z.object({ summary: z.string() });
export const finishTool: Tool<z.infer<typeof finishInput>> = {
  name: 'finish',
  description: 'Ends the task',
  input: finishInput,
  inputJsonSchema: { type: 'object', properties: { summary: { type: 'string' } } },
  run: async (input) => ({
    content: 'Finished',
    isError: false,
    effect: { kind: 'finish', summary: input.summary },
  }),
};

export const throwTool: Tool<Record<string, never>> = {
  name: 'explode',
  description: 'Throws',
  input: z.object({}).strict() as unknown as z.ZodType<Record<string, never>>,
  inputJsonSchema: { type: 'object' },
  run: async () => {
    throw new Error('kaboom');
  },
};

/** Waits until its signal aborts (a long command); records that it saw the abort. */
export function slowTool(seen: { aborted: boolean }): Tool<Record<string, unknown>> {
  return {
    name: 'slow',
    description: 'Runs for a long time',
    input: z.record(z.string(), z.unknown()),
    inputJsonSchema: { type: 'object' },
    run: (_input, ctx) =>
      new Promise((resolve) => {
        ctx.signal.addEventListener('abort', () => {
          seen.aborted = true;
          resolve({ content: 'aborted', isError: true });
        });
      }),
  };
}

/** A tool that prints `size` characters. */
export function bigTool(size: number): Tool<{ tag: string }> {
  return {
    name: 'big',
    description: 'Prints a lot',
    input: z.object({ tag: z.string() }),
    inputJsonSchema: { type: 'object', properties: { tag: { type: 'string' } } },
    run: async (input) => ({ content: `${input.tag}:${'x'.repeat(size)}`, isError: false }),
  };
}

export function baseOptions(
  model: Model,
  tools: Tool[],
  overrides: Partial<RunAgentOptions> = {},
): RunAgentOptions {
  const dir = mkdtempSync(join(tmpdir(), 'pw-loop-'));
  // The transcript folder goes when the test ends (it used to pile up in the temp dir).
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return {
    model,
    sandbox: fakeSandbox(),
    tools,
    system: 'You are a test agent.',
    firstUserMessage: 'Task: do the thing.',
    budgets: { maxTurns: 20, maxCostUsd: 10, maxWallMs: 60_000 },
    signal: new AbortController().signal,
    log: createSilentLogger(),
    transcriptPath: join(dir, 'transcript.jsonl'),
    ...overrides,
  };
}

export const use = (name: string, input: unknown) => ({ type: 'tool_use' as const, name, input });
export const text = (t: string) => ({ type: 'text' as const, text: t });

/** A history: the task, then one bash turn per size, whose output is `${turn}:` and that many characters. */
export function bashTurns(sizes: number[]): Message[] {
  const out: Message[] = [{ role: 'user', content: [{ type: 'text', text: 'the task' }] }];
  sizes.forEach((size, n) => {
    const i = n + 1;
    out.push({
      role: 'assistant',
      content: [{ type: 'tool_use', id: `t${i}`, name: 'bash', input: { command: `cmd ${i}` } }],
    });
    out.push({
      role: 'user',
      content: [{ type: 'tool_result', tool_use_id: `t${i}`, content: `${i}:${'o'.repeat(size)}` }],
    });
  });
  return out;
}
