/**
 * A few Prometheus counters, written by hand: the app needs five series, not a
 * metrics framework. Label values are escaped per the text exposition format.
 */
type Labels = Record<string, string>;

interface Series {
  help: string;
  type: 'counter' | 'gauge';
  values: Map<string, { labels: Labels; value: number }>;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labelKey(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}="${escapeLabel(labels[k] ?? '')}"`)
    .join(',');
}

const MAX_REMEMBERED_LABEL_SETS = 10_000;

export class Metrics {
  private readonly series = new Map<string, Series>();
  /**
   * Label sets seen before, by their values in the caller's key order: counters
   * are bumped on every delivery, and sorting and escaping each time was a
   * measurable part of the webhook path. Bounded by the label combinations.
   */
  private readonly keys = new Map<string, string>();

  constructor() {
    this.define('pullwright_webhook_deliveries_total', 'counter', 'Webhook deliveries by event and outcome.');
    this.define('pullwright_jobs_enqueued_total', 'counter', 'Jobs added to the queue, by kind.');
    this.define(
      'pullwright_dedup_hits_total',
      'counter',
      'Triggers that matched a live job or a seen delivery.',
    );
    this.define(
      'pullwright_authorization_refusals_total',
      'counter',
      'Triggers refused for lack of permission.',
    );
    this.define('pullwright_cancellations_total', 'counter', 'Cancel requests, by result.');
    this.define('pullwright_queue_depth', 'gauge', 'Jobs in the task queue, by state.');
    this.define(
      'pullwright_acknowledgements_pending',
      'gauge',
      'Requested 👀 reactions no worker has posted yet.',
    );
    this.define(
      'pullwright_model_cost_usd_total',
      'counter',
      'Model cost in US dollars (installation and repo labels only with METRICS_REPO_LABELS).',
    );
    this.define(
      'pullwright_parked_deliveries',
      'gauge',
      'Deliveries kept for a later retry because GitHub could not answer.',
    );
  }

  private define(name: string, type: Series['type'], help: string): void {
    this.series.set(name, { help, type, values: new Map() });
  }

  private keyOf(labels: Labels): string {
    let raw = '';
    for (const k in labels) raw += `${k}\u0000${labels[k]}\u0001`;
    let key = this.keys.get(raw);
    if (key === undefined) {
      key = labelKey(labels);
      if (this.keys.size < MAX_REMEMBERED_LABEL_SETS) this.keys.set(raw, key);
    }
    return key;
  }

  inc(name: string, labels: Labels = {}, by = 1): void {
    const series = this.series.get(name);
    if (!series) throw new Error(`unknown metric ${name}`);
    const key = this.keyOf(labels);
    const entry = series.values.get(key);
    if (entry) entry.value += by;
    else series.values.set(key, { labels, value: by });
  }

  set(name: string, labels: Labels, value: number): void {
    const series = this.series.get(name);
    if (!series) throw new Error(`unknown metric ${name}`);
    series.values.set(labelKey(labels), { labels, value });
  }

  get(name: string, labels: Labels = {}): number {
    return this.series.get(name)?.values.get(labelKey(labels))?.value ?? 0;
  }

  render(): string {
    const lines: string[] = [];
    for (const [name, series] of this.series) {
      lines.push(`# HELP ${name} ${series.help}`, `# TYPE ${name} ${series.type}`);
      for (const { labels, value } of series.values.values()) {
        const key = labelKey(labels);
        lines.push(key ? `${name}{${key}} ${value}` : `${name} ${value}`);
      }
    }
    return `${lines.join('\n')}\n`;
  }
}

/**
 * The model cost counter from the workers' totals in Redis (src/runs/cost-ledger.ts): one
 * series by default, one per installation and repository when the operator enables the
 * labels (a series per repo is a cost in every Prometheus that scrapes us).
 */
export function setModelCost(
  metrics: Metrics,
  costs: { installationId: string; repo: string; costUsd: number }[],
  repoLabels: boolean,
): void {
  if (!repoLabels) {
    metrics.set(
      'pullwright_model_cost_usd_total',
      {},
      costs.reduce((sum, c) => sum + c.costUsd, 0),
    );
    return;
  }
  for (const c of costs)
    metrics.set(
      'pullwright_model_cost_usd_total',
      { installation: c.installationId, repo: c.repo },
      c.costUsd,
    );
}
