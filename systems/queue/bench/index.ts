// Measurement building blocks for the queue's latency and benchmark suites (no harness logic:
// the suites turn these samples into figures).

export { type CallSamples, queueGetLatency, queuePutLatency } from './calls.ts';
export { type MemoryEfficiency, memoryEfficiency } from './memory.ts';
export {
  assertStampable,
  checkFailure,
  combineReports,
  describeCheck,
  MessageStamper,
  MessageVerifier,
  type Mismatch,
  type MismatchKind,
  type StreamCheck,
  type VerifierOptions,
  type VerifierReport,
} from './message-check.ts';
export {
  memcpyThroughput,
  openPostMessageWindows,
  type PostMessageWindows,
  postMessageRoundTrip,
  postMessageThroughput,
  udsFramedThroughput,
  udsThroughput,
} from './references.ts';
export { queueRoundTrip, type RoundTripOptions } from './roundtrip.ts';
export { queueThreadsThroughput, type ThreadRateSample } from './threads.ts';
export {
  openQueueWindows,
  type QueueRateSample,
  type QueueThroughputOptions,
  type QueueWindows,
  type QueueWindowsOptions,
  queueThroughput,
} from './throughput.ts';
export type { RateOptions, RateSample, WindowSample } from './types.ts';
export {
  type ZeromqRateSample,
  zeromqRoundTrip,
  zeromqThroughput,
  zeromqUnavailableReason,
  zeromqVersion,
} from './zeromq.ts';
