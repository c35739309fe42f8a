// Measurement building blocks for the queue's latency and benchmark suites (no harness logic:
// the suites turn these samples into figures).
export { type MemoryEfficiency, memoryEfficiency } from './memory.ts';
export {
  memcpyThroughput,
  postMessageRoundTrip,
  postMessageThroughput,
  udsThroughput,
} from './references.ts';
export { queueRoundTrip, type RoundTripOptions } from './roundtrip.ts';
export { type QueueThroughputOptions, queueThroughput } from './throughput.ts';
export type { RateOptions, RateSample } from './types.ts';
