// Prometheus text exposition (format 0.0.4) for the gateway: counters and histograms with labels.

type Labels = Record<string, string>;

function labelKey(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map(
      (k) => `${k}="${String(labels[k]).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`,
    )
    .join(',');
}

/** A counter with fixed label names; the hot path joins label values into a map key, nothing more. */
class Counter {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[] = [],
  ) {}
  /** `values` in the order of `labelNames`. */
  inc(values: readonly string[] = [], by = 1): void {
    const k = values.join('\u0001');
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    if (this.values.size === 0 && this.labelNames.length === 0) lines.push(`${this.name} 0`);
    for (const [k, v] of this.values) {
      const parts = k.split('\u0001');
      const labels: Labels = {};
      this.labelNames.forEach((n, i) => {
        labels[n] = parts[i] ?? '';
      });
      const key = labelKey(labels);
      lines.push(`${this.name}${key ? `{${key}}` : ''} ${v}`);
    }
    return lines.join('\n');
  }
}

class Histogram {
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {}
  /** Without labels no key is built: the gateway observes ITL once per generated piece. */
  observe(value: number, labels?: Labels): void {
    const k = labels ? labelKey(labels) : '';
    let s = this.series.get(k);
    if (!s) {
      s = { counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0 };
      this.series.set(k, s);
    }
    for (let i = 0; i < this.buckets.length; i++)
      if (value <= (this.buckets[i] as number)) s.counts[i] = (s.counts[i] ?? 0) + 1;
    s.sum += value;
    s.count++;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const [k, s] of this.series) {
      const sep = k ? `${k},` : '';
      this.buckets.forEach((b, i) => {
        lines.push(`${this.name}_bucket{${sep}le="${b}"} ${s.counts[i] ?? 0}`);
      });
      lines.push(`${this.name}_bucket{${sep}le="+Inf"} ${s.count}`);
      lines.push(`${this.name}_sum${k ? `{${k}}` : ''} ${s.sum}`);
      lines.push(`${this.name}_count${k ? `{${k}}` : ''} ${s.count}`);
    }
    return lines.join('\n');
  }
}

const SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class GatewayMetrics {
  readonly requests = new Counter(
    'inference_requests_total',
    'HTTP requests answered, by route and status code.',
    ['route', 'status'],
  );
  readonly promptTokens = new Counter('inference_prompt_tokens_total', 'Prompt tokens processed.');
  readonly generatedTokens = new Counter('inference_generation_tokens_total', 'Tokens generated.');
  readonly rejected = new Counter(
    'inference_rejected_total',
    'Requests refused by admission control, by reason.',
    ['reason'],
  );
  readonly ttft = new Histogram(
    'inference_time_to_first_token_seconds',
    'Time from request to the first generated text.',
    SECONDS,
  );
  readonly itl = new Histogram(
    'inference_inter_token_latency_seconds',
    'Gap between successive streamed text chunks.',
    SECONDS,
  );
  readonly e2e = new Histogram(
    'inference_e2e_request_latency_seconds',
    'Time from request to the last byte of a generation.',
    SECONDS,
  );
  readonly queueTime = new Histogram(
    'inference_queue_time_seconds',
    'Time a request waited for a slot.',
    SECONDS,
  );

  render(gauges: Record<string, { help: string; value: number }>): string {
    const parts = [
      this.requests,
      this.promptTokens,
      this.generatedTokens,
      this.rejected,
      this.ttft,
      this.itl,
      this.e2e,
      this.queueTime,
    ].map((m) => m.render());
    for (const [name, g] of Object.entries(gauges))
      parts.push(`# HELP ${name} ${g.help}\n# TYPE ${name} gauge\n${name} ${g.value}`);
    return `${parts.join('\n')}\n`;
  }
}
