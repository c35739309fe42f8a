import type { z } from 'zod';
import type { ProviderName } from './providers/index.ts';
import type { WaitStrategy } from './wait.ts';

export type { ProviderName } from './providers/index.ts';

/** The providers that run a system themselves (external reaches one that runs elsewhere). */
export type LocalProviderName = Exclude<ProviderName, 'external'>;
/** The providers whose system is reached over the network only: no API object. */
export type RemoteProviderName = Exclude<ProviderName, 'inprocess'>;

interface StartedBase {
  readonly name: string;
  /** Process id of the system: the child's for `process`, this process's for `inprocess`. */
  readonly pid: number | undefined;
  /** The captured stdout/stderr (last 1 MiB), empty for in-process systems and external targets. */
  logs(): string;
  /** Stop and release everything; safe to call twice. */
  stop(): Promise<StoppedSystem>;
}

/** A system started inside the test process: its API, and its endpoint when it listens. */
export interface StartedInprocess<Api = unknown, Endpoint extends string | undefined = string | undefined>
  extends StartedBase {
  readonly provider: 'inprocess';
  /** The in-process API object. */
  readonly api: Api;
  /** Base URL when the in-process system listens (`http://127.0.0.1:8000`), else undefined. */
  readonly endpoint: Endpoint;
}

/** A system reached over the network (a child process, a container, an external target). */
export interface StartedRemote<P extends RemoteProviderName = RemoteProviderName> extends StartedBase {
  readonly provider: P;
  readonly api: undefined;
  /** Base URL, e.g. `http://127.0.0.1:8000` or the --target URL. */
  readonly endpoint: string;
}

/** Any started system: what a provider returns and what `startSystem('name')` by string gives. */
export type StartedSystem<Api = unknown> = StartedInprocess<Api | undefined> | StartedRemote;

export interface StoppedSystem {
  readonly name: string;
  readonly exitCode: number | null;
  readonly logs: string;
}

export interface StartContext<Options = Record<string, unknown>> {
  /** A fresh temp dir for this start, removed on stop. */
  tmpDir: string;
  /** The start options, validated by the definition's `options` schema (defaults applied). */
  options: Options;
  /** The address to listen on when the caller asked for one (`rig systems start --host`). */
  host?: string;
  /** The port to listen on when the caller asked for one (`rig systems start --port`). */
  port?: number;
}

/** What an in-process start hands back: the API, the endpoint when it listens, and how to stop. */
export interface InprocessStart<Api = unknown> {
  api?: Api;
  endpoint?: string;
  stop(): Promise<void>;
}

/** How to run a system inside the test process. A system that listens honours ctx.host/ctx.port. */
export interface InprocessProvider<Api = unknown, Options = Record<string, unknown>> {
  start(ctx: StartContext<Options>): Promise<InprocessStart<Api>>;
}

export interface ProcessCommand {
  file: string;
  args: string[];
  env?: Record<string, string>;
  /** Working directory; default the current one. */
  cwd?: string;
}

/** How to run a system as a child process. */
export interface ProcessProvider<Options = Record<string, unknown>> {
  /**
   * The command that serves on `host:port` (the caller's, else 127.0.0.1 and a free port the
   * harness chose); may prepare files first (async).
   */
  command: (
    ctx: StartContext<Options> & { host: string; port: number },
  ) => ProcessCommand | Promise<ProcessCommand>;
  /** Readiness; default: HTTP 200 on `/` of the endpoint. */
  wait?: WaitStrategy;
  /** Endpoint template; default `http://{host}:{port}` (a wildcard host reads as loopback). */
  endpoint?: (port: number, host: string) => string;
  /** Ms to wait for a graceful exit after SIGTERM before SIGKILL. Default 5000. */
  stopGraceMs?: number;
}

/** How to run a system (or a peer server) as a container through testcontainers. */
export interface ContainerProvider {
  /** Runs before the container starts (e.g. generate a model file to bind-mount). */
  setup?: () => Promise<void>;
  image: string;
  port: number;
  command?: string[];
  env?: Record<string, string>;
  /** Host paths bound into the container: [host, container]. */
  binds?: Array<[string, string]>;
  wait?: WaitStrategy;
  endpoint?: (host: string, port: number) => string;
}

/** One line of `rig doctor`: what a system needs from this machine, and how to get it. */
export interface DoctorCheck {
  name: string;
  ok: boolean;
  detail: string;
  /** What to do when `ok` is false. */
  hint?: string;
}

/** A system's start options: a zod object schema, `.strict()` so that an unknown key fails. */
export type OptionsSchema = z.ZodType<Record<string, unknown>, Record<string, unknown>>;

/** No options: the schema a definition without `options` is typed with. */
type NoOptions = z.ZodObject<Record<string, never>, z.core.$strict>;

