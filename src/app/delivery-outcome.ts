import type { Metrics } from '../metrics/metrics.js';

/**
 * What the app did with one webhook delivery: the `outcome` label of
 * `pullwright_webhook_deliveries_total` (dashboards read these values, keep them
 * stable). Not how a run ended: that is `RunOutcome` (src/domain/run-outcome.ts).
 * `rejected_<status>` is a request the endpoint refused before any handler ran.
 */
export type DeliveryOutcome = HandledDeliveryOutcome | `rejected_${number}`;

/** What a handler (or the dispatch around it) decided for a well-signed delivery. */
export type HandledDeliveryOutcome =
  | 'enqueued'
  | 'duplicate'
  | 'ignored'
  | 'unauthorized'
  | 'cancelled'
  | 'invalid'
  | 'scheduled'
  | 'parked'
  | 'error';

/** The delivery a handler runs for: GitHub's delivery id, event name and (parsed) payload. */
export interface DeliveryContext {
  id: string;
  name: string;
  payload: unknown;
}

/** Counts one delivery under its event and outcome: the only writer of the series. */
export function countDelivery(metrics: Metrics, event: string, outcome: DeliveryOutcome): void {
  metrics.inc('pullwright_webhook_deliveries_total', { event, outcome });
}
