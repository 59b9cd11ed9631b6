import type { Logger } from '../../src/logger.js';
import type { EnvironmentService } from '../environment/environment-service.js';
import { hashLockfiles } from '../environment/lockfile-hash.js';
import { captureEnvironment, restoreEnvironment } from '../environment/snapshot-archive.js';
import type { SnapshotDraft, SnapshotKey, SnapshotScope } from '../environment/snapshot-store.js';
import type { NetworkPolicy, Sandbox, SandboxProvider } from '../sandbox/sandbox.js';
import { checkCancelled } from './check-cancelled.js';
import type { FreshCopy } from './fresh-copy.js';
import { type CommandResult, runCommand } from './run-command.js';

/** Which repository a session works on, for snapshots and setup secrets (never shared across these). */
export interface SessionScope extends SnapshotScope {
  /** The repository's `setupCacheKey` globs; [] = the default lockfile list. */
  setupCacheKey: string[];
}

/** How the agent's environment was made, for the tracking comment and the run record. */
export type EnvironmentReport =
  | { source: 'none' }
  | {
      source: 'snapshot';
      /** How old the restored snapshot is. */
      ageMs: number;
      bytes: number;
      /** Time to unpack it into the agent's container (set by the session). */
      restoreMs?: number;
    }
  | {
      source: 'setup';
      /** saved: kept for the next run; not-saved: see reason; off: snapshots disabled or unavailable. */
      snapshot: 'saved' | 'not-saved' | 'off';
      reason?: string;
      restoreMs?: number;
    };

export interface PreparedEnvironment {
  setup: CommandResult | null;
  report: EnvironmentReport;
  /** Unpacks setup's result into a new container (the agent's, verify's); null: nothing to restore. */
  restore: ((box: Sandbox, signal: AbortSignal) => Promise<void>) | null;
  /**
   * Unpacks only setup's HOME (a later agent container on the same working copy, which
   * already holds the workspace part and the agent's work on it); null with `restore`.
   */
  restoreHome?: ((box: Sandbox, signal: AbortSignal) => Promise<void>) | null;
  /** Drops a draft that was not kept. */
  dispose(): Promise<void>;
}

export interface PrepareEnvironmentInput {
  service: EnvironmentService;
  sandboxes: SandboxProvider;
  image: string;
  labels: Record<string, string>;
  scope: SessionScope;
  /** The agent's working copy, untouched by any container yet (the key is hashed from it). */
  workDir: string;
  freshCopy: () => Promise<FreshCopy>;
  setupCommand: string;
  setupNetwork: NetworkPolicy;
  signal: AbortSignal;
  /** Scrubbed from setup's output besides the setup secrets themselves. */
  secrets: string[];
  log: Logger;
}

/**
 * Issue 17: the setup phase of a session with snapshots and setup-only secrets.
 *
 * Setup never runs in the agent's working copy here: it runs in a fresh copy of the
 * base in its own container (setup network, setup secrets in its environment), and
 * what it produced is packed inside that container and scanned for the secrets. The
 * agent's container then gets that archive unpacked into its own workspace and HOME
 * — the same whether the archive was just made (cold) or restored from a snapshot
 * (warm), so a warm run sees exactly what a cold one would. Nothing the agent touches
 * is ever packed (the archive is made before the agent's container exists), and an
 * archive holding a secret is neither kept nor restored.
 */
