import type { WaitStrategy } from './wait.ts';

export type ProviderName = 'inprocess' | 'process' | 'container' | 'external';

/** What a started system offers a suite. */
export interface StartedSystem<Api = unknown> {
  readonly name: string;
  readonly provider: ProviderName;
  /** Base URL for network systems (`http://127.0.0.1:8000`), undefined for in-process APIs. */
  readonly endpoint: string | undefined;
  /** The in-process API object, when the provider is `inprocess`. */
  readonly api: Api | undefined;
  /** Process id of the system, when it runs as a child process. */
  readonly pid: number | undefined;
  /** The captured stdout/stderr (last 1 MiB), empty for in-process systems. */
  logs(): string;
  /** Stop and release everything; safe to call twice. */
  stop(): Promise<StoppedSystem>;
}

export interface StoppedSystem {
  readonly name: string;
  readonly exitCode: number | null;
  readonly logs: string;
}

export interface StartContext {
  /** A fresh temp dir for this start, removed on stop. */
  tmpDir: string;
  /** Options the suite passed to `startSystem(name, { options })`. */
  options: Record<string, unknown>;
}

/** How to run a system inside the test process. */
export interface InprocessProvider<Api> {
  start(ctx: StartContext): Promise<{ api?: Api; endpoint?: string; stop(): Promise<void> }>;
}

export interface ProcessCommand {
  file: string;
  args: string[];
  env?: Record<string, string>;
  /** Working directory; default the current one. */
  cwd?: string;
}

/** How to run a system as a child process. */
export interface ProcessProvider {
  /** The command for a free port the harness chose; may prepare files first (async). */
  command: (ctx: StartContext & { port: number }) => ProcessCommand | Promise<ProcessCommand>;
  /** Readiness; default: HTTP 200 on `/` of the endpoint. */
  wait?: WaitStrategy;
  /** Endpoint template; default `http://127.0.0.1:{port}`. */
  endpoint?: (port: number) => string;
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

export interface SystemDefinition<Api = unknown> {
  name: string;
  description: string;
  /** The provider used when the caller names none. */
  defaultProvider: Exclude<ProviderName, 'external'>;
  inprocess?: InprocessProvider<Api>;
  process?: ProcessProvider;
  container?: ContainerProvider;
  /** Readiness for an external target; default: the process provider's wait strategy. */
  externalWait?: WaitStrategy;
}

/** Type helper for `systems/<name>/system.ts`: `export default defineSystem({...})`. */
export function defineSystem<Api>(definition: SystemDefinition<Api>): SystemDefinition<Api> {
  return definition;
}
