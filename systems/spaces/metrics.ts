// Prometheus text exposition (format 0.0.4) for the relay: counters, gauges read at scrape time, and
// one latency histogram. Hot paths only add to numbers; rendering happens on GET /metrics.

type Sample = [labels: Record<string, string>, value: number];

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function line(name: string, labels: Record<string, string>, value: number): string {
  const keys = Object.keys(labels);
  const l = keys.length ? `{${keys.map((k) => `${k}="${escapeLabel(labels[k] ?? '')}"`).join(',')}}` : '';
  return `${name}${l} ${Number.isFinite(value) ? value : 0}`;
}

/** Submit-to-result buckets, seconds: 0.5 ms to 2 min. */
export const LATENCY_BUCKETS_S = [
  0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120,
] as const;

export class RelayMetrics {
  submits = 0;
  dispatches = 0;
  redispatches = 0;
  lateResults = 0;
  rejectedSubmits = new Map<string, number>();
  finished = new Map<string, number>();
  private readonly bucketCounts = new Array<number>(LATENCY_BUCKETS_S.length).fill(0);
  private latencySum = 0;
  private latencyCount = 0;

  reject(code: string): void {
    this.rejectedSubmits.set(code, (this.rejectedSubmits.get(code) ?? 0) + 1);
  }

  finish(status: string, latencyS: number): void {
    this.finished.set(status, (this.finished.get(status) ?? 0) + 1);
    if (status !== 'completed') return;
    this.latencySum += latencyS;
    this.latencyCount++;
    for (let i = 0; i < LATENCY_BUCKETS_S.length; i++) {
      if (latencyS <= (LATENCY_BUCKETS_S[i] as number)) {
        this.bucketCounts[i] = (this.bucketCounts[i] ?? 0) + 1;
        break;
      }
    }
  }

  /** The exposition; `gauges` are read from the relay at scrape time. */
  render(gauges: {
    connections: Sample[];
    queueDepth: Sample[];
    inFlight: Sample[];
    viewers: number;
  }): string {
    const out: string[] = [];
    const family = (name: string, type: string, help: string, samples: Sample[]) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, v] of samples) out.push(line(name, labels, v));
    };
    family('spaces_app_connections', 'gauge', 'Registered app connections per space.', gauges.connections);
    family(
      'spaces_queue_depth',
      'gauge',
      'Queued (not yet dispatched) requests per space.',
      gauges.queueDepth,
    );
    family('spaces_in_flight', 'gauge', 'Dispatched requests awaiting a result, per space.', gauges.inFlight);
    family('spaces_viewer_connections', 'gauge', 'Browser connections on the /viewers namespace.', [
      [{}, gauges.viewers],
    ]);
    family('spaces_submits_total', 'counter', 'Requests accepted by POST /websockets/submit.', [
      [{}, this.submits],
    ]);
    family(
      'spaces_submits_rejected_total',
      'counter',
      'Submits refused, by error code.',
      [...this.rejectedSubmits].map(([code, v]) => [{ code }, v]),
    );
    family('spaces_dispatches_total', 'counter', 'inference_request events sent to apps (all attempts).', [
      [{}, this.dispatches],
    ]);
    family('spaces_redispatches_total', 'counter', 'Requests re-queued after their app disconnected.', [
      [{}, this.redispatches],
    ]);
    family('spaces_results_total', 'counter', 'Requests that reached a terminal status, by status.', [
      ...['completed', 'failed', 'timeout'].map((s): Sample => [{ status: s }, this.finished.get(s) ?? 0]),
    ]);
    family('spaces_late_results_total', 'counter', 'inference_result events refused as late or foreign.', [
      [{}, this.lateResults],
    ]);
    const h = 'spaces_submit_to_result_seconds';
    out.push(`# HELP ${h} Submit accepted to result stored, completed requests.`, `# TYPE ${h} histogram`);
    let cumulative = 0;
    LATENCY_BUCKETS_S.forEach((le, i) => {
      cumulative += this.bucketCounts[i] ?? 0;
      out.push(line(`${h}_bucket`, { le: String(le) }, cumulative));
    });
    out.push(line(`${h}_bucket`, { le: '+Inf' }, this.latencyCount));
    out.push(line(`${h}_sum`, {}, this.latencySum), line(`${h}_count`, {}, this.latencyCount));
    return `${out.join('\n')}\n`;
  }
}
