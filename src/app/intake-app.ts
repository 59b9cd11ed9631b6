import type { ApplicationFunction } from 'probot';
import type { Logger } from '../logger.js';
import type { ParkedDelivery } from '../queue/parked-deliveries.js';
import { createDeliveryDispatch } from './delivery-dispatch.js';
import { createCiResultHandlers } from './handlers/ci-result-handlers.js';
import { createDashboardHandler } from './handlers/dashboard-handler.js';
import { createInstallationHandlers } from './handlers/installation-handlers.js';
import { createIssuesHandler } from './handlers/issues-handler.js';
import { createMentionHandlers } from './handlers/mention-handlers.js';
import { createPullRequestClosedHandler } from './handlers/pull-request-closed-handler.js';
import { createPushHandler } from './handlers/push-handler.js';
import { createIntakeContext, type IntakeDeps } from './intake-context.js';
import { createScheduleSync, SYNC_REPOSITORY_EVENT } from './schedule-sync.js';

export type { IntakeDeps, IntakeSettings } from './intake-context.js';
export { SYNC_REPOSITORY_EVENT } from './schedule-sync.js';

export interface IntakeApp {
  appFn: ApplicationFunction;
  /** Handles a parked delivery again; throws while GitHub is still away. */
  replay(delivery: ParkedDelivery, log: Logger): Promise<void>;
  /** The webhook event names (`issues`, `push`, …) the app has handlers for. */
  handledEvents(): string[];
}

/**
 * The Probot application: webhook → match → authorize → enqueue → 👀 request.
 * Every handler answers quickly: the only GitHub calls on the way are cache
 * misses (permission, config file); the 👀 is posted by the workers, and a
 * config-problems comment runs after the answer with its errors logged.
 * Each handler is one file under `handlers/`; a new event is one more spec here.
 */
export function createIntakeApp(deps: IntakeDeps): IntakeApp {
  const ctx = createIntakeContext(deps);
  const sync = createScheduleSync(ctx);
  const dispatch = createDeliveryDispatch({
    specs: [
      createIssuesHandler(ctx),
      createDashboardHandler(ctx),
      ...createMentionHandlers(ctx),
      createPullRequestClosedHandler(ctx),
      createPushHandler(ctx, sync),
      ...createCiResultHandlers(ctx),
      ...createInstallationHandlers(ctx, sync),
    ],
    replayOnly: { [SYNC_REPOSITORY_EVENT]: (payload, log) => sync.replay(payload, log) },
    metrics: deps.metrics,
    log: deps.log,
    park: deps.park,
  });
  return {
    appFn: (app) => dispatch.attach(app),
    replay: (delivery, log) => dispatch.replay(delivery, log),
    handledEvents: () => dispatch.handledEvents(),
  };
}
