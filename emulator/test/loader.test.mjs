// The emulator loads modules the way Envoy does (docs/abi.md "Loading and linking"): Envoy's refusal messages, the
// functions it links (incl. WASI), restricted callbacks in _initialize and malloc, and the canary-then-clone start.
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { HostLoadError, ProxyWasmHost } from "../index.mjs";
import { compileFixture } from "./fixtures/build.mjs";
import { minimalModule } from "./fixtures/wasm-builder.mjs";
import { answer, callbacks, said, startProbe } from "./fixtures/probe-host.mjs";

let probe;
let needsAbort;
before(async () => {
  probe = await compileFixture("probe.ts");
  needsAbort = await compileFixture("abort.ts", { abort: null });
});

async function refusal(bytes) {
  await assert.rejects(ProxyWasmHost.load(bytes), HostLoadError);
  return ProxyWasmHost.load(bytes).catch((e) => e.message);
}

const fn = (module, name, params = [], results = ["i32"]) => ({ module, name, params, results });

describe("linking like Envoy", () => {
  it("refuses AssemblyScript's default env.abort import", async () => {
    assert.equal(await refusal(needsAbort), "Failed to load Wasm module due to a missing import: env.abort");
  });

  it("needs the ABI version marker export", async () => {
    assert.equal(await refusal(minimalModule({ noMarker: true })), "Missing or unknown Proxy-Wasm ABI version");
  });

  it("needs malloc, accepting proxy_on_memory_allocate instead", async () => {
    assert.equal(await refusal(minimalModule({ noMalloc: true })), "Wasm module is missing malloc function.");
    const host = await ProxyWasmHost.load(minimalModule({ allocator: "proxy_on_memory_allocate" }));
    assert.equal(host.start(), true);
  });

  it("prefers malloc when both allocators are exported", async () => {
    const host = await startProbe(probe, { request_headers: "get 0 x-stage" });
    host.newStream().requestHeaders([["x-stage", "dev"]]);
    assert.equal(answer(host, "get 0 x-stage"), "0 ptr=nz len=3 val=dev");
    assert.ok(!said(host).includes("proxy_on_memory_allocate called"));
  });

  it("needs memory", async () => {
    assert.match(await refusal(minimalModule({ memory: false })), /memory/);
  });

  it("refuses any imported global, unknown function or signature mismatch", async () => {
    assert.equal(
      await refusal(minimalModule({ imports: [{ module: "env", name: "seed", kind: "global" }] })),
      "Failed to load Wasm module due to a missing import: env.seed",
    );
    assert.equal(
      await refusal(minimalModule({ imports: [fn("env", "trace", [], [])] })),
      "Failed to load Wasm module due to a missing import: env.trace",
    );
    assert.match(
      await refusal(minimalModule({ imports: [fn("env", "proxy_log", ["i32"])] })),
      /^Failed to load Wasm module due to an import type mismatch: env\.proxy_log/,
    );
  });

  it("links proxy_get_log_level only for ABI 0.2.1", async () => {
    const imports = [fn("env", "proxy_get_log_level", ["i32"])];
    assert.equal(
      await refusal(minimalModule({ marker: "proxy_abi_version_0_2_0", imports })),
      "Failed to load Wasm module due to a missing import: env.proxy_get_log_level",
    );
    await ProxyWasmHost.load(minimalModule({ imports }));
  });

  it("provides exactly the WASI functions Envoy registers, under both WASI module names", async () => {
    const fdWrite = ["i32", "i32", "i32", "i32"];
    await ProxyWasmHost.load(
      minimalModule({
        imports: [fn("wasi_unstable", "fd_write", fdWrite), fn("wasi_snapshot_preview1", "fd_write", fdWrite)],
      }),
    );
    assert.equal(
      await refusal(minimalModule({ imports: [fn("wasi_snapshot_preview1", "poll_oneoff", fdWrite)] })),
      "Failed to load Wasm module due to a missing import: wasi_snapshot_preview1.poll_oneoff",
    );
  });

  it("checks the signatures of the callbacks it calls", async () => {
    const exports = [{ name: "proxy_on_request_headers", params: ["i32", "i32"], results: ["i32"] }];
    assert.match(await refusal(minimalModule({ exports })), /^Bad function signature for: proxy_on_request_headers/);
  });

  it("refuses a corrupted binary", async () => {
    assert.equal(
      await refusal(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 9])),
      "Failed to parse corrupted Wasm module",
    );
  });
});

