import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { createAgentSandboxPool } from '../../worker/flows/agent-sandbox-pool.js';
import type { Sandbox, SandboxProvider } from '../../worker/sandbox/sandbox.js';

/**
 * The pool's bookkeeping when a run takes a container that is still starting (issue 17,
 * back-to-back runs), with a fake provider whose starts the test settles by hand. Real
 * Docker runs the same path in tests/integration/agent-sandbox-pool.test.ts.
 */
describe('agent sandbox pool: a start taken while in flight', () => {
  const none = { mode: 'none' as const };

  const setUp = () => {
    const starts: Array<{ resolve: (box: Sandbox) => void; reject: (err: Error) => void; workDir: string }> =
      [];
    const disposedBoxes: string[] = [];
    const disposedFolders: string[] = [];
    const lines: Array<{ msg: string }> = [];
    const sandboxes: SandboxProvider = {
      create: (_policy, workDir) =>
        new Promise<Sandbox>((resolve, reject) => {
          starts.push({ resolve, reject, workDir });
        }),
    };
    let folders = 0;
    const pool = createAgentSandboxPool({
      session: { sandboxes, image: 'img', execServer: false },
      newRunFolder: async () => {
        const workDir = `/runs/pool-${++folders}/work`;
        return {
          workDir,
          dispose: async () => {
            disposedFolders.push(workDir);
          },
        };
      },
      size: 1,
      refillDelayMs: 0,
      log: createLogger({ destination: { write: (line: string) => lines.push(JSON.parse(line)) } }),
    });
    const box = (id: string) =>
      ({
        id,
        dispose: async () => {
          disposedBoxes.push(id);
        },
      }) as unknown as Sandbox;
    // Bounded by time, not by a count of polls: a busy machine stretches each 5 ms sleep.
    const until = async (check: () => boolean) => {
      const deadline = Date.now() + 10_000;
      while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      expect(check()).toBe(true);
    };
    return { pool, starts, box, disposedBoxes, disposedFolders, lines, until };
  };

  it('hands the run the start in flight, and starts exactly one replacement for the pool', async () => {
    const { pool, starts, box, disposedBoxes, until } = setUp();
    expect(await pool.take({ network: none })).toBeNull();
    await until(() => starts.length === 1);
    const claimed = await pool.take({ network: none });
    expect(claimed?.workDir).toBe(starts[0]?.workDir);
    // The claim frees the pool's slot: one replacement, not two, and not none.
    await until(() => starts.length === 2);
    await new Promise((r) => setTimeout(r, 30));
    expect(starts).toHaveLength(2);
    starts[0]?.resolve(box('claimed'));
    starts[1]?.resolve(box('replacement'));
    expect((await claimed?.early.sandbox)?.id).toBe('claimed');
    await until(() => pool.size() === 1);
    // The claimed one never joins the pool: the next take is the replacement.
    const next = await pool.take({ network: none });
    expect((await next?.early.sandbox)?.id).toBe('replacement');
    await pool.close();
    expect(disposedBoxes).not.toContain('claimed');
  });

  it('leaves a claimed start that fails to its run: no pool warning, its folder kept for the run to remove', async () => {
    const { pool, starts, disposedFolders, lines, until } = setUp();
    await pool.take({ network: none });
    await until(() => starts.length === 1);
    const claimed = await pool.take({ network: none });
    starts[0]?.reject(new Error('no room for another container'));
    await expect(claimed?.early.sandbox).rejects.toThrow('no room');
    await new Promise((r) => setTimeout(r, 20));
    expect(lines.map((l) => l.msg)).not.toContain('A pooled agent sandbox did not start');
    expect(disposedFolders).not.toContain(claimed?.workDir);
    // An unclaimed start that fails is the pool's: reported and its folder removed.
    await until(() => starts.length === 2);
    starts[1]?.reject(new Error('still no room'));
    await until(() => lines.some((l) => l.msg === 'A pooled agent sandbox did not start'));
    await until(() => disposedFolders.includes(starts[1]?.workDir as string));
    await pool.close();
  });

  it('a closing pool leaves a claimed start alone and removes the one it was starting for itself', async () => {
    const { pool, starts, box, disposedBoxes, disposedFolders, until } = setUp();
    await pool.take({ network: none });
    await until(() => starts.length === 1);
    const claimed = await pool.take({ network: none });
    await until(() => starts.length === 2);
    const closing = pool.close();
    starts[0]?.resolve(box('claimed'));
    starts[1]?.resolve(box('replacement'));
    await closing;
    expect(disposedBoxes).toEqual(['replacement']);
    expect(disposedFolders).toEqual([starts[1]?.workDir]);
    expect((await claimed?.early.sandbox)?.id).toBe('claimed');
  });
});
