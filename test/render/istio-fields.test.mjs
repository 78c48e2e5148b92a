// The Istio field lists the ASM reader checks typos against (src/asm/istio-fields.ts) are the fields of Istio's
// CRD schemas (@kubernetes-models/istio, Istio 1.29): every field the schema's validator reads at that place, and
// no other. A field Istio adds shows up here before a user's correct spelling is refused.

import assert from "node:assert/strict";
import { test } from "node:test";
import * as v1 from "@kubernetes-models/istio/networking.istio.io/v1";
import * as FIELDS from "../../dist/asm/istio-fields.js";

/** The property names the CRD validator reads on the object at `path` of `doc`. */
function schemaFields(Model, doc, path) {
  const read = new Map();
  const watch = (o, at) =>
    new Proxy(o, {
      get(target, key, receiver) {
        const v = Reflect.get(target, key, receiver);
        if (typeof key !== "string") return v;
        (read.get(at) ?? read.set(at, new Set()).get(at)).add(key);
        return v !== null && typeof v === "object" ? watch(v, `${at}/${key}`) : v;
      },
    });
  try {
    Model.prototype.validate.call(watch(doc, ""));
  } catch {
    // only the reads matter
  }
  return [...(read.get(path) ?? [])].filter((k) => !/^\d+$/.test(k) && k !== "length").sort();
}

const DR = {
  apiVersion: "networking.istio.io/v1",
  kind: "DestinationRule",
  metadata: { name: "a" },
  spec: { host: "h", trafficPolicy: { loadBalancer: {} } },
};
const VS = {
  apiVersion: "networking.istio.io/v1",
  kind: "VirtualService",
  metadata: { name: "a" },
  spec: { hosts: ["h"], http: [{ route: [{ destination: { host: "h" } }] }] },
};
const GW = { apiVersion: "networking.istio.io/v1", kind: "Gateway", metadata: { name: "a" }, spec: { selector: {} } };

test("the ASM reader's Istio field lists are the CRDs' fields", () => {
  const sorted = (xs) => [...xs].sort();
  assert.deepEqual(sorted(FIELDS.DESTINATION_RULE_SPEC), schemaFields(v1.DestinationRule, DR, "/spec"));
  assert.deepEqual(sorted(FIELDS.TRAFFIC_POLICY), schemaFields(v1.DestinationRule, DR, "/spec/trafficPolicy"));
  assert.deepEqual(
    sorted(FIELDS.LOAD_BALANCER),
    schemaFields(v1.DestinationRule, DR, "/spec/trafficPolicy/loadBalancer"),
  );
  assert.deepEqual(sorted(FIELDS.VIRTUAL_SERVICE_SPEC), schemaFields(v1.VirtualService, VS, "/spec"));
  assert.deepEqual(sorted(FIELDS.HTTP_ROUTE), schemaFields(v1.VirtualService, VS, "/spec/http/0"));
  assert.deepEqual(sorted(FIELDS.GATEWAY_SPEC), schemaFields(v1.Gateway, GW, "/spec"));
});
