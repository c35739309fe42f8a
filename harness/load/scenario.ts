import { LatencyRecorder } from '../measure/latency.ts';
import { injectAfter } from '../measure/slowdown.ts';
import { seededRandom } from '../measure/stats.ts';
import { progress } from '../run/progress.ts';
import { yieldToLoop } from './closed-model.ts';
import {
  failureKind,
  failureMessage,
  ScenarioClient,
  type ScenarioContext,
  ScenarioRequestError,
  type ScenarioSample,
} from './scenario-client.ts';
import {
  parseScenario,
  type ScenarioConfig,
  type ScenarioOptions,
  type ScenarioStage,
  type ScenarioUserClass,
} from './scenario-config.ts';
import { type EndpointStats, type ScenarioBucket, TallySet, Timeline } from './scenario-stats.ts';

/** One stage: the ramp to its users, then its sustained window, which alone its figures measure. */
export interface StageResult {
  /** 0-based position; figures call it `stage${index + 1}`. */
  index: number;
  /** The stage's target users and spawn rate (users/s). */
  users: number;
  spawnRate: number;
  /** Ramp start, hold start and hold end, ms since the run began. */
  startMs: number;
  holdStartMs: number;
  endMs: number;
  /** Users running (started, not told to stop) when the hold began, in all and by class. */
  usersReached: number;
  usersByClass: Record<string, number>;
  /** Distinct users with a request that ended in the hold. */
  usersSeen: number;
  /** Over the hold only. */
  overall: EndpointStats;
  endpoints: EndpointStats[];
}

export interface ScenarioResult {
  /** `aborted`: the caller's signal ended the run; what was measured until then is kept. */
  state: 'completed' | 'aborted';
  /** performance.now() when the run began: every `...Ms` of the result counts from it. */
  t0Ms: number;
  elapsedMs: number;
  /** The whole run, ramps included. */
  overall: EndpointStats;
  endpoints: EndpointStats[];
  stages: StageResult[];
  /** One bucket per `bucketMs`: p95, RPS, active users and failures over time. */
  series: ScenarioBucket[];
  users: {
    spawned: number;
    spawnedByClass: Record<string, number>;
    /** Most users active at once. */
    peak: number;
    /** Users whose task ignored the hard stop and never ended (their connections were closed). */
    abandoned: number;
  };
  /** How late the driver's bucket tick fired, ms: a saturated driver measures itself. */
  driverLag: LatencyRecorder;
  valid: boolean;
  invalidReason?: string;
}

interface UserRun {
  id: number;
  cls: ScenarioUserClass;
  stopping: boolean;
  /** Aborted to cut the user's think time short when it is told to stop. */
  wake: AbortController;
  client: ScenarioClient;
  done: Promise<void>;
}

/** After the graceful stop and the hard stop, users get this long before they are abandoned, ms. */
const ABANDON_AFTER_MS = 1_000;

/**
 * Runs user classes against an HTTP target through ramp stages, as Locust's user classes with a
 * LoadTestShape or k6's `stages` do: each user loops "pick a task by weight, run it, think",
 * timing every request under its endpoint label. Failures are data (counted with samples), never
 * exceptions; only invalid options throw (RigError RIG_LOAD_INVALID, before anything starts).
 * Every timer, socket and user is gone when it returns, whatever happened.
 */
export async function runScenario(options: ScenarioOptions): Promise<ScenarioResult> {
  return new ScenarioRun(parseScenario(options)).run();
}

class ScenarioRun {
  private readonly hardStop = new AbortController();
  private readonly t0 = performance.now();
  /** Users whose loop has not ended, by id (ids grow, so iteration order is spawn order). */
  private readonly alive = new Map<number, UserRun>();
  private readonly running: Record<string, number> = {};
  private readonly spawned: Record<string, number> = {};
  private readonly totalWeight: number;
  private nextId = 0;
  private peak = 0;
  private readonly whole: TallySet;
  private readonly timeline: Timeline;
  private hold: TallySet | undefined;
  private readonly lag = new LatencyRecorder({ unit: 'ms', inject: false });
  private tick: NodeJS.Timeout | undefined;
  private where = 'starting';
  private finished = false;
  private target = 0;

