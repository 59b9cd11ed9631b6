import type { Socket } from 'node:net';
import type { Redis } from 'ioredis';

const COALESCED = Symbol('pullwright.coalescedWrites');

/**
 * Sends all the commands one turn of the event loop issues to Redis in one
 * write instead of one write each.
 *
 * Why: ioredis writes each command to its socket the moment it is issued, so
 * every delivery's dedup `SET NX`, BullMQ add and 👀 `XADD` each cost a write
 * system call, and on a VM with page-table isolation a system call costs more
 * than the command's own JavaScript. Under load many deliveries are in flight
 * at once; their commands (and the follow-ups that Redis's batched replies
 * release together) now share a `writev`. ioredis's own auto-pipelining does
 * not help here: it batches only within one tick, and the deliveries' commands
 * come from different I/O callbacks.
 *
 * The socket is corked on the turn's first write and uncorked in the check
 * phase (`setImmediate`), after every I/O callback of that turn has run; a lone
 * command waits at most for the rest of the turn. Order is kept: a corked
 * socket flushes its chunks in the order they were written, which is all
 * ioredis's reply matching needs. Each new socket (after a reconnect) is set up
 * again on `connect`.
 */
export function coalesceWrites(redis: Redis): Redis {
  const setUp = () => {
    const socket = redis.stream as (Socket & { [COALESCED]?: true }) | undefined;
    if (!socket || socket[COALESCED]) return;
    socket[COALESCED] = true;
    const write = socket.write;
    let corked = false;
    const flush = () => {
      corked = false;
      if (!socket.destroyed) socket.uncork();
    };
    socket.write = function coalescedWrite(this: Socket, ...args: Parameters<Socket['write']>) {
      if (!corked) {
        corked = true;
        socket.cork();
        setImmediate(flush);
      }
      return write.apply(this, args);
    } as Socket['write'];
  };
  redis.on('connect', setUp);
  setUp();
  return redis;
}
