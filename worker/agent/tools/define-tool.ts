import { z } from 'zod';
import { redactText } from '../../../src/logger.js';
import type { Tool, ToolContext, ToolResult } from '../tool.js';

/**
 * Builds a Tool from a zod schema: the JSON Schema the model sees is derived from the
 * same schema the loop validates with, so the two never drift. A throw inside `run`
 * becomes an error result: tools report failure as data, never into the loop.
 */
export function defineTool<S extends z.ZodType>(spec: {
  name: string;
  description: string;
  input: S;
  run(input: z.infer<S>, ctx: ToolContext): Promise<ToolResult>;
}): Tool<z.infer<S>> {
  const json = compactSchema(z.toJSONSchema(spec.input, { io: 'input', unrepresentable: 'any' })) as Record<
    string,
    unknown
  >;
  delete json.$schema;
  return {
    name: spec.name,
    description: spec.description,
    input: spec.input as z.ZodType<z.infer<S>>,
    inputJsonSchema: json,
    async run(input, ctx) {
      try {
        return await spec.run(input, ctx);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        ctx.log.warn({ tool: spec.name, err }, 'Tool failed');
        return { content: `Error: ${redactText(message)}`, isError: true };
      }
    },
  };
}

/**
 * Trims what zod's JSON Schema adds that only costs the model tokens: the safe-integer
 * bounds of every `.int()`, and a tuple's `prefixItems` (shown as a plain typed array with
 * its length; zod still checks each element). The schema is sent on every request.
 */
function compactSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(compactSchema);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === 'maximum' && v === Number.MAX_SAFE_INTEGER) continue;
    if (k === 'minimum' && v === Number.MIN_SAFE_INTEGER) continue;
    out[k] = compactSchema(v);
  }
  const prefix = out.prefixItems;
  if (Array.isArray(prefix) && prefix.length > 0) {
    const types = new Set(prefix.map((p) => (p as { type?: unknown }).type));
    if (types.size === 1) {
      delete out.prefixItems;
      out.items = { type: [...types][0] };
    }
  }
  return out;
}

/** An error result: the text tells the model what went wrong and, where it can, how to fix it. */
export function toolError(message: string): ToolResult {
  return { content: `Error: ${message}`, isError: true };
}
