// Every configuration the Envoy benchmark starts, in the order it starts, verifies and reports them: the
// comparison's (configs.mjs) and the route-cache probes' (route-cache.mjs).
//
//   allConfigs(podPorts, modules) -> Promise<{ configs: [{ id, label, group, bootstrap }], floorRoutes,
//       targetOnly, seed }>   podPorts: the upstream's listener name -> port; modules: buildAll() (modules.mjs)

import { benchConfigs } from "./configs.mjs";
import { routeCacheConfigs } from "./route-cache.mjs";

export async function allConfigs(podPorts, modules) {
  const { main, floorRoutes, targetOnly, seed } = await benchConfigs(podPorts, modules);
  return { configs: [...main, ...routeCacheConfigs(modules, floorRoutes, targetOnly)], floorRoutes, targetOnly, seed };
}
