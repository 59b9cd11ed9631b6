/**
 * The session's other events as run-page notes: the environment (snapshot or
 * setup), refused tool calls, subagents, the reviewer's verdict and MCP
 * servers. Unknown events give null (recorded as nothing). All text here is
 * untrusted and is redacted and capped by the recorder.
 */
export interface Note {
  kind: string;
  title: string;
  detail?: string;
  isError?: boolean;
}

function mb(bytes: number): string {
  return `${(bytes / 1_048_576).toFixed(1)} MB`;
}

function minutes(ms: number): string {
  return ms < 120_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`;
}

export function noteOf(event: Record<string, unknown>): Note | null {
  const s = (v: unknown) => (typeof v === 'string' ? v : '');
  const n = (v: unknown) => (typeof v === 'number' ? v : 0);
  switch (event.type) {
    case 'environment': {
      const r = (event.report ?? {}) as Record<string, unknown>;
      if (r.source === 'snapshot')
        return {
          kind: 'environment',
          title: `Environment restored from a snapshot (setup skipped, ${mb(n(r.bytes))}, made ${minutes(n(r.ageMs))} ago)`,
        };
      if (r.source === 'setup') {
        const title =
          r.reason === 'secret'
            ? "Setup's result contained a setup secret and was discarded"
            : r.snapshot === 'saved'
              ? 'Setup ran; its result was saved for the next runs'
              : `Setup ran${r.reason ? ` (not saved: ${s(r.reason)})` : ''}`;
        return { kind: 'environment', title };
      }
      return null;
    }
    case 'permission-denied':
      return {
        kind: 'permission',
        title: `Refused ${s(event.kind)} by the ${s(event.source)} policy: ${s(event.subject)}`,
        detail: [s(event.reason), event.rule ? `rule: ${s(event.rule)}` : ''].filter(Boolean).join('\n'),
        isError: true,
      };
    case 'subagent':
      return {
        kind: 'subagent',
        title: `Subagent ${n(event.id)}: ${s(event.outcome)} after ${n(event.turns)} turns ($${n(event.costUsd).toFixed(4)})`,
        detail: s(event.question),
      };
    case 'review': {
      const findings = Array.isArray(event.findings) ? (event.findings as Record<string, unknown>[]) : [];
      return {
        kind: 'review',
        title: `Self-review: ${s(event.verdict)}${findings.length ? ` (${findings.length} finding${findings.length === 1 ? '' : 's'})` : ''}`,
        detail: [
          s(event.summary),
          ...findings.map(
            (f) =>
              `- [${s(f.severity)}] ${f.path ? `${s(f.path)}${f.line ? `:${n(f.line)}` : ''}: ` : ''}${s(f.problem)}`,
          ),
        ].join('\n'),
        isError: event.verdict === 'changes-requested' || event.verdict === 'failed',
      };
    }
    case 'mcp-server':
      return {
        kind: 'mcp',
        title: `MCP server ${s(event.server)} ${s(event.status)}${Array.isArray(event.tools) && event.tools.length ? `: ${event.tools.length} tools` : ''}`,
        detail: s(event.reason) || undefined,
        isError: event.status !== 'started',
      };
    case 'tool-policy': {
      const layers = Array.isArray(event.policy) ? (event.policy as Record<string, unknown>[]) : [];
      const problems = Array.isArray(event.problems) ? (event.problems as unknown[]).map(s) : [];
      if (layers.length === 0 && problems.length === 0) return null;
      return {
        kind: 'policy',
        title: `Tool policy: ${layers.map((l) => s(l.source)).join(' + ') || 'default'}${problems.length ? ` (${problems.length} problem${problems.length === 1 ? '' : 's'})` : ''}`,
        detail: [
          JSON.stringify(
            layers.map((l) => ({ source: l.source, rules: l.rules })),
            null,
            1,
          ),
          ...problems,
        ].join('\n'),
      };
    }
    default:
      return null;
  }
}
