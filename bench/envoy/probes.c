// Probe modules of bench/envoy: what a request-header change from Wasm costs Envoy (route-cache.mjs), and what a
// host call costs. One source, one build per probe (-DPROBE=...), all declaring proxy-wasm ABI 0.2.1 like the
// filter; -DMARK adds a filter-state write that tells whether Envoy matched the routes again (route-cache.mjs).
//   PROBE_NONE    does nothing: the floor of these experiments;
//   PROBE_REMOVE  removes the request header x-bench-strip on every request, present or not (what the filter does
//                 with each internal header it does not write);
//   PROBE_CHECK   reads x-bench-strip first and removes it only when the request carries it;
//   PROBE_GETS    reads five headers the request does not carry: five host calls that change nothing;
//   PROBE_PAIRS   fetches the whole request header map once (proxy_get_header_map_pairs);
//   PROBE_PROPS   reads the properties xds.cluster_name and xds.route_name (as the filter does);
//   PROBE_STATE   writes one filter-state value (proxy_set_property, as the filter writes its decision);
//   PROBE_METRICS increments two counters defined at configuration time (as the filter counts requests).
// No libc, no allocation except for the host's answers (a bump allocator over a static buffer, reset per request).
#include <stdint.h>

typedef uint32_t u32;
#define IMPORT(name) __attribute__((import_module("env"), import_name(#name)))
#define EXPORT(name) __attribute__((export_name(#name)))

IMPORT(proxy_remove_header_map_value) u32 proxy_remove_header_map_value(u32 map, const char *key, u32 key_size);
IMPORT(proxy_set_property) u32 proxy_set_property(const char *path, u32 path_size, const char *value, u32 value_size);
IMPORT(proxy_get_header_map_value) u32 proxy_get_header_map_value(u32 map, const char *key, u32 key_size,
                                                                 char **value, u32 *value_size);
IMPORT(proxy_get_header_map_pairs) u32 proxy_get_header_map_pairs(u32 map, char **pairs, u32 *pairs_size);
IMPORT(proxy_get_property) u32 proxy_get_property(const char *path, u32 path_size, char **value, u32 *value_size);
IMPORT(proxy_define_metric) u32 proxy_define_metric(u32 type, const char *name, u32 name_size, u32 *id);
IMPORT(proxy_increment_metric) u32 proxy_increment_metric(u32 id, int64_t delta);

#define PROBE_NONE 0
#define PROBE_REMOVE 1
#define PROBE_CHECK 2
#define PROBE_GETS 3
#define PROBE_PAIRS 4
#define PROBE_PROPS 5
#define PROBE_STATE 6
#define PROBE_METRICS 7
#ifndef PROBE
#error "build with -DPROBE=PROBE_<NONE|REMOVE|CHECK|GETS|PAIRS|PROPS|STATE|METRICS>"
#endif

#if PROBE == PROBE_REMOVE || PROBE == PROBE_CHECK
static const char HEADER[] = "x-bench-strip";
#endif
#if PROBE == PROBE_GETS
static const char *const ABSENT[] = {"x-bench-a", "x-bench-b", "x-bench-c", "x-bench-d", "x-bench-e"};
#endif
static char heap[64 * 1024];
static u32 heap_used;

EXPORT(malloc) void *guest_malloc(u32 size) {
  u32 at = (heap_used + 7) & ~7u;
  if (size > sizeof(heap) - at) at = 0; // the host's answers are read at once, never kept
  heap_used = at + size;
  return heap + at;
}
EXPORT(proxy_abi_version_0_2_1) void proxy_abi_version_0_2_1(void) {}
EXPORT(_initialize) void _initialize(void) {}
EXPORT(proxy_on_context_create) void proxy_on_context_create(u32 id, u32 parent) { (void)id; (void)parent; }
EXPORT(proxy_on_vm_start) u32 proxy_on_vm_start(u32 id, u32 size) { (void)id; (void)size; return 1; }
#if PROBE == PROBE_METRICS
static u32 counters[2];
EXPORT(proxy_on_configure) u32 proxy_on_configure(u32 id, u32 size) {
  (void)id; (void)size;
  proxy_define_metric(0, "bench_probe_requests", 20, &counters[0]);
  proxy_define_metric(0, "bench_probe_outcomes", 20, &counters[1]);
  return 1;
}
#else
EXPORT(proxy_on_configure) u32 proxy_on_configure(u32 id, u32 size) { (void)id; (void)size; return 1; }
#endif
EXPORT(proxy_on_done) u32 proxy_on_done(u32 id) { (void)id; return 1; }
EXPORT(proxy_on_delete) void proxy_on_delete(u32 id) { (void)id; }

EXPORT(proxy_on_request_headers) u32 proxy_on_request_headers(u32 id, u32 headers, u32 end_of_stream) {
  (void)id; (void)headers; (void)end_of_stream;
  heap_used = 0;
#ifdef MARK
  // Filter state wasm.bench_mark = "set": visible to a route's filter_state matcher if Envoy matches the routes
  // again after this callback; setting it does not by itself clear the route cache.
  proxy_set_property("bench_mark", 10, "set", 3);
#endif
#if PROBE == PROBE_REMOVE
  proxy_remove_header_map_value(0, HEADER, sizeof(HEADER) - 1);
#elif PROBE == PROBE_CHECK
  char *value = 0;
  u32 size = 0;
  if (proxy_get_header_map_value(0, HEADER, sizeof(HEADER) - 1, &value, &size) == 0)
    proxy_remove_header_map_value(0, HEADER, sizeof(HEADER) - 1);
#elif PROBE == PROBE_GETS
  char *value = 0;
  u32 size = 0;
  for (u32 i = 0; i < 5; i++) proxy_get_header_map_value(0, ABSENT[i], 9, &value, &size);
#elif PROBE == PROBE_PAIRS
  char *pairs = 0;
  u32 size = 0;
  proxy_get_header_map_pairs(0, &pairs, &size);
#elif PROBE == PROBE_PROPS
  char *value = 0;
  u32 size = 0;
  proxy_get_property("xds\0cluster_name", 16, &value, &size);
  proxy_get_property("xds\0route_name", 14, &value, &size);
#elif PROBE == PROBE_STATE
  static const char DECISION[] = "subset:stage=dev,version=v1";
  proxy_set_property("dynamic_subset", 14, DECISION, sizeof(DECISION) - 1);
#elif PROBE == PROBE_METRICS
  proxy_increment_metric(counters[0], 1);
  proxy_increment_metric(counters[1], 1);
#endif
  return 0; // Continue
}
