// The compiled filter's entry: registers the dynamic_subset root context (every plugin
// configuration of the VM gets its own) and re-exports the proxy-wasm ABI exports.
// Top-level code runs in _initialize, where Envoy allows no host call but proxy_log: none here.
import { registerRootContext, RootContext } from "./abi/context";
import { DynamicSubsetRoot, ROOT_ID } from "./filter/plugin";

registerRootContext(ROOT_ID, (contextId: u32): RootContext => new DynamicSubsetRoot(contextId));

export * from "./abi/exports";
