import type { Usage } from '../../model/model.js';

/**
 * Events the harness's tools emit besides the loop's own (worker/agent/tool.ts AgentEvent
 * includes them): a refused call, a subagent's run, an MCP server's start, the reviewer's
 * verdict and the effective tool policy. The worker turns them into the run record.
 */
export type HarnessEvent =
  | {
      type: 'permission-denied';
      tool: string;
      /** What was refused: the command, path, host or tool name (capped). */
      subject: string;
      kind: 'shell' | 'write' | 'network' | 'tools';
      source: 'operator' | 'repo';
      /** The rule that matched; null when the call matched no allow rule. */
      rule: string | null;
      reason: string;
    }
  | {
      type: 'subagent';
      /** 1, 2, … per run, in the order the calls started. */
      id: number;
      question: string;
      outcome: string;
      turns: number;
      usage: Usage;
      costUsd: number;
      durationMs: number;
      reportChars: number;
      transcriptPath: string;
    }
  | {
      type: 'mcp-server';
      server: string;
      transport: 'sandbox-stdio' | 'remote';
      status: 'started' | 'refused' | 'failed';
      tools: string[];
      reason?: string;
    }
  | {
      type: 'review';
      verdict: 'approve' | 'changes-requested' | 'skipped' | 'failed';
      summary: string;
      findings: { severity: string; path?: string; line?: number; problem: string }[];
      usage: Usage;
      costUsd: number;
      addressed: boolean;
    }
  | { type: 'tool-policy'; policy: unknown; problems: string[] };

export type HarnessEventSink = (event: HarnessEvent) => void;
