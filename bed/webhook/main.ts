/**
 * Token-review webhook for the bed's kube-apiserver: authenticates EKS-style
 * bearer tokens and maps the IAM identity like an EKS access entry.
 *
 *   main.ts --port P --cert C --key K --cluster NAME --sts-endpoint URL --iam-file F
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:https";
import { parseArgs } from "node:util";
import type { V1Pod, V1ServiceAccount } from "@kubernetes/client-node";
import { kubeconfigConnector } from "../../src/kube/connect.js";
import { kubeRequest } from "../../src/kube/rest.js";
import { mapIdentity } from "./access-entries.js";
import { readIamFile } from "./iam-file.js";
import { podIdentityPatch, ROLE_ANNOTATION } from "./pod-identity.js";
import { verifyEksToken } from "./verify.js";

const { values } = parseArgs({
  options: {
    port: { type: "string" },
    cert: { type: "string" },
    key: { type: "string" },
    cluster: { type: "string" },
    "sts-endpoint": { type: "string", multiple: true },
    "iam-file": { type: "string" },
    /** Read service accounts with this kubeconfig to inject IRSA-style web identity into pods (/mutate-pods). */
    kubeconfig: { type: "string" },
    region: { type: "string" },
  },
});
const { port, cert, key, cluster, "iam-file": iamFile } = values;
const stsEndpoints = values["sts-endpoint"] ?? [];
if (!port || !cert || !key || !cluster || !iamFile || stsEndpoints.length === 0) {
  throw new Error("usage: --port --cert --key --cluster --sts-endpoint --iam-file are all required");
}

interface TokenReviewBody {
  apiVersion?: string;
  spec?: { token?: string };
}

function log(fields: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...fields })}\n`);
}

async function review(body: TokenReviewBody): Promise<Record<string, unknown>> {
  const apiVersion = body.apiVersion ?? "authentication.k8s.io/v1";
  const denied = (reason: string) => {
    log({ msg: "token denied", reason });
    return { apiVersion, kind: "TokenReview", status: { authenticated: false, error: reason } };
  };
  const token = body.spec?.token ?? "";
  const iam = await readIamFile(iamFile as string);
  const verdict = await verifyEksToken({
    token,
    clusterName: cluster as string,
    stsEndpoints,
    credentials: iam.credentials,
    now: new Date(),
  });
  if (!verdict.ok) return denied(verdict.reason);
  const user = mapIdentity(verdict.arn, verdict.accessKeyId, iam.accessEntries);
  if (!user) return denied(`no access entry for ${verdict.arn}`);
  log({ msg: "token accepted", arn: verdict.arn, username: user.username, groups: user.groups });
  return { apiVersion, kind: "TokenReview", status: { authenticated: true, user } };
}

interface AdmissionReviewBody {
  apiVersion?: string;
  request?: { uid?: string; namespace?: string; object?: V1Pod };
}

const connect = values.kubeconfig ? kubeconfigConnector(values.kubeconfig) : undefined;

/** IRSA's pod-identity webhook, for the bed: mutate a pod whose service account names an IAM role. */
async function mutatePod(body: AdmissionReviewBody): Promise<Record<string, unknown>> {
  const uid = body.request?.uid ?? "";
  const pod = body.request?.object;
  const namespace = body.request?.namespace ?? pod?.metadata?.namespace ?? "default";
  const response: Record<string, unknown> = { uid, allowed: true };
  const account = pod?.spec?.serviceAccountName ?? "default";
  if (pod && connect) {
    const sa = await kubeRequest<V1ServiceAccount>(await connect(), {
      method: "GET",
      path: `/api/v1/namespaces/${namespace}/serviceaccounts/${account}`,
    }).catch(() => undefined);
    const role = sa?.metadata?.annotations?.[ROLE_ANNOTATION];
    if (role) {
      const patch = podIdentityPatch(pod, role, values.region ?? "us-east-1");
      if (patch.length) {
        response.patchType = "JSONPatch";
        response.patch = Buffer.from(JSON.stringify(patch)).toString("base64");
        log({ msg: "web identity injected", namespace, serviceAccount: account, role });
      }
    }
  }
  return { apiVersion: body.apiVersion ?? "admission.k8s.io/v1", kind: "AdmissionReview", response };
}

const server = createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (req, res) => {
  if (req.method === "GET" && req.url === "/healthz") {
    res.writeHead(200).end("ok");
    return;
  }
  const handle = req.url?.startsWith("/mutate-pods")
    ? (body: unknown) => mutatePod(body as AdmissionReviewBody)
    : (body: unknown) => review(body as TokenReviewBody);
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      res.writeHead(400).end("body is not JSON");
      return;
    }
    handle(body)
      .then((result) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(result)))
      .catch((error: unknown) => {
        log({ msg: "review failed", error: error instanceof Error ? error.message : String(error) });
        res.writeHead(500).end("review failed");
      });
  });
});
server.listen(Number(port), "127.0.0.1", () => log({ msg: "webhook ready", port: Number(port) }));
for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => server.close(() => process.exit(0)));
