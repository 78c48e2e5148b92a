// The fields Istio's CRDs define at the places where an ASM field sits (networking.istio.io/v1, Istio 1.29;
// test/render/istio-fields.test.mjs compares them with the CRD schemas). A field that is not here is a typo: the
// API server's structural schema drops it silently, and with it the setting the user meant.

export const DESTINATION_RULE_SPEC = ["host", "trafficPolicy", "subsets", "exportTo", "workloadSelector"];

export const TRAFFIC_POLICY = [
  "loadBalancer",
  "connectionPool",
  "outlierDetection",
  "tls",
  "portLevelSettings",
  "tunnel",
  "proxyProtocol",
  "retryBudget",
];

export const LOAD_BALANCER = ["simple", "consistentHash", "localityLbSetting", "warmup", "warmupDurationSecs"];

export const VIRTUAL_SERVICE_SPEC = ["hosts", "gateways", "http", "tls", "tcp", "exportTo"];

export const HTTP_ROUTE = [
  "name",
  "match",
  "route",
  "redirect",
  "directResponse",
  "delegate",
  "rewrite",
  "timeout",
  "retries",
  "fault",
  "mirror",
  "mirrors",
  "mirrorPercentage",
  "mirrorPercent",
  "mirror_percent",
  "corsPolicy",
  "headers",
];

export const GATEWAY_SPEC = ["selector", "servers"];
