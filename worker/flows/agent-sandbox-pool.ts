import { createSilentLogger, type Logger } from '../../src/logger.js';
import type { NetworkPolicy } from '../sandbox/sandbox.js';
import { POOL_LABEL } from '../sandbox/sandbox-labels.js';
import {
  type AgentSandboxDeps,
  type EarlyAgentSandbox,
  startAgentSandboxOn,
} from '../session/early-sandbox.js';
import type { RunFolder } from './ports.js';

export type { RunFolder } from './ports.js';

/** A started agent container on an empty run folder, handed to exactly one run. */
export interface PooledAgentSandbox {
  workDir: string;
  early: EarlyAgentSandbox;
}

export interface AgentSandboxPool {
  /**
   * A pre-started agent container for this network policy, taken out of the pool (it is
   * never given to another run), or null when none is waiting or starting. One still starting
   * is handed out too: its start began before this run asked, so the run waits less for it
   * than for one of its own (back-to-back runs). Either way the pool starts a replacement for
   * this spec in the background. A container whose image is no longer the one
   * the image name points to (the operator rebuilt it) is removed instead of handed out: the
   * run's snapshot key names the current image.
   */
  take(spec: { network: NetworkPolicy }): Promise<PooledAgentSandbox | null>;
  /** How many containers are waiting, per spec (tests, logs). */
  size(): number;
  /** Removes every waiting container and its run folder; later takes return null. */
  close(): Promise<void>;
}

export interface AgentSandboxPoolOptions {
  session: AgentSandboxDeps;
  newRunFolder: () => Promise<RunFolder>;
  /** Containers kept waiting per spec; 0 turns the pool off. */
  size: number;
  /** A container that waited this long is removed (and replaced only when its spec is asked for again). */
  maxIdleMs?: number;
  /** How many specs (agent network policies) are kept warm: the most recently asked. */
  maxSpecs?: number;
  /** Replacements start this long after a take, so they do not compete with that run's own start-up. */
  refillDelayMs?: number;
  /** Put on every pooled container besides POOL_LABEL (the provider adds its host label). */
  labels?: Record<string, string>;
  log?: Logger;
}

interface Entry {
  key: string;
  folder: RunFolder;
  early: EarlyAgentSandbox;
  /** The image id the name pointed to when the container was made (undefined: the provider cannot tell). */
  imageId: string | undefined;
  idleTimer?: NodeJS.Timeout;
  /** Set once discarded (an idle timeout can fire while the container is still starting). */
  gone: boolean;
  /** Taken by a run while still starting: that run's session owns it (and reports a failed start). */
  claimed: boolean;
}

const keyOf = (image: string, network: NetworkPolicy) => JSON.stringify({ image, network });

/**
 * Issue 17: agent containers started before any run asks for one, so `docker start` and
 * the exec server's start are off a run's path entirely. Each waits on its own empty run
 * folder (the working copy is checked out into it once a run takes it).
 *
 * Safe to keep waiting because nothing runs in a pooled container but `sleep` and the exec
 * server the host started: no run's code, no repository, no secret. A container is taken
 * by one run only and disposed by that run's session like any early start; it is keyed on
 * the image and the exact agent network policy, so a run never gets a wider network than
 * its own. Waiting containers carry POOL_LABEL and the runtime's instance labels, so the
 * reaper removes them if the worker dies, and `close` removes them on shutdown.
 */
