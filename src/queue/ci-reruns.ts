import type { Redis } from 'ioredis';
import { z } from 'zod';

/**
 * Flaky-check re-runs that do not hold a worker slot (issue 15 item 1). A repair that may
 * re-run failed Actions jobs (`actions: write`) records which runs it re-ran and what was
 * failing, starts the re-runs and ends its job; the re-runs' own `workflow_run.completed`
 * webhooks tick the runs off here, and the last one (exactly once, atomically) tells the app
 * to queue the repair again, which then compares: what passes now was flaky.
 *
 * Key: `<pull key>:rerun:<sha>` (hash): `failures` (JSON), `status`
 * (`pending` → `done`), and one `run:<id>` field per re-run holding the attempt it was at.
 */

const RERUN_TTL_SECONDS = 24 * 60 * 60;

export const RerunState = z.object({
  status: z.enum(['pending', 'done']),
  /** The check names that were failing when the re-run started. */
  failures: z.array(z.string().max(200)).max(100),
});
export type RerunState = z.infer<typeof RerunState>;

/**
 * KEYS[1] rerun hash. ARGV: run id, its completed attempt. Returns 1 when this completion was the
 * last one missing (status pending → done), else 0. A run at its old attempt (the first
 * attempt's own completion, redelivered) does not count.
 */
const RUN_FINISHED = `
if redis.call('HGET', KEYS[1], 'status') ~= 'pending' then return 0 end
local before = redis.call('HGET', KEYS[1], 'run:' .. ARGV[1])
if not before then return 0 end
if tonumber(ARGV[2]) <= tonumber(before) then return 0 end
redis.call('HDEL', KEYS[1], 'run:' .. ARGV[1])
for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(field, 1, 4) == 'run:' then return 0 end
end
redis.call('HSET', KEYS[1], 'status', 'done')
return 1
`;

export function createCiReruns(redis: Redis) {
  return {
    /** Recorded before the re-runs start, so a re-run that finishes at once still finds it. */
    async start(
      key: string,
      runs: { id: number; runAttempt: number }[],
      state: Pick<RerunState, 'failures'>,
    ): Promise<void> {
      const fields: Record<string, string> = {
        status: 'pending',
        failures: JSON.stringify(state.failures),
      };
      for (const r of runs) fields[`run:${r.id}`] = String(r.runAttempt);
      await redis.multi().del(key).hset(key, fields).expire(key, RERUN_TTL_SECONDS).exec();
    },

    async runFinished(key: string, runId: number, runAttempt: number): Promise<boolean> {
      return (await redis.eval(RUN_FINISHED, 1, key, String(runId), String(runAttempt))) === 1;
    },

    async get(key: string): Promise<RerunState | null> {
      const raw = await redis.hgetall(key);
      if (Object.keys(raw).length === 0) return null;
      try {
        const parsed = RerunState.safeParse({
          status: raw.status,
          failures: JSON.parse(raw.failures ?? '[]'),
        });
        return parsed.success ? parsed.data : null;
      } catch {
        return null;
      }
    },

    async forget(key: string): Promise<void> {
      await redis.del(key);
    },
  };
}