  constructor(private readonly config: ScenarioConfig) {
    for (const cls of config.users) {
      this.running[cls.name] = 0;
      this.spawned[cls.name] = 0;
    }
    this.totalWeight = config.users.reduce((sum, c) => sum + c.weight, 0);
    this.whole = new TallySet(0, config.bucketMs);
    this.timeline = new Timeline(config.bucketMs);
  }

  private now(): number {
    return performance.now() - this.t0;
  }

  private get aborted(): boolean {
    return this.hardStop.signal.aborted;
  }

  private get runningTotal(): number {
    return Object.values(this.running).reduce((a, b) => a + b, 0);
  }

  async run(): Promise<ScenarioResult> {
    const { signal } = this.config;
    const onAbort = () => this.hardStop.abort();
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    this.scheduleTick(1);
    const stages: StageResult[] = [];
    let abandoned = 0;
    try {
      for (const [index, stage] of this.config.stages.entries()) {
        const result = await this.runStage(index, stage);
        if (!result) break;
        stages.push(result);
      }
    } finally {
      abandoned = await this.stopAll();
      clearTimeout(this.tick);
      signal?.removeEventListener('abort', onAbort);
    }
    this.finished = true;
    const elapsedMs = this.now();
    const { overall, endpoints } = this.whole.finish(elapsedMs);
    const state = signal?.aborted ? 'aborted' : 'completed';
    const lagP99 = this.lag.n > 0 ? this.lag.stats('p99', 100).p99 : 0;
    const invalidReason =
      state === 'aborted'
        ? `aborted by the caller after ${(elapsedMs / 1000).toFixed(1)} s`
        : overall.requests === 0
          ? 'no request was made'
          : lagP99 > this.config.bucketMs
            ? `the driver itself was late: its ${this.config.bucketMs} ms tick fired ${lagP99.toFixed(0)} ms late (p99)`
            : undefined;
    progress(
      `${this.config.label}: done in ${(elapsedMs / 1000).toFixed(1)} s, ${overall.requests} requests, ${overall.failures} failed`,
      true,
    );
    return {
      state,
      t0Ms: this.t0,
      elapsedMs,
      overall,
      endpoints,
      stages,
      series: this.timeline.finish(elapsedMs),
      users: {
        spawned: this.nextId,
        spawnedByClass: { ...this.spawned },
        peak: this.peak,
        abandoned,
      },
      driverLag: this.lag,
      valid: invalidReason === undefined,
      ...(invalidReason ? { invalidReason } : {}),
    };
  }

  /** Ramp to the stage's users at its spawn rate, then hold; undefined when aborted before the hold. */
  private async runStage(index: number, stage: ScenarioStage): Promise<StageResult | undefined> {
    const stages = this.config.stages.length;
    const startMs = this.now();
    this.where = `stage ${index + 1}/${stages}`;
    this.target = stage.users;
    progress(
      `${this.config.label}: stage ${index + 1}/${stages}: to ${stage.users} users at ${stage.spawnRate}/s, then ${stage.holdS} s`,
      true,
    );
    // Starts and stops on a fixed schedule, so a slow spawn does not stretch the ramp.
    const gapMs = 1000 / stage.spawnRate;
    let next = startMs;
    while (!this.aborted && this.runningTotal !== stage.users) {
      if (this.runningTotal < stage.users) this.spawn();
      else this.stopOne();
      if (this.runningTotal === stage.users) break;
      next += gapMs;
      await sleep(next - this.now(), this.hardStop.signal);
    }
    if (this.aborted) return undefined;
    const holdStartMs = this.now();
    const usersByClass = { ...this.running };
    const holdMs = stage.holdS * 1000;
    // At least 10 intervals in the window, so that its rate has a spread to show.
    const hold = new TallySet(holdStartMs, Math.min(this.config.bucketMs, Math.max(10, holdMs / 10)));
    this.hold = hold;
    await sleep(holdMs, this.hardStop.signal);
    this.hold = undefined;
    const endMs = this.now();
    return {
      index,
      users: stage.users,
      spawnRate: stage.spawnRate,
      startMs,
      holdStartMs,
      endMs,
      usersReached: Object.values(usersByClass).reduce((a, b) => a + b, 0),
      usersByClass,
      usersSeen: hold.usersSeen.size,
      ...hold.finish(endMs),
    };
  }

