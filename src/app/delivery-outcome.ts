/**
 * What the app did with one webhook delivery: the `outcome` label of
 * `pullwright_webhook_deliveries_total` (dashboards read these values, keep them
 * stable). Not how a run ended: that is `RunOutcome` (src/domain/run-outcome.ts).
 */
export type DeliveryOutcome =
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
