import type { Probot } from 'probot';
import type { z } from 'zod';
import { PullwrightError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { ParkedDelivery } from '../queue/parked-deliveries.js';
import { countDelivery, type DeliveryContext, type HandledDeliveryOutcome } from './delivery-outcome.js';
import { isGitHubUnavailable, parkedEntry } from './parked-work.js';

/** One webhook handler: the events it serves, the payload fields it reads, and what it does. */
export interface HandlerSpec<S extends z.ZodType = z.ZodType> {
  events: string[];
  schema: S;
  handle(payload: z.infer<S>, delivery: DeliveryContext, log: Logger): Promise<HandledDeliveryOutcome>;
}

/** Keeps the payload's type between a handler's schema and its function. */
export function defineHandler<S extends z.ZodType>(spec: HandlerSpec<S>): HandlerSpec {
  return spec as unknown as HandlerSpec;
}

export interface DeliveryDispatch {
  /** Registers each spec's events with Probot (every delivery is parsed, logged, counted, maybe parked). */
  attach(app: Probot): void;
  /** Handles a parked delivery (or the app's own parked work) again; throws while GitHub is still away. */
  replay(delivery: ParkedDelivery, log: Logger): Promise<void>;
  /** The webhook event names (`issues`, `push`, …) there are handlers for. */
  handledEvents(): string[];
}

/**
 * The handler registry: parses each payload with its handler's schema, runs the
 * handler with a logger bound to the delivery, and counts the delivery's outcome.
 * When GitHub cannot answer a lookup the handler needs (after the port's own
 * retries), the parsed delivery is parked for a later replay and answered 200.
 */
export function createDeliveryDispatch(input: {
  specs: HandlerSpec[];
  /** Work parked by the app itself (not a GitHub event), replayed like a delivery. */
  replayOnly: Record<string, (payload: unknown, log: Logger) => Promise<void>>;
  metrics: Metrics;
  log: Logger;
  park?: (delivery: ParkedDelivery) => Promise<void>;
}): DeliveryDispatch {
  const { metrics, park } = input;
  const handlers = new Map<string, HandlerSpec>();
  for (const spec of input.specs) for (const event of spec.events) handlers.set(event, spec);
  // A Map, not the record itself: an event name like `constructor` must find nothing.
  const replayOnly = new Map(Object.entries(input.replayOnly));

  function deliveryLog(deliveryId: string, event: string, payload: unknown): Logger {
    const data = payload as {
      installation?: { id: number };
      repository?: { name: string; owner: { login: string } };
    };
    return input.log.child({
      deliveryId,
      event,
      installationId: data.installation?.id,
      repo: data.repository ? `${data.repository.owner.login}/${data.repository.name}` : undefined,
    });
  }

  async function dispatch(spec: HandlerSpec, context: DeliveryContext): Promise<void> {
    const event = `${context.name}.${(context.payload as { action?: string })?.action ?? ''}`.replace(
      /\.$/,
      '',
    );
    const parsed = spec.schema.safeParse(context.payload);
    if (!parsed.success) {
      countDelivery(metrics, event, 'invalid');
      input.log.warn(
        {
          deliveryId: context.id,
          event,
          issues: parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`),
        },
        'Webhook payload ignored: unexpected shape',
      );
      return;
    }
    // One child logger per delivery, bound once it is known to be well formed (pino
    // serializes a child's bindings when it is made, so each one costs on the hot path).
    const log = deliveryLog(context.id, event, parsed.data);
    let outcome: HandledDeliveryOutcome = 'error';
    try {
      outcome = await spec.handle(parsed.data, context, log);
    } catch (err) {
      if (!park || !isGitHubUnavailable(err)) throw err;
      // Parking failing too (Redis away) falls through to a 5xx: GitHub shows the failure.
      await park(
        parkedEntry(err, { event, deliveryId: context.id, name: context.name, payload: parsed.data }),
      );
      log.warn({ err }, 'GitHub unavailable: delivery parked for a later retry');
      outcome = 'parked';
    } finally {
      countDelivery(metrics, event, outcome);
    }
  }

  return {
    attach(app) {
      for (const spec of input.specs) {
        // Probot's typed event names are a union; we validate the payload ourselves.
        app.on(spec.events as never, (context: DeliveryContext) => dispatch(spec, context));
      }
    },
    handledEvents: () => [...new Set([...handlers.keys()].map((e) => e.split('.')[0] ?? e))],
    async replay(delivery, log) {
      const own = replayOnly.get(delivery.event);
      if (own) {
        await own(delivery.payload, log);
        log.info({ parkedAt: delivery.parkedAt }, 'Parked work handled');
        return;
      }
      const spec = handlers.get(delivery.event);
      if (!spec) {
        throw new PullwrightError('internal', `No handler for parked event ${delivery.event}`, {
          retryable: false,
        });
      }
      const parsed = spec.schema.safeParse(delivery.payload);
      if (!parsed.success) {
        throw new PullwrightError('input_invalid', 'Parked payload does not match its schema', {
          retryable: false,
        });
      }
      const outcome = await spec.handle(
        parsed.data,
        { id: delivery.deliveryId, name: delivery.name, payload: parsed.data },
        log,
      );
      log.info({ outcome, parkedAt: delivery.parkedAt }, 'Parked delivery handled');
    },
  };
}
