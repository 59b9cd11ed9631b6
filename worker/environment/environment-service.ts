import { join } from 'node:path';
import type { Config } from '../../src/config/env.js';
import type { Logger } from '../../src/logger.js';
import { loadSetupSecrets, type SetupSecrets } from './setup-secrets.js';
import { SnapshotStore } from './snapshot-store.js';

/**
 * What a session needs to warm a repository's environment: the snapshot store and
 * the operator's setup-only secrets. One per worker process, built from the
 * environment at boot (a bad SETUP_SECRETS_FILE stops the worker there).
 */
export interface EnvironmentService {
  /** Always present (drafts of a capture live there); `snapshotsEnabled` says whether snapshots are kept and used. */
  store: SnapshotStore;
  snapshotsEnabled: boolean;
  secrets: SetupSecrets | null;
}

export type EnvironmentConfig = Pick<
  Config,
  | 'SNAPSHOTS_ENABLED'
  | 'SNAPSHOT_DIR'
  | 'SNAPSHOT_MAX_REPO_MB'
  | 'SNAPSHOT_MAX_TOTAL_MB'
  | 'SNAPSHOT_MAX_AGE_DAYS'
  | 'SETUP_SECRETS_FILE'
  | 'WORK_DIR'
>;

const MB = 1024 * 1024;

export async function createEnvironmentService(
  config: EnvironmentConfig,
  log: Logger,
): Promise<EnvironmentService> {
  const store = new SnapshotStore({
    dir: config.SNAPSHOT_DIR ?? join(config.WORK_DIR, 'snapshots'),
    maxRepoBytes: config.SNAPSHOT_MAX_REPO_MB * MB,
    maxTotalBytes: config.SNAPSHOT_MAX_TOTAL_MB * MB,
    maxAgeMs: config.SNAPSHOT_MAX_AGE_DAYS * 24 * 3_600_000,
    log,
  });
  if (config.SNAPSHOTS_ENABLED) await store.evict();
  return {
    store,
    snapshotsEnabled: config.SNAPSHOTS_ENABLED,
    secrets: await loadSetupSecrets(config.SETUP_SECRETS_FILE),
  };
}
