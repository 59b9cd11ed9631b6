import { describe, expect, it } from 'vitest';
import { AgentOutcome } from '../../src/domain/run-outcome.js';
import { type CliOutcome, toCliOutcome } from '../../worker/cli/local-run-result.js';
import { exitCodeFor } from '../../worker/cli/main.js';
import type { LocalRunResult } from '../../worker/cli/run-local.js';

/** The documented `--json` outcome names and exit codes stay as they were when the shared vocabulary arrived. */
describe('toCliOutcome', () => {
  it('maps every AgentOutcome to a documented CLI outcome', () => {
    const mapped = Object.fromEntries(AgentOutcome.options.map((o) => [o, toCliOutcome(o)]));
    expect(mapped).toEqual({
      succeeded: 'completed',
      'no-changes': 'no-changes',
      limit: 'limit',
      failed: 'error',
      cancelled: 'cancelled',
      needs_input: 'needs-input',
    });
  });

  it('keeps the exit codes of the documented outcomes', () => {
    const codeOf = (outcome: CliOutcome) => exitCodeFor({ outcome } as LocalRunResult);
    expect(
      ['completed', 'no-changes', 'limit', 'error', 'cancelled', 'needs-input'].map((o) =>
        codeOf(o as CliOutcome),
      ),
    ).toEqual([0, 0, 1, 1, 130, 1]);
  });
});
