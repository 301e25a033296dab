// Validates deploy/ without a cluster: the core Kubernetes objects against the Kubernetes schemas
// (npm kubernetes-models 5.1.0), the KServe objects' required fields by hand (their CRDs are not in
// kubernetes-models), and that every port and probe path matches what `fasternet serve` listens on.
// Run by `./build.sh deploy-check` (which installs the two npm packages into build/deploy-check).
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { Deployment } from "kubernetes-models/apps/v1";
import { Service } from "kubernetes-models/v1";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";

// The deploy/ folder: the first argument (the script runs from beside its node_modules).
const deployDir = process.argv[2] ?? path.dirname(new URL(import.meta.url).pathname);
// What the server does (ServerConfiguration defaults and its REST routes).
const serverPorts = new Set([8000, 8001]);
const healthPaths = new Set(["/v2/health/live", "/v2/health/ready"]);

const coreKinds = {
  Deployment: Deployment,
  Service: Service,
  HorizontalPodAutoscaler: HorizontalPodAutoscaler,
  PodDisruptionBudget: PodDisruptionBudget,
};

let failures = 0;
const fail = (file, message) => { failures++; console.error(`FAIL ${file}: ${message}`); };

function checkContainers(file, containers, portNames) {
  for (const c of containers ?? []) {
    for (const p of c.ports ?? []) {
      if (!serverPorts.has(p.containerPort)) fail(file, `container port ${p.containerPort} is not one the server listens on`);
      if (p.name) portNames.set(p.name, p.containerPort);
    }
    for (const probe of ["readinessProbe", "livenessProbe", "startupProbe"]) {
      const get = c[probe]?.httpGet;
      if (!get) continue;
      if (!healthPaths.has(get.path)) fail(file, `${probe} path ${get.path} is not a server health endpoint`);
      const port = typeof get.port === "string" ? portNames.get(get.port) : get.port;
      if (port !== 8000) fail(file, `${probe} port ${get.port} is not the REST port 8000`);
    }
  }
}

const files = ["kubernetes", "kserve"].flatMap(d =>
  fs.readdirSync(path.join(deployDir, d)).filter(f => f.endsWith(".yaml")).map(f => path.join(d, f)));
let checked = 0;
for (const file of files) {
  for (const doc of yaml.loadAll(fs.readFileSync(path.join(deployDir, file), "utf8"))) {
    if (!doc) continue;
    checked++;
    const Model = coreKinds[doc.kind];
    if (Model) {
      try {
        new Model(doc).validate();
      } catch (e) {
        fail(file, `${doc.kind} does not match the Kubernetes schema: ${e.message}`);
      }
    }
    const portNames = new Map();
    switch (doc.kind) {
      case "Deployment":
        checkContainers(file, doc.spec.template.spec.containers, portNames);
        break;
      case "Service":
        for (const p of doc.spec.ports) if (!serverPorts.has(p.port)) fail(file, `service port ${p.port} is not a server port`);
        break;
      case "ServingRuntime":
        if (doc.apiVersion !== "serving.kserve.io/v1alpha1") fail(file, `unexpected apiVersion ${doc.apiVersion}`);
        if (!doc.spec?.protocolVersions?.includes("v2")) fail(file, "protocolVersions must include v2");
        if (!doc.spec?.supportedModelFormats?.length) fail(file, "supportedModelFormats is empty");
        checkContainers(file, doc.spec.containers, portNames);
        break;
      case "InferenceService": {
        if (doc.apiVersion !== "serving.kserve.io/v1beta1") fail(file, `unexpected apiVersion ${doc.apiVersion}`);
        const model = doc.spec?.predictor?.model;
        if (model?.protocolVersion !== "v2") fail(file, "predictor.model.protocolVersion must be v2");
        if (!model?.modelFormat?.name || !model?.storageUri) fail(file, "predictor.model needs modelFormat.name and storageUri");
        break;
      }
      case "HorizontalPodAutoscaler":
      case "PodDisruptionBudget":
        break;
      default:
        fail(file, `unexpected kind ${doc.kind}`);
    }
  }
}

// The validator itself must reject what it should: a string replica count.
try {
  new Deployment({
    metadata: { name: "x" },
    spec: { replicas: "2", selector: { matchLabels: { a: "b" } }, template: { metadata: { labels: { a: "b" } }, spec: { containers: [{ name: "c", image: "i" }] } } },
  }).validate();
  fail("self-check", "a Deployment with replicas: \"2\" was accepted");
} catch {
  // rejected, as it must be
}

console.log(`${checked} manifests checked, ${failures} problems`);
process.exit(failures === 0 ? 0 : 1);
