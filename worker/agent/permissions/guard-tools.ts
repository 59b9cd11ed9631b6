import type { Tool, ToolContext, ToolResult } from '../tool.js';
import type { HarnessEventSink } from '../tools/harness-events.js';
import {
  checkShellCommand,
  checkToolName,
  checkWritePath,
  type Decision,
  denialMessage,
  repoRelative,
} from './check-permission.js';
import type { ToolPolicy } from './tool-policy.js';

const EDIT_WRITES = new Set(['create', 'str_replace', 'insert']);

/** What a call would do that the policy judges, from the tool's validated input. */
function judge(policy: ToolPolicy, tool: Tool, input: unknown, ctx: ToolContext): Decision {
  const byName = checkToolName(policy, tool.name);
  if (!byName.allowed) return byName;
  const args = (input ?? {}) as Record<string, unknown>;
  if (tool.name === 'bash' && typeof args.command === 'string')
    return checkShellCommand(policy, args.command, ctx.sandbox.workdir);
  if (
    tool.name === 'str_replace_based_edit_tool' &&
    typeof args.command === 'string' &&
    EDIT_WRITES.has(args.command) &&
    typeof args.path === 'string'
  ) {
    // Lexical here; the editor itself still resolves symlinks inside the sandbox and refuses escapes.
    const path = repoRelative(args.path, ctx.sandbox.workdir);
    if (path !== null) return checkWritePath(policy, path);
  }
  return { allowed: true };
}

/**
 * Wraps every tool so the policy is evaluated before the call runs. A refused call never
 * reaches the sandbox: the model gets a clear error result, the run gets a
 * `permission-denied` event (recorded in the run record; the transcript keeps the result).
 * Names, descriptions and schemas are unchanged, so the cached prompt prefix is too.
 */
export function guardTools(tools: Tool[], policy: ToolPolicy, onEvent?: HarnessEventSink): Tool[] {
  if (policy.layers.length === 0) return tools;
  return tools.map((tool) => ({
    ...tool,
    run: async (input: unknown, ctx: ToolContext): Promise<ToolResult> => {
      const d = judge(policy, tool, input, ctx);
      if (d.allowed) return tool.run(input, ctx);
      ctx.log.info(
        { tool: tool.name, kind: d.kind, source: d.source, rule: d.rule },
        'Tool call denied by policy',
      );
      try {
        onEvent?.({
          type: 'permission-denied',
          tool: tool.name,
          subject: d.subject.slice(0, 500),
          kind: d.kind,
          source: d.source,
          rule: d.rule,
          reason: d.reason,
        });
      } catch (err) {
        ctx.log.warn({ err }, 'Permission event handler failed');
      }
      return { content: denialMessage(d), isError: true };
    },
  }));
}
