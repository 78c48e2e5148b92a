// Proxy-Wasm ABI enumerations as Envoy uses them (docs/abi.md "Status codes and enumerations").

export const WasmResult = Object.freeze({
  Ok: 0,
  NotFound: 1,
  BadArgument: 2,
  SerializationFailure: 3,
  ParseFailure: 4,
  BadExpression: 5,
  InvalidMemoryAccess: 6,
  Empty: 7,
  CasMismatch: 8,
  ResultMismatch: 9,
  InternalFailure: 10,
  BrokenConnection: 11,
  Unimplemented: 12,
});

export const LogLevel = Object.freeze({ trace: 0, debug: 1, info: 2, warn: 3, error: 4, critical: 5, off: 6 });
export const LOG_LEVEL_NAMES = ["trace", "debug", "info", "warn", "error", "critical", "off"];

export const MapType = Object.freeze({
  HttpRequestHeaders: 0,
  HttpRequestTrailers: 1,
  HttpResponseHeaders: 2,
  HttpResponseTrailers: 3,
  GrpcReceiveInitialMetadata: 4,
  GrpcReceiveTrailingMetadata: 5,
  HttpCallResponseHeaders: 6,
  HttpCallResponseTrailers: 7,
});

export const BufferType = Object.freeze({
  HttpRequestBody: 0,
  HttpResponseBody: 1,
  DownstreamData: 2,
  UpstreamData: 3,
  HttpCallResponseBody: 4,
  GrpcReceiveBuffer: 5,
  VmConfiguration: 6,
  PluginConfiguration: 7,
  CallData: 8,
});

export const MetricType = Object.freeze({ Counter: 0, Gauge: 1, Histogram: 2 });

export const FilterHeadersStatus = Object.freeze({
  Continue: 0,
  StopIteration: 1,
  ContinueAndEndStream: 2,
  StopAllIterationAndBuffer: 3,
  StopAllIterationAndWatermark: 4,
});

export const StreamType = Object.freeze({ HttpRequest: 0, HttpResponse: 1, Downstream: 2, Upstream: 3 });

/** WASI errno values the C++ host returns. */
export const Errno = Object.freeze({ SUCCESS: 0, BADF: 8, FAULT: 21, INVAL: 28, NOENT: 44, NOSYS: 52, NOTSUP: 58 });
