// The raw proxy-wasm 0.2.1 host functions (module "env"), exactly as Envoy registers them
// (docs/abi.md, "Loading and linking"). Only hostcalls.ts and abort.ts call these. Every one returns a WasmResult;
// `*_ptr_ptr`/`*_size_ptr`/`*_id_ptr` are out-parameters the host writes (u32, little-endian).
// Imports the final module does not call are dropped by the compiler, so listing one here costs nothing.

@external("env", "proxy_log")
export declare function proxy_log(level: u32, messagePtr: usize, messageSize: usize): u32;

@external("env", "proxy_get_log_level")
export declare function proxy_get_log_level(levelPtr: usize): u32;

@external("env", "proxy_get_buffer_bytes")
export declare function proxy_get_buffer_bytes(
  bufferType: u32, start: u32, maxSize: u32, returnPtrPtr: usize, returnSizePtr: usize,
): u32;

@external("env", "proxy_get_header_map_value")
export declare function proxy_get_header_map_value(
  mapType: u32, keyPtr: usize, keySize: usize, returnPtrPtr: usize, returnSizePtr: usize,
): u32;

@external("env", "proxy_add_header_map_value")
export declare function proxy_add_header_map_value(
  mapType: u32, keyPtr: usize, keySize: usize, valuePtr: usize, valueSize: usize,
): u32;

@external("env", "proxy_replace_header_map_value")
export declare function proxy_replace_header_map_value(
  mapType: u32, keyPtr: usize, keySize: usize, valuePtr: usize, valueSize: usize,
): u32;

@external("env", "proxy_remove_header_map_value")
export declare function proxy_remove_header_map_value(mapType: u32, keyPtr: usize, keySize: usize): u32;

@external("env", "proxy_get_property")
export declare function proxy_get_property(
  pathPtr: usize, pathSize: usize, returnPtrPtr: usize, returnSizePtr: usize,
): u32;

@external("env", "proxy_set_property")
export declare function proxy_set_property(pathPtr: usize, pathSize: usize, valuePtr: usize, valueSize: usize): u32;

@external("env", "proxy_send_local_response")
export declare function proxy_send_local_response(
  statusCode: u32,
  detailsPtr: usize, detailsSize: usize,
  bodyPtr: usize, bodySize: usize,
  headersPtr: usize, headersSize: usize,
  grpcStatus: i32,
): u32;

@external("env", "proxy_call_foreign_function")
export declare function proxy_call_foreign_function(
  namePtr: usize, nameSize: usize, argsPtr: usize, argsSize: usize, returnPtrPtr: usize, returnSizePtr: usize,
): u32;

@external("env", "proxy_define_metric")
export declare function proxy_define_metric(metricType: u32, namePtr: usize, nameSize: usize, returnIdPtr: usize): u32;

@external("env", "proxy_increment_metric")
export declare function proxy_increment_metric(metricId: u32, delta: i64): u32;