describe("_initialize and malloc run with restricted callbacks", () => {
  it("allows proxy_log and the allowed WASI calls in _initialize", async () => {
    const init = "log 2 init-ok; env PROBE_INIT; time 0; random 16; fdwrite 1 out%0A";
    const host = await startProbe(probe, {}, { environment: { PROBE_INIT: init } });
    assert.deepEqual(said(host).slice(0, 6), [
      "init-ok",
      `env PROBE_INIT -> ${init}`,
      "time 0 -> 0 positive=yes",
      "random 16 -> 0",
      "out",
      "fdwrite 1 out%0A -> 0 written=4",
    ]);
  });

  it('traps the VM with "restricted_callback" on any other host call in _initialize', async () => {
    const host = await ProxyWasmHost.load(probe, { environment: { PROBE_INIT: "prop plugin_root_id" } });
    assert.equal(host.start(), false);
    assert.equal(host.failure, "Function: _initialize failed: Uncaught Error: restricted_callback");
    assert.equal(host.startError, "Failed to initialize Wasm code");
    assert.throws(() => host.newStream(), /did not start/);
  });

  it("lets malloc log but traps the VM when malloc makes a restricted call", async () => {
    const host = await startProbe(probe, { request_headers: "if 0 x-hook mallochook prop; get 0 x-stage" });
    host.newStream().requestHeaders([["x-stage", "dev"]]);
    const s = host.newStream();
    assert.equal(
      s.requestHeaders([
        ["x-stage", "dev"],
        ["x-hook", "1"],
      ]),
      4,
    );
    assert.equal(host.failure, "Function: malloc failed: Uncaught Error: restricted_callback");
    assert.equal(answer(host, "get 0 x-stage"), "6", "the host call whose malloc failed answers InvalidMemoryAccess");
    const logging = await startProbe(probe, { request_headers: "mallochook log; get 0 x-stage" });
    logging.newStream().requestHeaders([["x-stage", "dev"]]);
    assert.ok(said(logging).includes("malloc 3"));
    assert.equal(answer(logging, "get 0 x-stage"), "0 ptr=nz len=3 val=dev");
  });
});

describe("WASI as Envoy provides it", () => {
  it("logs fd_write (stdout info, stderr error), serves clocks 0/1 and bounded random_get", async () => {
    const host = await startProbe(
      probe,
      {
        configure: "fdwrite 2 oops%0A; fdwrite 3 x; time 1; time 2; random 65537; nanos",
      },
      { now: () => 1234567890123456789n },
    );
    assert.deepEqual(host.logsAt("error"), ["oops"]);
    assert.equal(answer(host, "fdwrite 3 x"), "8 written=3735928559", "EBADF for other fds");
    assert.equal(answer(host, "time 1"), "0 positive=yes");
    assert.equal(answer(host, "time 2"), "58 positive=no", "ENOTSUP for CPU-time clocks");
    assert.equal(answer(host, "random 65537"), "28", "EINVAL above 64 KiB");
    assert.equal(answer(host, "nanos"), "0 value=1234567890123456789");
  });

  it("fails the VM on proc_exit", async () => {
    const host = await startProbe(probe, { request_headers: "exit 3" });
    assert.equal(host.newStream().requestHeaders([]), 4);
    assert.equal(host.failure, "Function: proxy_on_request_headers failed: Uncaught Error: proc_exit(3)");
  });
});

describe('canary-then-clone start (docs/abi.md "Canary and worker VMs")', () => {
  it("initialises a base VM, configures a canary VM and drops it, then starts one VM per worker", async () => {
    const host = await startProbe(
      probe,
      { configure: "log 2 configured" },
      { canary: true, workers: 2, environment: { PROBE_INIT: "log 2 initialised" } },
    );
    const by = (message) => host.logs.filter((l) => l.message === message).map((l) => l.vm);
    assert.deepEqual(by("initialised"), ["base", "canary", "worker0", "worker1"]);
    assert.deepEqual(by("configured"), ["canary", "worker0", "worker1"]);
    const a = host.newStream();
    const b = host.newStream();
    assert.deepEqual([a.vm.label, b.vm.label, a.id, b.id], ["worker0", "worker1", 2, 2], "context ids count per VM");
    host.shutdown();
    assert.deepEqual(
      host.logs.filter((l) => l.message === "delete 1").map((l) => l.vm),
      ["worker0", "worker1"],
      "the canary never sees on_done/on_delete",
    );
  });

  it("rejects a bad configuration at the canary, before any worker starts", async () => {
    const host = await ProxyWasmHost.load(probe, { pluginConfig: "configure: return 0", canary: true });
    assert.equal(host.start(), false);
    assert.equal(host.startError, "Failed to configure base Wasm plugin");
    assert.deepEqual(
      callbacks(host).filter((c) => c.startsWith("configure")),
      ["configure 1 19"],
      "only the canary configured",
    );
    assert.equal(host.workers.length, 0);
  });
});
