// Public surface of the spaces relay: the harness handle, the server, its config and errors, the
// wire schemas, the relay's views, and MockApp (a stand-in inference app).
import type { SystemHandle } from '../../harness/index.ts';
import type definition from './system.ts';

/** The typed handle suites start the relay with: `useSystem(spacesSystem, { options })`. */
export const spacesSystem: SystemHandle<typeof definition> = { name: 'spaces' };

export {
  ENV_OVERRIDES,
  envOverrides,
  loadConfig,
  type SpacesConfig,
  type SpacesConfigInput,
  SpacesConfigSchema,
  type SpacesOptions,
  SpacesOptionsSchema,
  SYNCHRONOUS_CHOICES,
  type SynchronousMode,
} from './config.ts';
export {
  isSpacesError,
  SPACES_ERRORS,
  SpacesError,
  type SpacesErrorBody,
  type SpacesErrorCode,
} from './errors.ts';
export { LATENCY_BUCKETS_S } from './metrics.ts';
export { MockApp, type MockAppCounters, type MockAppEvents, type MockAppOptions } from './mock-app.ts';
export type { RequestView, SpaceView } from './relay.ts';
export {
  FEATURES,
  type Feature,
  type Features,
  RegisterSchema,
  type ResultPayload,
  ResultSchema,
  SpaceIdSchema,
  SubmitBodySchema,
} from './schemas.ts';
export { type CreateSpacesServerOptions, createSpacesServer, type SpacesServer } from './server.ts';
export type { RequestStatus } from './store.ts';
