import { createMemoryTool } from '../memory/memory-tool.js';
import type { Tool } from '../tool.js';
import { createBashTool } from './bash-tool.js';
import type { OutputCaps } from './cap-output.js';
import { createEditTool } from './edit-tool.js';
import { createListFilesTool } from './list-files-tool.js';
import { createFinishTool, createUpdatePlanTool } from './plan-tools.js';
import { createSearchTool } from './search-tool.js';

export { capOutput, type OutputCaps } from './cap-output.js';
export { resolveWorkspacePath } from './workspace-path.js';

export interface DefaultToolsOptions {
  /** bash: timeout when the model gives none (default 120 s). */
  bashTimeoutMs?: number;
  /** bash: the most a model may ask for (default 600 s). */
  maxBashTimeoutMs?: number;
  /** Cap on the text of one tool result (default 14 000 bytes, 400 lines: under the loop's own 16 000-character cap). */
  output?: Partial<OutputCaps>;
}

/**
 * The harness's tools in a FIXED order: the tool list is the start of every request's
 * cached prefix, so reordering (or changing a description) invalidates prompt caching.
 */
export function createDefaultTools(options: DefaultToolsOptions = {}): Tool[] {
  const caps: OutputCaps = {
    maxBytes: options.output?.maxBytes ?? 14_000,
    maxLines: options.output?.maxLines ?? 400,
  };
  const defaultTimeoutMs = options.bashTimeoutMs ?? 120_000;
  return [
    createBashTool({
      defaultTimeoutMs,
      maxTimeoutMs: Math.max(defaultTimeoutMs, options.maxBashTimeoutMs ?? 600_000),
      caps,
      streamBytes: 2 * 1024 ** 2,
    }),
    createEditTool({
      maxViewLines: 800,
      maxViewChars: 14_000,
      maxLineChars: 2000,
      maxDirEntries: 400,
      maxFileBytes: 2 * 1024 ** 2,
    }),
    createSearchTool({ maxMatches: 200, maxPerFile: 30, caps }),
    createListFilesTool({ maxEntries: 500, maxChars: 14_000 }),
    createUpdatePlanTool(),
    createMemoryTool(),
    createFinishTool(),
  ];
}