export interface SystemDefinition<Api = unknown, S extends OptionsSchema = OptionsSchema> {
  name: string;
  description: string;
  /** The provider used when the caller names none. */
  defaultProvider: LocalProviderName;
  /**
   * The start options (`startSystem(handle, { options })`), validated before any provider runs:
   * a bad or unknown key fails with RIG_CONFIG_INVALID and its path. Providers get the parsed
   * value. Without a schema, options pass unchecked.
   */
  options?: S;
  inprocess?: InprocessProvider<Api, z.output<S>>;
  process?: ProcessProvider<z.output<S>>;
  container?: ContainerProvider;
  /** Readiness of an external HTTP target (a ws:// target waits for a TCP connect). Default: none. */
  externalWait?: WaitStrategy;
  /** What the system needs from this machine, for `rig doctor`. */
  doctor?: () => Promise<DoctorCheck[]>;
}

/** Any definition, whatever its API and options (what the registry loads). */
// biome-ignore lint/suspicious/noExplicitAny: the registry holds definitions of every option type
export type AnySystemDefinition = SystemDefinition<any, any>;

/**
 * Type helper for `systems/<name>/system.ts`: `export default defineSystem({ ... })`. The
 * definition keeps its exact type, so a handle (`SystemHandle<typeof definition>`) knows its
 * providers, API and options; `ctx.options` is typed by the `options` schema.
 */
export function defineSystem<
  const D extends SystemDefinition<unknown, S>,
  S extends OptionsSchema = NoOptions,
>(definition: D & { options?: S }): D;
/** @deprecated the API type is inferred: `defineSystem({ ... })` without a type argument. */
export function defineSystem<Api>(definition: SystemDefinition<Api>): SystemDefinition<Api>;
export function defineSystem(definition: AnySystemDefinition): AnySystemDefinition {
  return definition;
}

/**
 * A typed reference to a registered system, exported by `systems/<name>/index.ts`:
 * `export const queueSystem: SystemHandle<typeof definition> = { name: 'queue' }` (a type-only
 * import of system.ts keeps the harness out of the system's runtime imports).
 */
export interface SystemHandle<D extends AnySystemDefinition = AnySystemDefinition> {
  readonly name: D['name'];
  /** Type only, never set: the definition this handle starts. */
  readonly definition?: D;
}

/** A handle for `name`, for code that may import the harness at run time. */
export function systemHandle<D extends AnySystemDefinition>(name: D['name']): SystemHandle<D> {
  return Object.freeze({ name });
}

type InprocessResult<D> = D extends { inprocess: { start(...args: never[]): Promise<infer R> } } ? R : never;
type ApiOfResult<R> = R extends { api: infer A } ? A : undefined;
type EndpointOfResult<R> = R extends { endpoint: infer E extends string | undefined } ? E : undefined;

/** The API object an in-process start of D hands suites. */
export type ApiOf<D> = ApiOfResult<InprocessResult<D>>;

/** The providers D can start with: its own, and external when it is reached over the network. */
export type ProvidersOf<D> =
  | (D extends { inprocess: object } ? 'inprocess' : never)
  | (D extends { process: object } ? 'process' : never)
  | (D extends { container: object } ? 'container' : never)
  | (D extends { process: object } | { container: object } | { externalWait: object } ? 'external' : never);

/** The options a caller passes for D: the input of its schema. */
export type OptionsOf<D> = D extends { options: infer S extends z.ZodType }
  ? z.input<S>
  : Record<string, unknown>;

/** The start options of a handle's system: `SystemOptions<typeof stateStoreSystem>`. */
export type SystemOptions<H> = H extends SystemHandle<infer D> ? OptionsOf<D> : never;

/** The in-process API of a handle's system: `SystemApi<typeof queueSystem>`. */
export type SystemApi<H> = H extends SystemHandle<infer D> ? ApiOf<D> : never;

/** A handle's system once started (under P: any of its providers by default). */
export type SystemStarted<H, P extends ProviderName = ProviderName> =
  H extends SystemHandle<infer D> ? Started<D, Extract<P, ProvidersOf<D>>> : never;

/**
 * A started D under provider P: in-process gives the API (and the endpoint when its start
 * returns one); process, container and external give an endpoint and no API.
 */
export type Started<D, P extends ProviderName = ProvidersOf<D>> = P extends 'inprocess'
  ? StartedInprocess<ApiOf<D>, EndpointOfResult<InprocessResult<D>>>
  : P extends RemoteProviderName
    ? StartedRemote<P>
    : never;

/** How a caller starts a system: `startSystem(handle, { provider, options, host, port })`. */
export interface StartOptions<D = AnySystemDefinition, P extends ProviderName = ProviderName> {
  /** Default: external when a target is given, else RIG_PROVIDER when the system has it, else its default. */
  provider?: P;
  options?: OptionsOf<D>;
  /** Listen on this address (process, inprocess); default 127.0.0.1. */
  host?: string;
  /** Listen on this port (process, inprocess, container's host port); default a free one. */
  port?: number;
}

/** One way of starting a system: `harness/systems/providers/<name>.ts`, mapped by PROVIDERS. */
export interface Provider {
  /** One line for `rig systems` and the docs. */
  readonly description: string;
  /** Whether `definition` can be started this way. */
  supports(definition: AnySystemDefinition): boolean;
  /** Start it; `cleanup` (removes ctx.tmpDir) runs on stop and when the start fails. */
  start(
    definition: AnySystemDefinition,
    ctx: StartContext,
    cleanup: () => Promise<void>,
  ): Promise<StartedSystem>;
}