  /**
   * The class most below its share once one more user runs (largest remainder, ties to the
   * class listed first): weights 9:1 give 5:0, 9:1, 18:2 users, the same in every run.
   */
  private classToStart(): ScenarioUserClass {
    const n = this.runningTotal + 1;
    let best = this.config.users[0]!;
    let bestDeficit = Number.NEGATIVE_INFINITY;
    for (const cls of this.config.users) {
      const deficit = (n * cls.weight) / this.totalWeight - this.running[cls.name]!;
      if (deficit > bestDeficit + 1e-9) {
        best = cls;
        bestDeficit = deficit;
      }
    }
    return best;
  }

  /** The class most above its share once one user fewer runs; its newest running user stops. */
  private stopOne(): void {
    const n = this.runningTotal - 1;
    let pick: ScenarioUserClass | undefined;
    let bestSurplus = Number.NEGATIVE_INFINITY;
    for (const cls of this.config.users) {
      if (this.running[cls.name] === 0) continue;
      const surplus = this.running[cls.name]! - (n * cls.weight) / this.totalWeight;
      if (surplus >= bestSurplus - 1e-9) {
        pick = cls;
        bestSurplus = surplus;
      }
    }
    const users = [...this.alive.values()].filter((u) => u.cls === pick && !u.stopping);
    const newest = users[users.length - 1];
    if (newest) this.stop(newest);
  }

  private stop(user: UserRun): void {
    if (user.stopping) return;
    user.stopping = true;
    this.running[user.cls.name]!--;
    user.wake.abort();
  }

  private spawn(): void {
    const cls = this.classToStart();
    const id = this.nextId++;
    const client = new ScenarioClient({
      baseUrl: this.config.baseUrl.replace(/\/+$/, ''),
      headers: { 'user-agent': 'rig-scenario', ...this.config.headers },
      requestTimeoutMs: this.config.requestTimeoutMs,
      signal: this.hardStop.signal,
      sink: (sample) => this.record(sample, id),
    });
    const user: UserRun = {
      id,
      cls,
      stopping: false,
      wake: new AbortController(),
      client,
      done: Promise.resolve(),
    };
    this.alive.set(id, user);
    this.running[cls.name]!++;
    this.spawned[cls.name]!++;
    this.peak = Math.max(this.peak, this.alive.size);
    this.timeline.setUsers(this.alive.size, this.now());
    user.done = this.loop(user).finally(() => {
      client.close();
      this.alive.delete(id);
      this.timeline.setUsers(this.alive.size, this.now());
    });
  }

