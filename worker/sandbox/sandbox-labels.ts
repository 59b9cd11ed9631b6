import { PullwrightError } from '../../src/errors.js';

/** Labels every sandbox container carries, so the reaper can find a crashed worker's leftovers. */
export const SANDBOX_LABEL = 'dev.pullwright.sandbox';
export const HOST_LABEL = 'dev.pullwright.host';
export const JOB_LABEL = 'dev.pullwright.job';
export const WORKSPACE_LABEL = 'dev.pullwright.workspace';
export const EGRESS_DIR_LABEL = 'dev.pullwright.egress-dir';
/** On agent containers started ahead of any run (worker/flows/agent-sandbox-pool.ts); informational. */
export const POOL_LABEL = 'dev.pullwright.pool';

/**
 * Labels only the provider sets. The reaper trusts them to decide what to delete
 * (`host` picks whose containers, `workspace` and `egress-dir` name host folders it
 * removes), so a caller's value would either be overwritten silently (bug 6: a flow's
 * own host id did nothing) or, worse, point the reaper at someone else's folders.
 * A policy naming one is refused, so the mistake shows at once.
 */
export const RESERVED_LABELS: readonly string[] = [
  SANDBOX_LABEL,
  HOST_LABEL,
  WORKSPACE_LABEL,
  EGRESS_DIR_LABEL,
];

export interface OwnedLabelValues {
  workerHostId: string;
  /** Resolved host path of the workspace bind mount. */
  workspace: string;
  egressDir: string;
}

/** The caller's labels plus the provider's own; throws `input_invalid` if the caller set a reserved one. */
export function sandboxLabels(
  callerLabels: Record<string, string>,
  owned: OwnedLabelValues,
): Record<string, string> {
  const clash = Object.keys(callerLabels).filter((k) => RESERVED_LABELS.includes(k));
  if (clash.length > 0)
    throw new PullwrightError(
      'input_invalid',
      `Sandbox labels ${clash.join(', ')} are set by the provider and cannot be given in a policy.`,
      { retryable: false },
    );
  return {
    ...callerLabels,
    [SANDBOX_LABEL]: '1',
    [HOST_LABEL]: owned.workerHostId,
    [WORKSPACE_LABEL]: owned.workspace,
    [EGRESS_DIR_LABEL]: owned.egressDir,
  };
}