export async function prepareEnvironment(input: PrepareEnvironmentInput): Promise<PreparedEnvironment> {
  const { service, log, signal } = input;
  const { store } = service;
  const setupSecrets = service.secrets?.forScope(input.scope) ?? {};
  const secretValues = Object.values(setupSecrets);
  const scrub = [...input.secrets, ...secretValues];
  const key: SnapshotKey = {
    imageId: (await input.sandboxes.imageId?.(input.image)) ?? '',
    setupCommand: input.setupCommand,
    lockfileHash: (await hashLockfiles(input.workDir, input.scope.setupCacheKey)).hash,
    cacheKeyGlobs: input.scope.setupCacheKey,
  };
  const useSnapshots = service.snapshotsEnabled && key.imageId !== '';

  if (useSnapshots) {
    const found = await store.find(input.scope, key);
    if (found) {
      const files = { workspaceTar: found.workspaceTar, homeTar: found.homeTar };
      const ageMs = Date.now() - found.createdAt;
      log.info({ bytes: found.bytes, ageMs }, 'Restoring the environment snapshot');
      return {
        setup: null,
        report: { source: 'snapshot', ageMs, bytes: found.bytes },
        restore: (box, s) => restoreEnvironment(box, files, s),
        restoreHome: (box, s) => restoreEnvironment(box, files, s, { workspace: false }),
        dispose: async () => undefined,
      };
    }
  }

  checkCancelled(signal);
  const copy = await input.freshCopy();
  let draft: SnapshotDraft | null = await store.begin();
  let setup: CommandResult;
  let captured: Awaited<ReturnType<typeof captureEnvironment>>;
  try {
    const box = await input.sandboxes.create(
      { image: input.image, network: input.setupNetwork, labels: input.labels },
      copy.workDir,
    );
    try {
      setup = await runCommand(box, input.setupCommand, signal, scrub, setupSecrets);
      checkCancelled(signal);
      // Up to the total cap: one over the per-repository cap still reaches the agent, it is just not kept.
      captured = await captureEnvironment(box, draft, {
        maxBytes: store.maxTotalBytes,
        secrets: secretValues,
      });
    } finally {
      await box.dispose();
    }
  } catch (err) {
    await draft.discard();
    throw err;
  } finally {
    await copy.dispose();
  }

  const discard = async () => {
    await draft?.discard();
    draft = null;
  };
  if (!captured.ok) {
    await discard();
    log.warn({ reason: captured.reason }, 'The setup result was not captured');
    if (captured.reason === 'secret') {
      // Setup wrote a secret down: the agent gets none of setup's result, and the run says why.
      return {
        setup: {
          ...setup,
          ok: false,
          outputTail:
            `${setup.outputTail}\n[Pullwright] Setup's result contained a setup secret, so it was discarded: the agent runs without it.`.slice(
              -2_000,
            ),
        },
        report: { source: 'setup', snapshot: 'not-saved', reason: 'secret' },
        restore: null,
        dispose: discard,
      };
    }
    return {
      setup,
      report: { source: 'setup', snapshot: 'not-saved', reason: captured.reason },
      restore: null,
      dispose: discard,
    };
  }
  const files = { workspaceTar: draft.workspaceTar, homeTar: draft.homeTar };
  if (!setup.ok || !useSnapshots) {
    // Only a setup that succeeded is kept; a failed one still reaches the agent, as before.
    return {
      setup,
      report: {
        source: 'setup',
        snapshot: useSnapshots ? 'not-saved' : 'off',
        ...(setup.ok ? {} : { reason: 'setup-failed' }),
      },
      restore: (box, s) => restoreEnvironment(box, files, s),
      restoreHome: (box, s) => restoreEnvironment(box, files, s, { workspace: false }),
      dispose: discard,
    };
  }
  if (captured.bytes > store.maxRepoBytes) {
    log.warn(
      { bytes: captured.bytes, maxBytes: store.maxRepoBytes },
      'Setup result over the per-repository snapshot cap; not kept',
    );
    return {
      setup,
      report: { source: 'setup', snapshot: 'not-saved', reason: 'over-repo-cap' },
      restore: (box, s) => restoreEnvironment(box, files, s),
      restoreHome: (box, s) => restoreEnvironment(box, files, s, { workspace: false }),
      dispose: discard,
    };
  }
  const kept = await store.commit(draft, input.scope, key);
  draft = null;
  if (!kept) {
    return {
      setup,
      report: { source: 'setup', snapshot: 'not-saved', reason: 'store-failed' },
      restore: null,
      dispose: async () => undefined,
    };
  }
  log.info({ bytes: kept.bytes }, 'Environment snapshot saved');
  const keptFiles = { workspaceTar: kept.workspaceTar, homeTar: kept.homeTar };
  return {
    setup,
    report: { source: 'setup', snapshot: 'saved' },
    restore: (box, s) => restoreEnvironment(box, keptFiles, s),
    restoreHome: (box, s) => restoreEnvironment(box, keptFiles, s, { workspace: false }),
    dispose: async () => undefined,
  };
}
