import { z } from 'zod';
import { guardTools } from '../permissions/guard-tools.js';
import { PermissionRules, type ToolPolicy } from '../permissions/tool-policy.js';
import type { Tool } from '../tool.js';
import { createBashTool } from '../tools/bash-tool.js';
import type { OutputCaps } from '../tools/cap-output.js';
import { defineTool } from '../tools/define-tool.js';
import { createEditTool } from '../tools/edit-tool.js';
import { createListFilesTool } from '../tools/list-files-tool.js';
import { createSearchTool } from '../tools/search-tool.js';

export const ReportInput = z.strictObject({
  report: z
    .string()
    .min(1)
    .max(8_000)
    .describe(
      'Your answer: short and concrete (paths with line numbers, names, the facts asked for). This is all the caller sees.',
    ),
});
export type ReportInput = z.infer<typeof ReportInput>;

export const ViewInput = z.strictObject({
  path: z.string().min(1).describe('File or directory path, relative to the workspace root.'),
  view_range: z
    .tuple([z.number().int().min(1), z.number().int().min(-1)])
    .optional()
    .describe('[start, end] lines, 1-based and inclusive; end -1 means to the end of the file.'),
});

/**
 * Commands the optional read-only shell may run (SUBAGENT_SHELL=true): readers only.
 * Enforced with the permission layer below on the PARSED command, plus a write rule that
 * refuses every redirect into the repository. It is still a shell in the agent's
 * container, which is why it is off unless the operator turns it on.
 */
const READ_ONLY_COMMANDS = [
  'cat',
  'head',
  'tail',
  'less',
  'grep',
  'egrep',
  'fgrep',
  'rg',
  'ls',
  'tree',
  'wc',
  'file',
  'stat',
  'du',
  'sort',
  'uniq',
  'cut',
  'tr',
  'awk',
  'sed -n',
  'jq',
  'diff',
  'find',
  'basename',
  'dirname',
  'realpath',
  'echo',
  'printf',
  'true',
  'pwd',
  'nl',
  'column',
  'comm',
  'xxd',
  'od',
  'md5sum',
  'sha256sum',
  'git log',
  'git show',
  'git diff',
  'git status',
  'git grep',
  'git blame',
  'git ls-files',
  'git rev-parse',
  'git branch',
  'git describe',
  'git shortlog',
  'node --version',
  'npm ls',
  'python3 --version',
];
const WRITING_FORMS = [
  'find -delete',
  'find -exec',
  'find -execdir',
  'find -ok',
  'find -fprint',
  'awk -i',
  'sort -o',
  'git branch -d',
  'git branch -D',
  'git branch -m',
  'git branch -c',
];

export const READ_ONLY_SHELL_RULES: PermissionRules = PermissionRules.parse({
  shell: { allow: READ_ONLY_COMMANDS, deny: WRITING_FORMS },
  write: { deny: ['**'] },
});

export interface ReadOnlyToolsOptions {
  caps: OutputCaps;
  shell: boolean;
  /** The run's own policy: a subagent obeys it too. */
  policy: ToolPolicy;
}

/**
 * The subagent's tools, in a FIXED order and with fixed descriptions so every subagent of
 * every run shares one cached prefix: view, search, list_files, (bash), finish. There is no
 * edit, no plan and no `delegate`: subagents cannot write, and cannot start another
 * subagent (depth one).
 */
export function createReadOnlyTools(options: ReadOnlyToolsOptions): Tool[] {
  const edit = createEditTool({
    maxViewLines: 600,
    maxViewChars: 12_000,
    maxLineChars: 1_000,
    maxDirEntries: 300,
    maxFileBytes: 2 * 1024 ** 2,
  });
  const view = defineTool({
    name: 'view',
    description:
      'Shows a file with line numbers (cat -n style; long files are windowed, use view_range), or a directory two levels deep.',
    input: ViewInput,
    run: (input, ctx) => edit.run({ command: 'view', path: input.path, view_range: input.view_range }, ctx),
  });
  const tools: Tool[] = [
    view,
    createSearchTool({ maxMatches: 100, maxPerFile: 20, caps: options.caps }),
    createListFilesTool({ maxEntries: 300, maxChars: 10_000 }),
  ];
  if (options.shell) {
    const bash = createBashTool({
      defaultTimeoutMs: 30_000,
      maxTimeoutMs: 60_000,
      caps: options.caps,
      streamBytes: 1024 ** 2,
    });
    const readOnly: ToolPolicy = {
      layers: [...options.policy.layers, { source: 'operator', rules: READ_ONLY_SHELL_RULES }],
      problems: [],
    };
    tools.push(
      ...guardTools(
        [
          {
            ...bash,
            description: `${bash.description} Read-only: only commands that read (cat, grep, git log, ...) are allowed.`,
          },
        ],
        readOnly,
      ),
    );
  }
  tools.push(
    defineTool({
      name: 'finish',
      description: 'Ends your work and hands your report to the caller. Call it once, when you can answer.',
      input: ReportInput,
      async run(input) {
        return { content: 'Reported.', isError: false, effect: { kind: 'finish', summary: input.report } };
      },
    }),
  );
  return guardTools(tools, options.policy);
}
