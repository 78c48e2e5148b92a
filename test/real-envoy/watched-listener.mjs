// A listener served to Envoy from a watched file (LDS, path_config_source), as config.test.mjs and the soak's
// reconfiguration phase use it: write() replaces the file by rename, which is how Envoy's file watch sees a new
// version (writing the file in place may be read half-written).
//
//   new WatchedListenerFile(listener)   writes it into a new temporary folder
//     .dynamicResources                 the bootstrap's dynamic_resources (lds_config from the file)
//     .write(listener)                  a new version of the listener
//     .replaceConfiguration(edit)       the first listener's plugin configuration text, edited
//     .remove()
//   wasmConfigOf(listener)              the wasm filter's PluginConfig (name, vm_config, configuration) in it
//   configurationOf(fixtureCase)        a test/fixtures/bad-configs.json case as Envoy takes it: a StringValue,
//                                       or a BytesValue for bytes that are not UTF-8

import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { stringify } from "yaml";

export const wasmConfigOf = (listener) =>
  listener.filter_chains[0].filters[0].typed_config.http_filters.find((f) => f.name === "envoy.filters.http.wasm")
    .typed_config.config;

export function configurationOf(c) {
  if (c.configBase64 !== undefined)
    return { "@type": "type.googleapis.com/google.protobuf.BytesValue", value: c.configBase64 };
  return { "@type": "type.googleapis.com/google.protobuf.StringValue", value: c.config };
}

export class WatchedListenerFile {
  constructor(listener) {
    this.dir = mkdtempSync(path.join(tmpdir(), "dynamic-subset-lds-"));
    this.file = path.join(this.dir, "listeners.yaml");
    this.listener = listener;
    this.write(listener);
  }

  write(listener) {
    const resource = { "@type": "type.googleapis.com/envoy.config.listener.v3.Listener", ...listener };
    const staging = path.join(this.dir, "listeners.yaml.next");
    writeFileSync(staging, stringify({ resources: [resource] }));
    renameSync(staging, this.file);
  }

  /** Replaces the listener's plugin configuration text. */
  replaceConfiguration(edit) {
    const listener = structuredClone(this.listener);
    const configuration = wasmConfigOf(listener).configuration;
    configuration.value = edit(configuration.value);
    this.write(listener);
  }

  get dynamicResources() {
    return {
      lds_config: {
        resource_api_version: "V3",
        path_config_source: { path: this.file, watched_directory: { path: this.dir } },
      },
    };
  }

  remove() {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
