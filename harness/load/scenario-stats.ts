import { LatencyRecorder } from '../measure/latency.ts';
import { quantileSorted } from '../measure/stats.ts';
import { type ThroughputResult, throughputFromCounts } from '../measure/throughput.ts';
import type { ScenarioSample } from './scenario-client.ts';
import { MAX_ERROR_SAMPLES } from './types.ts';

/** One endpoint label (or `all`) over one window: the run, or a stage's sustained window. */
export interface EndpointStats {
  label: string;
  /** Requests tallied, failures included. */
  requests: number;
  failures: number;
  /** Failures by kind: `HTTP 429`, `ECONNRESET`, `TimeoutError`, `CheckError`, an error's name. */
  failureKinds: Record<string, number>;
  /** The first few failure messages. */
  errorSamples: string[];
  /** Latency of the successful requests, ms (a failure's time says little: a refused connection is fast). */
  latency: LatencyRecorder;
  /** Requests per second over the window, failures included (as Locust and k6 count them). */
  rps: number;
  /** The same count in fixed intervals: the rate's spread and its series. */
  throughput: ThroughputResult;
}

/** Counts one label over one window. */
class Tally {
  requests = 0;
  failures = 0;
  readonly failureKinds: Record<string, number> = {};
  readonly errorSamples: string[] = [];
  readonly latency = new LatencyRecorder({ unit: 'ms', inject: false });
  private readonly buckets: number[] = [];

  constructor(
    readonly label: string,
    private readonly startMs: number,
    private readonly intervalMs: number,
  ) {}

  add(sample: ScenarioSample, ns: number, atMs: number): void {
    this.requests++;
    const bucket = Math.max(0, Math.floor((atMs - this.startMs) / this.intervalMs));
    while (this.buckets.length <= bucket) this.buckets.push(0);
    this.buckets[bucket]!++;
    if (sample.ok) {
      this.latency.record(ns);
      return;
    }
    this.failures++;
    const kind = sample.kind ?? 'Error';
    this.failureKinds[kind] = (this.failureKinds[kind] ?? 0) + 1;
    if (this.errorSamples.length < MAX_ERROR_SAMPLES) this.errorSamples.push(sample.message ?? kind);
  }

  finish(endMs: number): EndpointStats {
    const elapsedMs = Math.max(0, endMs - this.startMs);
    const full = Math.floor(elapsedMs / this.intervalMs);
    const throughput = throughputFromCounts(
      {
        count: this.requests,
        bytes: 0,
        elapsedMs,
        intervalMs: this.intervalMs,
        buckets: Array.from({ length: full }, (_, i) => this.buckets[i] ?? 0),
      },
      { inject: false },
    );
    return {
      label: this.label,
      requests: this.requests,
      failures: this.failures,
      failureKinds: { ...this.failureKinds },
      errorSamples: [...this.errorSamples],
      latency: this.latency,
      rps: throughput.rate,
      throughput,
    };
  }
}

/** All labels and their sum over one window, plus the users seen making requests in it. */
export class TallySet {
  private readonly all: Tally;
  private readonly byLabel = new Map<string, Tally>();
  readonly usersSeen = new Set<number>();

  constructor(
    private readonly startMs: number,
    private readonly intervalMs: number,
  ) {
    this.all = new Tally('all', startMs, intervalMs);
  }

  add(sample: ScenarioSample, ns: number, atMs: number, userId: number): void {
    this.all.add(sample, ns, atMs);
    let tally = this.byLabel.get(sample.label);
    if (!tally) {
      tally = new Tally(sample.label, this.startMs, this.intervalMs);
      this.byLabel.set(sample.label, tally);
    }
    tally.add(sample, ns, atMs);
    this.usersSeen.add(userId);
  }

  get requests(): number {
    return this.all.requests;
  }

  get failures(): number {
    return this.all.failures;
  }

  finish(endMs: number): { overall: EndpointStats; endpoints: EndpointStats[] } {
    return {
      overall: this.all.finish(endMs),
      endpoints: [...this.byLabel.values()]
        .map((t) => t.finish(endMs))
        .sort((a, b) => a.label.localeCompare(b.label)),
    };
  }
}

/** One bucket of the time series. */
export interface ScenarioBucket {
  /** Start of the bucket, ms since the run began. */
  atMs: number;
  requests: number;
  failures: number;
  /** Requests per second in the bucket (the last one is divided by its own, shorter, length). */
  rps: number;
  /** p95 of the successful requests that ended in the bucket, ms; undefined when none did. */
  p95Ms: number | undefined;
  /** Most users active at once in the bucket (stopping ones included until their task ends). */
  users: number;
}

/**
 * Fixed buckets over the run. Samples arrive in time order (each is stamped when it ends), so a
 * bucket is closed, its p95 taken and its raw times dropped, when the first later sample or tick
 * comes: memory stays at one bucket's samples however long the run.
 */
export class Timeline {
  private readonly buckets: ScenarioBucket[] = [];
  private current = 0;
  private times: number[] = [];
  private requests = 0;
  private failures = 0;
  private users = 0;
  private usersNow = 0;

  constructor(private readonly bucketMs: number) {}

  /** Close every bucket before the one holding `atMs`. */
  advance(atMs: number): void {
    const bucket = Math.floor(atMs / this.bucketMs);
    while (this.current < bucket) {
      this.close(this.bucketMs);
      this.current++;
    }
  }

  add(ms: number, ok: boolean, atMs: number): void {
    this.advance(atMs);
    this.requests++;
    if (ok) this.times.push(ms);
    else this.failures++;
  }

  setUsers(active: number, atMs: number): void {
    this.advance(atMs);
    this.usersNow = active;
    this.users = Math.max(this.users, active);
  }

  /** The last closed bucket, for progress lines. */
  last(): ScenarioBucket | undefined {
    return this.buckets[this.buckets.length - 1];
  }

  finish(endMs: number): ScenarioBucket[] {
    this.advance(endMs);
    const rest = endMs - this.current * this.bucketMs;
    if (rest > 0 && (this.requests > 0 || rest >= this.bucketMs / 2)) this.close(rest);
    return this.buckets;
  }

  private close(lengthMs: number): void {
    const sorted = this.times.sort((a, b) => a - b);
    const p95 = sorted.length ? quantileSorted(sorted, 0.95) : undefined;
    this.buckets.push({
      atMs: this.current * this.bucketMs,
      requests: this.requests,
      failures: this.failures,
      rps: (this.requests * 1000) / lengthMs,
      p95Ms: p95,
      users: this.users,
    });
    this.times = [];
    this.requests = 0;
    this.failures = 0;
    this.users = this.usersNow;
  }
}
