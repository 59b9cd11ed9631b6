import type { OperatorCaps } from '../../src/repo-config/effective-repo-config.js';

/** The env's defaults for the operator caps (src/config/env.ts). */
export const defaultCaps: OperatorCaps = {
  MAX_NETWORK: 'allowlist',
  ALLOW_WORKFLOW_EDITS: false,
  MAX_TURNS: 100,
  MAX_COST_USD: 5,
  MAX_WALL_MINUTES: 30,
};
