// Where istio-agent fetches the filter from: the WasmPlugin's url and sha256, checked before anything is rendered.
// A WasmPlugin whose module cannot be fetched fails closed (FAIL_CLOSE): istio-agent puts a deny-all filter in its
// place, so a typo here refuses every request on the plugin's ports (docs/istio.md, WasmPlugin).
//
//   wasmSourceFindings(url, sha256?): { problems, warnings }   problems name the option (--wasm-url, --wasm-sha256)
//
// Rules (Istio's WasmPlugin CRD and istio-agent, pkg/wasm):
//   - the scheme is oci, https, http or file (the CRD's CEL rule);
//   - oci://REGISTRY/REPOSITORY[:TAG][@sha256:DIGEST], the reference grammar of the OCI distribution spec, with a
//     registry host (a name without one would be looked up on Docker Hub);
//   - sha256 is 64 lower-case hex digits; for oci:// it is compared with the image *manifest* digest, so it must
//     equal a digest in the URL;
//   - file:///ABSOLUTE/PATH inside the istio-proxy container (Istio strips "file://" and uses the rest as a path);
//   - warnings: an oci:// image referenced by tag only (sidecars may run different builds after a push), an
//     http:// module without sha256 (fetched without TLS and unverified).

const SHA256 = /^[a-f0-9]{64}$/;
const COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const DOMAIN =
  "(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?";
const OCI_REFERENCE = new RegExp(
  `^(?<domain>${DOMAIN})/(?<repository>${COMPONENT}(?:/${COMPONENT})*)(?::(?<tag>\\w[\\w.-]{0,127}))?(?:@(?<digest>[^@]+))?$`,
);
const OCI_FORM = "oci://REGISTRY/REPOSITORY[:TAG][@sha256:DIGEST]";

export interface SourceFindings {
  problems: string[];
  warnings: string[];
}

function ociFindings(reference: string, sha256: string | undefined, out: SourceFindings): void {
  const m = OCI_REFERENCE.exec(reference);
  if (!m?.groups) {
    out.problems.push(
      `--wasm-url: "oci://${reference}" is not an image reference (${OCI_FORM}, lower-case repository)`,
    );
    return;
  }
  const { domain, digest, tag } = m.groups;
  if (!/[.:]/.test(domain) && domain !== "localhost")
    out.problems.push(`--wasm-url: "${domain}" is not a registry host; name it: ${OCI_FORM}`);
  if (digest !== undefined) {
    const hex = /^sha256:([a-f0-9]{64})$/.exec(digest)?.[1];
    if (!hex) out.problems.push(`--wasm-url: the digest must be sha256: and 64 lower-case hex digits, got "${digest}"`);
    else if (sha256 !== undefined && sha256 !== hex)
      out.problems.push(
        "--wasm-sha256 differs from the digest in --wasm-url: istio-agent checks both against the image manifest, so the fetch would fail",
      );
  } else if (sha256 === undefined) {
    out.warnings.push(
      `--wasm-url: the image is referenced by tag (${tag ?? "latest"}) only, so sidecars may run different builds after a push; pin it with @sha256:<manifest digest> or --wasm-sha256 (npm run oci prints the digest)`,
    );
  }
}

export function wasmSourceFindings(url: string, sha256?: string): SourceFindings {
  const out: SourceFindings = { problems: [], warnings: [] };
  if (sha256 !== undefined && !SHA256.test(sha256)) out.problems.push("--wasm-sha256: 64 lower-case hex digits");
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//.exec(url)?.[1];
  const rest = url.slice(`${scheme}://`.length);
  if (scheme === "oci") ociFindings(rest, sha256, out);
  else if (scheme === "https" || scheme === "http") {
    if (!URL.canParse(url) || new URL(url).hostname === "")
      out.problems.push(`--wasm-url: "${url}" is not a valid ${scheme} URL`);
    else if (scheme === "http" && sha256 === undefined)
      out.warnings.push(
        "--wasm-url: an http:// module is fetched without TLS; give --wasm-sha256 so that it is verified",
      );
  } else if (scheme === "file") {
    if (!rest.startsWith("/") || rest.length < 2)
      out.problems.push(
        `--wasm-url: a file:// URL names an absolute path inside the istio-proxy container: file:///PATH/plugin.wasm, got "${url}"`,
      );
  } else {
    out.problems.push(
      `--wasm-url: the scheme must be oci://, https://, http:// or file:// (Istio's WasmPlugin rule), got "${url}"`,
    );
  }
  return out;
}
