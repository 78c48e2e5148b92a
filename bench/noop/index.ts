// The benchmark's floor: a filter that does nothing, built from the same ABI layer
// (root context and HTTP context with their default behaviour). asconfig target "noop".
import { registerRootContext, RootContext } from "../../assembly/abi/context";

registerRootContext("noop", (contextId: u32): RootContext => new RootContext(contextId));

export * from "../../assembly/abi/exports";