export function createAgentSandboxPool(options: AgentSandboxPoolOptions): AgentSandboxPool {
  const log = options.log ?? createSilentLogger();
  const maxIdleMs = options.maxIdleMs ?? 15 * 60_000;
  const maxSpecs = options.maxSpecs ?? 4;
  const refillDelayMs = options.refillDelayMs ?? 1_000;
  const labels = { ...options.labels, [POOL_LABEL]: '1' };
  const waiting = new Map<string, Entry[]>();
  /** Specs asked for, most recent last, with their network. */
  const wanted = new Map<string, NetworkPolicy>();
  /** Starts in flight per spec (counted against `size`; a claimed one no longer counts). */
  const starting = new Map<string, number>();
  /** Starts in flight whose folder and container request exist: a run may claim one. */
  const startingEntries = new Map<string, Entry[]>();
  const refills = new Set<NodeJS.Timeout>();
  const inFlight = new Set<Promise<void>>();
  let closed = false;

  /** `waiting` and `startingEntries` keep entries per spec the same way. */
  const listIn = (lists: Map<string, Entry[]>, entry: Entry) =>
    lists.set(entry.key, [...(lists.get(entry.key) ?? []), entry]);
  const unlistFrom = (lists: Map<string, Entry[]>, entry: Entry) => {
    const list = lists.get(entry.key) ?? [];
    const at = list.indexOf(entry);
    if (at >= 0) list.splice(at, 1);
    if (list.length === 0) lists.delete(entry.key);
  };
  const remove = (entry: Entry) => {
    clearTimeout(entry.idleTimer);
    unlistFrom(waiting, entry);
  };
  const countStart = (key: string, by: number) => starting.set(key, (starting.get(key) ?? 0) + by);
  const discard = async (entry: Entry) => {
    entry.gone = true;
    remove(entry);
    await entry.early.dispose();
    await entry.folder.dispose().catch(() => undefined);
  };

  const { sandboxes, image } = options.session;
  const currentImageId = () =>
    sandboxes.imageId ? sandboxes.imageId(image).catch(() => undefined) : Promise.resolve(undefined);

  const startOne = async (key: string, network: NetworkPolicy) => {
    countStart(key, 1);
    let folder: RunFolder | undefined;
    let entry: Entry | undefined;
    try {
      const imageId = await currentImageId();
      folder = await options.newRunFolder();
      const early = startAgentSandboxOn(options.session, { workDir: folder.workDir, network, labels });
      const made: Entry = { key, folder, early, imageId, gone: false, claimed: false };
      entry = made;
      listIn(startingEntries, made);
      // Only a container that started (with its exec server, when the image has one) waits.
      try {
        await early.sandbox;
        await early.serverStarted;
      } finally {
        unlistFrom(startingEntries, made);
      }
      // A run took it while it started: the run's session uses and disposes it, even after `close`.
      if (made.claimed) return;
      if (closed || made.gone || !wanted.has(key)) {
        await discard(made);
        return;
      }
      // The idle clock starts once it waits.
      made.idleTimer = setTimeout(() => void discard(made), maxIdleMs);
      made.idleTimer.unref();
      listIn(waiting, made);
    } catch (err) {
      // A claimed start that failed is the run's to report (its session awaits the same start).
      if (entry?.claimed) return;
      log.warn({ err }, 'A pooled agent sandbox did not start');
      if (entry) await discard(entry);
      else await folder?.dispose().catch(() => undefined);
    } finally {
      if (!entry?.claimed) countStart(key, -1);
    }
  };

  const refill = (key: string) => {
    if (closed || options.size <= 0) return;
    const network = wanted.get(key);
    if (!network) return;
    const missing = options.size - (waiting.get(key)?.length ?? 0) - (starting.get(key) ?? 0);
    for (let i = 0; i < missing; i++) {
      const started = startOne(key, network);
      inFlight.add(started);
      void started.finally(() => inFlight.delete(started));
    }
  };

  const want = (key: string, network: NetworkPolicy) => {
    wanted.delete(key);
    wanted.set(key, network);
    // Specs nobody asked for lately lose their waiting containers.
    while (wanted.size > maxSpecs) {
      const oldest = wanted.keys().next().value as string;
      wanted.delete(oldest);
      for (const entry of [...(waiting.get(oldest) ?? [])]) void discard(entry);
    }
  };

  return {
    async take({ network }) {
      if (closed || options.size <= 0) return null;
      const key = keyOf(options.session.image, network);
      want(key, network);
      let entry = waiting.get(key)?.[0];
      if (entry) remove(entry);
      else {
        entry = startingEntries.get(key)?.[0];
        if (entry) {
          // Claimed: out of the starting list and count, so the refill below starts another.
          entry.claimed = true;
          unlistFrom(startingEntries, entry);
          countStart(key, -1);
        }
      }
      const timer = setTimeout(() => {
        refills.delete(timer);
        refill(key);
      }, refillDelayMs);
      timer.unref();
      refills.add(timer);
      if (!entry) return null;
      if (entry.imageId !== undefined && (await currentImageId()) !== entry.imageId) {
        log.info({ workDir: entry.folder.workDir }, 'Pooled agent sandbox runs an older image; removed');
        void discard(entry);
        return null;
      }
      log.info(
        { workDir: entry.folder.workDir, stillStarting: entry.claimed },
        'Agent sandbox taken from the pool',
      );
      return { workDir: entry.folder.workDir, early: entry.early };
    },
    size() {
      let n = 0;
      for (const list of waiting.values()) n += list.length;
      return n;
    },
    async close() {
      closed = true;
      for (const timer of refills) clearTimeout(timer);
      refills.clear();
      // Starts in flight discard themselves once they see `closed`.
      const all = [...waiting.values()].flat();
      await Promise.all([...all.map((entry) => discard(entry)), ...inFlight]);
    },
  };
}
