// `dynamic-subset --help`, and the exit codes it promises.

import { DECISION_HEADER, DEFAULT_HEADER_PREFIX } from "../config/constants.js";
import { ALLOWANCES } from "../input/errors.js";

export const EXIT = {
  rendered: 0, // output written (warnings, if any, on stderr)
  refused: 1, // the input was refused: every problem on stderr, nothing written
  usage: 2, // the command line is wrong: one line on stderr, nothing written
  internal: 3, // a bug in dynamic-subset: one line on stderr, nothing written
} as const;

const allowances = Object.entries(ALLOWANCES)
  .map(([name, what]) => `                           ${name}: ${what}`)
  .join("\n");

export const USAGE = `Usage: dynamic-subset render --target envoy|istio -f FILE.yaml [-f FILE.yaml ...] [options]
       dynamic-subset --help | --version

Renders ASM-style DestinationRule (spec.trafficPolicy.loadBalancer.dynamicSubset) and VirtualService
(spec.http[].headerToDynamicSubsetKey) YAML into configuration for the dynamic-subset filter.

Common options:
  -f, --filename FILE      ASM YAML input (multi-document, lists as kubectl prints them; repeatable; "-" = stdin)
  -o, --out FILE           write to FILE (atomically) instead of stdout
  --output FORM            envoy: bootstrap (default) | parts | plugin-config; istio: yaml (default) | plugin-config
  --allow NAME[,NAME]      render what is otherwise refused because it would break routing:
${allowances}
  -h, --help               this text
  --version                the version of dynamic-subset

Target envoy (metadata mode; endpoints carry envoy.lb labels):
  --endpoints FILE         endpoints file (required for bootstrap and parts):
                             - host: helloworld.default.svc.cluster.local
                               port: 8000
                               endpoints:
                               - {address: 192.168.0.5, labels: {stage: dev, version: v1}}
  --variant NAME           start a new listener named NAME; the -f files after it belong to it
                           (several variants = several listeners in one bootstrap, consecutive ports)
  --wasm PATH              filter module path as Envoy sees it (default build/dynamic_subset.wasm)
  --port N                 first listener port (default 10000); --listen ADDR (default 127.0.0.1)
  --admin-port N           admin port (default 9901)
  --header-prefix P        internal header prefix (default ${DEFAULT_HEADER_PREFIX})
  --response-header        the filter adds ${DECISION_HEADER}: <decision> to responses (debugging)

Target istio (catalog mode; WasmPlugin, DestinationRule subsets, VirtualService):
  --pods FILE              \`kubectl get pods -o json\` output (required)
  --wasm-url URL           where istio-agent fetches the filter: oci://REGISTRY/REPOSITORY[:TAG][@sha256:DIGEST],
                           https://..., http://..., file:///PATH (required, except for --output plugin-config)
  --wasm-sha256 HEX        the WasmPlugin sha256 (for oci://: the image manifest digest)
  --service FILE           the Service(s) (\`kubectl get service NAME -o yaml\`), recommended; repeatable
  --previous FILE          the previous output of this target: its route tokens are kept
  --client-namespace NS    a namespace whose sidecars call the services (repeatable; default: the namespaces of
                           the services, their DestinationRules and the VirtualServices bound to the mesh)
  --mesh-wide              one WasmPlugin in the root namespace: every sidecar of the mesh loads the filter
  --root-namespace NS      the mesh's root namespace (default istio-system)
  --selector k=v[,k=v]     only the client workloads with these labels load the filter
  --route-token HEX        catalog route token (default: kept from --previous, else random)
  --fail-strategy S        WasmPlugin failStrategy: FAIL_CLOSE (default) or FAIL_OPEN (README "Security")
  Routes bound to an Istio Gateway (VirtualService spec.gateways) put a WasmPlugin on the gateway's pods: give
  the Gateway resource with -f.

Exit codes:
  ${EXIT.rendered}  rendered
  ${EXIT.refused}  input refused: every problem printed as "error: FILE#DOCUMENT PATH: PROBLEM", nothing written
  ${EXIT.usage}  usage error (unknown command, target or option, missing or malformed option value), nothing written
  ${EXIT.internal}  internal error (a bug in dynamic-subset), nothing written

Examples:
  dynamic-subset render --target envoy -f dr.yaml -f vs.yaml --endpoints endpoints.yaml -o envoy.yaml
  dynamic-subset render --target istio -f dr.yaml -f vs.yaml --pods pods.json --service service.yaml \\
      --wasm-url oci://registry.example.com/dynamic-subset@sha256:DIGEST -o rendered.yaml
`;
