// When to collect garbage. The release build uses AssemblyScript's `minimal` runtime: no automatic
// GC, no shadow stack (faster calls, smaller code). Garbage is reclaimed only by __collect(), which
// finds roots in globals alone, so it may run only where no managed reference lives on the wasm
// stack: at the very end of an exported callback (exports.ts), never inside one. The host holds no
// guest pointer across callbacks (it copies what we hand it during the call, and the blocks it gets
// from malloc are adopted before the call returns), so nothing it still uses can be freed.
//
// Policy ("collect when allocation since the last GC >= k x live", amortised):
// - end of proxy_on_configure and of a root's proxy_on_delete: always (the old tables, the JSON
//   tree, the configuration text, a deleted root's state are garbage then);
// - end of a stream's proxy_on_delete: only when the bytes handed out since the last collection
//   exceed max(MIN_COLLECT_BYTES, 2 x the live configuration estimate). Counted: every managed block
//   malloc gives the host (configuration, answers too large for the callback scratch), what the code
//   that allocates on a request notes (a log line, the response-decision copy, a 503's headers), plus
//   STREAM_CHARGE per stream as a floor for anything uncounted. A mark costs about the live set, i.e.
//   the configuration, so big configurations do not pay a full mark every few requests, and memory
//   stays bounded by live + threshold + one request. An ordinary request allocates nothing at all
//   (hostcalls.ts, context.ts), so collections come seldom: every 16,384 streams at the least.
// The live configuration is estimated from the configuration text sizes in force (the compiled
// tables hold about that many bytes); an input, not something garbage can inflate.

/** Never collect more often than every 256 KiB of garbage. */
const MIN_COLLECT_BYTES: usize = 256 << 10;
/** What the runtime adds to each object (block and object headers, alignment), for the estimates. */
export const OBJECT_COST: usize = 32;
/** Charged per stream for garbage nobody counted (the floor of the policy above). */
export const STREAM_CHARGE: usize = 16;

let allocatedSinceCollect: usize = 0;
let configurationBytes: usize = 0;

/** Counts `bytes` of garbage-to-be. */
export function noteAllocation(bytes: usize): void {
  allocatedSinceCollect += bytes;
}

/** A root's configuration of `previous` bytes was replaced by one of `current` bytes (0: root gone). */
export function noteConfiguration(previous: usize, current: usize): void {
  configurationBytes = configurationBytes - previous + current;
}

/** Call only at the end of an exported callback. */
export function collect(): void {
  __collect();
  allocatedSinceCollect = 0;
}

/** Call only at the end of an exported callback. */
export function collectIfDue(): void {
  if (allocatedSinceCollect >= max(MIN_COLLECT_BYTES, configurationBytes << 1)) collect();
}
