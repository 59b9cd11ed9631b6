import { spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { z } from 'zod';

/**
 * A small tool runner for the twin's own tests: the six harness tools run directly
 * on a temp directory of the host (never the sandbox). The real harness lives in
 * worker/agent; this one only exists to drive scenarios to completion.
 */

const Bash = z.strictObject({
  command: z.string().min(1),
  timeout_ms: z.number().int().positive().optional(),
});
const Edit = z.discriminatedUnion('command', [
  z.strictObject({
    command: z.literal('view'),
    path: z.string().min(1),
    view_range: z.tuple([z.number().int(), z.number().int()]).optional(),
  }),
  z.strictObject({ command: z.literal('create'), path: z.string().min(1), file_text: z.string() }),
  z.strictObject({
    command: z.literal('str_replace'),
    path: z.string().min(1),
    old_str: z.string().min(1),
    new_str: z.string().default(''),
  }),
  z.strictObject({
    command: z.literal('insert'),
    path: z.string().min(1),
    insert_line: z.number().int().min(0),
    new_str: z.string(),
  }),
]);
const Search = z.strictObject({
  pattern: z.string().min(1),
  path: z.string().optional(),
  glob: z.string().optional(),
});
const ListFiles = z.strictObject({
  path: z.string().optional(),
  depth: z.number().int().min(1).max(10).optional(),
});
const UpdatePlan = z.strictObject({
  items: z.array(
    z.strictObject({ step: z.string().min(1), status: z.enum(['pending', 'in_progress', 'completed']) }),
  ),
});
const Finish = z.strictObject({ summary: z.string().min(1) });

const schemas = {
  bash: Bash,
  str_replace_based_edit_tool: Edit,
  search: Search,
  list_files: ListFiles,
  update_plan: UpdatePlan,
  finish: Finish,
} as const;

export type ToolName = keyof typeof schemas;

/** Tool definitions for the Messages API, JSON Schema derived from the zod inputs. */
export const TOOL_DEFINITIONS = (Object.keys(schemas) as ToolName[]).map((name) => {
  const { $schema: _ignored, ...schema } = z.toJSONSchema(schemas[name], { io: 'input' }) as Record<
    string,
    unknown
  >;
  return { name, description: `The ${name} tool.`, input_schema: { type: 'object' as const, ...schema } };
});

export interface RunResult {
  content: string;
  isError: boolean;
}

const MAX_OUTPUT = 30_000;

function truncate(text: string): string {
  if (text.length <= MAX_OUTPUT) return text;
  const half = MAX_OUTPUT / 2;
  return `${text.slice(0, half)}\n… [${text.length - MAX_OUTPUT} characters truncated] …\n${text.slice(-half)}`;
}

export class ToolRunner {
  plans: { step: string; status: string }[][] = [];
  finished: string | null = null;
  calls: { name: string; input: unknown; result: RunResult }[] = [];

  constructor(readonly root: string) {}

  private inside(path: string): string {
    const full = resolve(this.root, path);
    if (full !== this.root && !full.startsWith(this.root + sep))
      throw new Error(`path escapes the repository: ${path}`);
    return full;
  }

  async run(name: string, input: unknown): Promise<RunResult> {
    const result = await this.dispatch(name, input).catch((error: unknown) => ({
      content: `Error: ${error instanceof Error ? error.message : String(error)}`,
      isError: true,
    }));
    this.calls.push({ name, input, result });
    return result;
  }

  private async dispatch(name: string, input: unknown): Promise<RunResult> {
    if (!(name in schemas)) return { content: `Error: unknown tool ${name}`, isError: true };
    const parsed = schemas[name as ToolName].safeParse(input);
    if (!parsed.success) {
      return {
        content: `Error: invalid input for ${name}: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ')}`,
        isError: true,
      };
    }
    const data = parsed.data;
    switch (name as ToolName) {
      case 'bash': {
        const { command, timeout_ms } = data as z.infer<typeof Bash>;
        const out = spawnSync('bash', ['-c', command], {
          cwd: this.root,
          encoding: 'utf8',
          timeout: timeout_ms ?? 120_000,
          maxBuffer: 64 * 1024 * 1024,
          // A bare environment: nothing of the test process (keys, tokens) reaches the command.
          // HOME is a fresh temp dir, so npm would fetch its whole registry entry to check for a
          // newer npm on the first `npm test` of every run (about 0.7 CPU-s and a network request).
          env: {
            PATH: process.env.PATH ?? '/usr/bin:/bin',
            HOME: this.root,
            LANG: 'C.UTF-8',
            npm_config_update_notifier: 'false',
          },
        });
        const body = `${out.stdout ?? ''}${out.stderr ?? ''}`;
        return { content: truncate(`${body}\nexit code: ${out.status ?? 'killed'}`), isError: false };
      }
      case 'str_replace_based_edit_tool':
        return this.edit(data as z.infer<typeof Edit>);
      case 'search': {
        const { pattern, path, glob } = data as z.infer<typeof Search>;
        const args = ['-rnE', '--exclude-dir=node_modules', '--exclude-dir=.git'];
        if (glob) args.push(`--include=${glob}`);
        args.push('--', pattern, relative(this.root, this.inside(path ?? '.')) || '.');
        const out = spawnSync('grep', args, {
          cwd: this.root,
          encoding: 'utf8',
          maxBuffer: 64 * 1024 * 1024,
        });
        return { content: truncate(out.stdout || 'No matches.'), isError: false };
      }
      case 'list_files': {
        const { path, depth } = data as z.infer<typeof ListFiles>;
        const lines: string[] = [];
        const walk = async (dir: string, level: number) => {
          for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
            a.name.localeCompare(b.name),
          )) {
            if (entry.name === '.git' || entry.name === 'node_modules') continue;
            const rel = relative(this.root, join(dir, entry.name));
            lines.push(entry.isDirectory() ? `${rel}/` : rel);
            if (entry.isDirectory() && level < (depth ?? 2)) await walk(join(dir, entry.name), level + 1);
          }
        };
        await walk(this.inside(path ?? '.'), 1);
        return { content: lines.join('\n'), isError: false };
      }
      case 'update_plan': {
        this.plans.push((data as z.infer<typeof UpdatePlan>).items);
        return { content: 'Plan updated.', isError: false };
      }
      case 'finish': {
        this.finished = (data as z.infer<typeof Finish>).summary;
        return { content: 'Finished.', isError: false };
      }
    }
  }

  private async edit(input: z.infer<typeof Edit>): Promise<RunResult> {
    const file = this.inside(input.path);
    switch (input.command) {
      case 'view': {
        if ((await stat(file)).isDirectory())
          return { content: (await readdir(file)).sort().join('\n'), isError: false };
        const lines = (await readFile(file, 'utf8')).split('\n');
        const [from, to] = input.view_range ?? [1, lines.length];
        const shown = lines
          .slice(from - 1, to === -1 ? undefined : to)
          .map((l, i) => `${String(from + i).padStart(6)}\t${l}`);
        return { content: truncate(shown.join('\n')), isError: false };
      }
      case 'create':
        await mkdir(dirname(file), { recursive: true });
        await writeFile(file, input.file_text);
        return { content: `File created: ${input.path}`, isError: false };
      case 'str_replace': {
        const source = await readFile(file, 'utf8');
        const count = source.split(input.old_str).length - 1;
        if (count !== 1) {
          return {
            content: `Error: old_str found ${count} times in ${input.path}; it must appear exactly once.`,
            isError: true,
          };
        }
        await writeFile(
          file,
          source.replace(input.old_str, () => input.new_str),
        );
        return { content: `Edited ${input.path}.`, isError: false };
      }
      case 'insert': {
        const lines = (await readFile(file, 'utf8')).split('\n');
        if (input.insert_line > lines.length)
          return { content: `Error: insert_line beyond end of ${input.path}`, isError: true };
        lines.splice(input.insert_line, 0, ...input.new_str.replace(/\n$/, '').split('\n'));
        await writeFile(file, lines.join('\n'));
        return { content: `Inserted into ${input.path}.`, isError: false };
      }
    }
  }
}
