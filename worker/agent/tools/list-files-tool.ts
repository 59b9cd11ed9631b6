import { z } from 'zod';
import type { Tool } from '../tool.js';
import { defineTool, toolError } from './define-tool.js';
import { resolveWorkspacePath } from './workspace-path.js';

export interface ListFilesToolOptions {
  maxEntries: number;
  maxChars: number;
}

export const ListFilesInput = z.strictObject({
  path: z
    .string()
    .min(1)
    .optional()
    .describe('Directory to list, relative to the workspace root (default: the root).'),
  depth: z
    .number()
    .int()
    .min(1)
    .max(20)
    .optional()
    .describe('How many directory levels to list (default 3).'),
});
export type ListFilesInput = z.infer<typeof ListFilesInput>;

const DEFAULT_DEPTH = 3;

export function createListFilesTool(options: ListFilesToolOptions): Tool<ListFilesInput> {
  return defineTool({
    name: 'list_files',
    description: [
      'Lists files under a directory (default the workspace root), respecting .gitignore.',
      `Goes depth levels deep (default ${DEFAULT_DEPTH}); deeper folders are summarized with their file counts.`,
      `At most ${options.maxEntries} entries; the rest are counted.`,
    ].join(' '),
    input: ListFilesInput,
    async run(input, ctx) {
      let target = '.';
      if (input.path !== undefined) {
        const resolved = await resolveWorkspacePath(ctx.sandbox, input.path, ctx.signal);
        if (!resolved.ok) return toolError(resolved.error);
        if (resolved.kind !== 'directory') return toolError(`${input.path} is not a directory.`);
        target = resolved.relative;
      }
      const depth = input.depth ?? DEFAULT_DEPTH;
      const out = await ctx.sandbox.exec({
        cmd: ['rg', '--files', '--hidden', '--glob', '!.git', '--sort', 'path', '--', target],
        timeoutMs: 60_000,
        maxOutputBytes: 8 * 1024 ** 2,
        signal: ctx.signal,
      });
      if (out.exitCode !== 0 && out.stdout === '')
        return out.exitCode === 1
          ? { content: 'No files.', isError: false }
          : toolError(`Listing failed: ${out.stderr.trim().slice(0, 2000)}`);
      const prefix = target === '.' ? '' : `${target}/`;
      const files = out.stdout
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => (l.startsWith('./') ? l.slice(2) : l));
      const shown: string[] = [];
      const deeper = new Map<string, number>();
      for (const file of files) {
        const rest = file.startsWith(prefix) ? file.slice(prefix.length) : file;
        const parts = rest.split('/');
        if (parts.length <= depth) shown.push(file);
        else {
          const dir = `${prefix}${parts.slice(0, depth).join('/')}/`;
          deeper.set(dir, (deeper.get(dir) ?? 0) + 1);
        }
      }
      const entries = [...shown, ...[...deeper].map(([dir, n]) => `${dir} (${n} files deeper)`)].sort();
      // Entries and characters both bound the listing, so it fits one tool result.
      const kept: string[] = [];
      let chars = 0;
      for (const e of entries) {
        chars += e.length + 1;
        if (kept.length >= options.maxEntries || chars > options.maxChars) break;
        kept.push(e);
      }
      const notes: string[] = [];
      if (entries.length > kept.length)
        notes.push(
          `[... ${entries.length - kept.length} more entries omitted; list a subdirectory to see them]`,
        );
      if (out.stdoutTruncated) notes.push('[... the listing was cut short: the tree is very large]');
      const header = `${files.length} files under ${target === '.' ? 'the workspace root' : target}:`;
      return { content: [header, ...kept, ...notes].join('\n'), isError: false };
    },
  });
}
