import { describe, expect, it } from 'vitest';
import { PullwrightError } from '../../src/errors.js';
import { loadFlowConfig } from '../../worker/flows/load-flow-config.js';

const caps = {
  MAX_NETWORK: 'none',
  ALLOW_WORKFLOW_EDITS: false,
  MAX_TURNS: 50,
  MAX_COST_USD: 2,
  MAX_WALL_MINUTES: 10,
} as const;

describe('loadFlowConfig', () => {
  it('runs with defaults and says why when the file is too large to read', async () => {
    const config = await loadFlowConfig(
      {
        getDefaultBranchFile: async () => {
          throw new PullwrightError('config_invalid', '.github/pullwright.yml is larger than 256 KiB', {
            retryable: false,
          });
        },
      },
      caps,
    );
    expect(config.verifyCommands).toEqual([]);
    expect(config.limits.maxTurns).toBe(50);
    expect(config.problems).toContain('.github/pullwright.yml is larger than 256 KiB');
  });

  it('lets other failures through (a retryable GitHub outage is not a config problem)', async () => {
    await expect(
      loadFlowConfig(
        {
          getDefaultBranchFile: async () => {
            throw new PullwrightError('upstream_unavailable', 'down', { retryable: true });
          },
        },
        caps,
      ),
    ).rejects.toMatchObject({ code: 'upstream_unavailable' });
  });
});