  private async loop(user: UserRun): Promise<void> {
    // Each user's choices come from its own generator, seeded by the run's seed and its id: the
    // same scenario replays the same task sequence per user, whatever the timing.
    const random = seededRandom((this.config.seed ^ Math.imul(user.id + 1, 0x9e3779b1)) >>> 0);
    const ctx: ScenarioContext = {
      baseUrl: this.config.baseUrl.replace(/\/+$/, ''),
      user: { id: user.id, className: user.cls.name },
      random,
      randomInt: (min, max) => min + Math.floor(random() * (max - min + 1)),
      pick: (items) => items[Math.floor(random() * items.length)]!,
      http: user.client,
      measure: (label, work) => user.client.measure(label, work),
      signal: this.hardStop.signal,
    };
    const { tasks, thinkTimeS } = user.cls;
    const taskWeight = tasks.reduce((sum, t) => sum + t.weight, 0);
    while (!user.stopping && !this.aborted) {
      const task = pickByWeight(tasks, random() * taskWeight);
      const start = process.hrtime.bigint();
      try {
        await task.run(ctx);
      } catch (error) {
        // A failed request was tallied under its endpoint already; anything else fails the task.
        if (!(error instanceof ScenarioRequestError) && !this.aborted) {
          this.record(
            {
              label: `task:${task.name}`,
              ns: Number(process.hrtime.bigint() - start),
              ok: false,
              kind: failureKind(error),
              message: failureMessage(error),
            },
            user.id,
          );
        }
      }
      const thinkMs = 1000 * (thinkTimeS.min + random() * (thinkTimeS.max - thinkTimeS.min));
      if (user.stopping || this.aborted) return;
      // A user with no think time still yields, so that it cannot starve the others.
      if (thinkMs > 0) await sleep(thinkMs, user.wake.signal);
      else await yieldToLoop();
    }
  }

  private record(sample: ScenarioSample, userId: number): void {
    // Work that ignored the stop may end after the result was made: it is not the run's.
    if (this.finished) return;
    const atMs = this.now();
    // `rig run --inject-slowdown F`: a successful request counts F of its own time longer.
    const ns = sample.ok ? sample.ns + injectAfter(sample.ns) : sample.ns;
    this.whole.add(sample, ns, atMs, userId);
    this.timeline.add(ns / 1e6, sample.ok, atMs);
    this.hold?.add(sample, ns, atMs, userId);
  }

  /** Tick k fires at k buckets after the start; how late it is measures the driver. */
  private scheduleTick(k: number): void {
    const due = k * this.config.bucketMs;
    this.tick = setTimeout(
      () => {
        const now = this.now();
        this.lag.record(Math.max(0, now - due) * 1e6);
        this.timeline.setUsers(this.alive.size, now);
        this.report();
        this.scheduleTick(Math.floor(now / this.config.bucketMs) + 1);
      },
      Math.max(0, due - this.now()),
    );
  }

  private report(): void {
    const last = this.timeline.last();
    const p95 = last?.p95Ms === undefined ? '-' : last.p95Ms.toFixed(1);
    progress(
      `${this.config.label}: ${this.where}, ${this.runningTotal}/${this.target} users (${this.alive.size} active), ` +
        `${this.whole.requests} requests, ${this.whole.failures} failed; last ${this.config.bucketMs} ms: ` +
        `${last ? last.rps.toFixed(1) : '-'} req/s, p95 ${p95} ms`,
    );
  }

  /**
   * Every user finishes its current task (gracefulStopMs), then in-flight requests are aborted;
   * a user still not done after that is abandoned and its connections closed. Returns how many.
   */
  private async stopAll(): Promise<number> {
    this.where = 'stopping';
    for (const user of this.alive.values()) this.stop(user);
    const all = Promise.all([...this.alive.values()].map((u) => u.done));
    if (!(await within(all, this.aborted ? 0 : this.config.gracefulStopMs))) {
      this.hardStop.abort();
      await within(all, ABANDON_AFTER_MS);
    }
    const abandoned = this.alive.size;
    for (const user of this.alive.values()) user.client.close();
    return abandoned;
  }
}

/** The item whose share of the summed weights holds `r` (0 <= r < sum). */
function pickByWeight<T extends { weight: number }>(items: readonly T[], r: number): T {
  let left = r;
  for (const item of items) {
    left -= item.weight;
    if (left < 0) return item;
  }
  return items[items.length - 1]!;
}

/** Resolves after `ms`, or at once when `signal` aborts; leaves no timer behind either way. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Whether `promise` settles within `ms`. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const timeout = new AbortController();
  const settled = promise.then(
    () => true,
    () => true,
  );
  const result = await Promise.race([settled, sleep(ms, timeout.signal).then(() => false)]);
  timeout.abort();
  return result;
}
