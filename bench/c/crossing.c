// Calibration module for the benchmark (never loaded by Envoy): `cross(n)` makes n host calls that do nothing,
// so the harness can measure what one wasm->JS host-call crossing costs under the replay host.
#define IMPORT(name) __attribute__((import_module("env"), import_name(#name)))
IMPORT(proxy_remove_header_map_value) unsigned proxy_remove_header_map_value(unsigned map, const char *key,
                                                                             unsigned size);

__attribute__((export_name("cross"))) unsigned cross(unsigned n) {
  unsigned acc = 0;
  for (unsigned i = 0; i < n; i++) acc += proxy_remove_header_map_value(0, "x-dynamic-subset-subset", 23);
  return acc;
}
