import { z } from 'zod';
import type { Tool } from '../tool.js';
import { capOutput, type OutputCaps } from './cap-output.js';
import { defineTool, toolError } from './define-tool.js';
import { resolveWorkspacePath } from './workspace-path.js';

export interface SearchToolOptions {
  /** Matching lines returned at most. */
  maxMatches: number;
  /** Matches per file at most, so one huge file cannot fill the result. */
  maxPerFile: number;
  caps: OutputCaps;
}

export const SearchInput = z.strictObject({
  pattern: z.string().min(1).describe('A regular expression (ripgrep / Rust syntax).'),
  path: z.string().min(1).optional().describe('File or directory to search, relative to the workspace root.'),
  glob: z.string().min(1).optional().describe('Only files matching this glob, e.g. "*.ts" or "src/**/*.py".'),
  case_sensitive: z
    .boolean()
    .optional()
    .describe('Default: case-insensitive unless the pattern has capitals.'),
});
export type SearchInput = z.infer<typeof SearchInput>;

export function createSearchTool(options: SearchToolOptions): Tool<SearchInput> {
  return defineTool({
    name: 'search',
    description: [
      'Searches file contents with ripgrep (regex) and returns matching lines as path:line:text.',
      'Respects .gitignore, skips binary files and .git; searches hidden files such as .github/.',
      `At most ${options.maxMatches} matches (${options.maxPerFile} per file); narrow with path or glob when capped.`,
    ].join(' '),
    input: SearchInput,
    async run(input, ctx) {
      let target = '.';
      if (input.path !== undefined) {
        const resolved = await resolveWorkspacePath(ctx.sandbox, input.path, ctx.signal);
        if (!resolved.ok) return toolError(resolved.error);
        if (!resolved.exists) return toolError(`${input.path} does not exist.`);
        target = resolved.relative;
      }
      // argv form: the pattern and glob reach rg as single arguments, never through a shell.
      const args = ['rg', '--line-number', '--no-heading', '--color', 'never', '--with-filename', '--hidden'];
      // Hidden files such as .github/ are searched; git's own folder never is.
      args.push('--glob', '!.git');
      args.push('--max-columns', '300', '--max-columns-preview', '--max-count', String(options.maxPerFile));
      args.push(input.case_sensitive === undefined ? '--smart-case' : input.case_sensitive ? '-s' : '-i');
      if (input.glob !== undefined) args.push('--glob', input.glob);
      args.push('--regexp', input.pattern, '--', target);
      const out = await ctx.sandbox.exec({
        cmd: args,
        timeoutMs: 60_000,
        maxOutputBytes: 4 * 1024 ** 2,
        signal: ctx.signal,
      });
      if (out.timedOut) return toolError('The search timed out; narrow it with path or glob.');
      if (out.exitCode === 1)
        return { content: `No matches for ${JSON.stringify(input.pattern)}.`, isError: false };
      if (out.exitCode !== 0) return toolError(`rg failed: ${out.stderr.trim().slice(0, 2000)}`);
      const lines = out.stdout.split('\n').filter((l) => l !== '');
      const kept = lines.slice(0, options.maxMatches).map((l) => (l.startsWith('./') ? l.slice(2) : l));
      let content = capOutput(kept.join('\n'), options.caps);
      const omitted = lines.length - kept.length;
      if (omitted > 0 || out.stdoutTruncated)
        content += `\n[... ${omitted > 0 ? omitted : 'more'} matches omitted; narrow the search with path or glob]`;
      return { content, isError: false };
    },
  });
}
