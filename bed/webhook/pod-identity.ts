import type { V1Container, V1Pod } from "@kubernetes/client-node";

/**
 * The bed's stand-in for amazon-eks-pod-identity-webhook (IRSA): a pod whose
 * service account carries `eks.amazonaws.com/role-arn` gets that role ARN and
 * a projected service-account token (audience sts.amazonaws.com) in every
 * container, so the AWS SDKs and CLI in it call STS AssumeRoleWithWebIdentity
 * — here against the emulator — instead of holding static keys.
 */
export const ROLE_ANNOTATION = "eks.amazonaws.com/role-arn";
export const TOKEN_DIR = "/var/run/secrets/eks.amazonaws.com/serviceaccount";
const VOLUME = "aws-iam-token";
const AUDIENCE = "sts.amazonaws.com";

export type JsonPatch = { op: "add"; path: string; value: unknown }[];

/** The JSON patch that injects the web identity into `pod`. Pure; empty if already injected. */
export function podIdentityPatch(pod: V1Pod, roleArn: string, region: string): JsonPatch {
  const spec = pod.spec;
  if (!spec || spec.volumes?.some((v) => v.name === VOLUME)) return [];
  const patch: JsonPatch = [];
  const volume = {
    name: VOLUME,
    projected: {
      sources: [{ serviceAccountToken: { audience: AUDIENCE, expirationSeconds: 86_400, path: "token" } }],
    },
  };
  if (spec.volumes) patch.push({ op: "add", path: "/spec/volumes/-", value: volume });
  else patch.push({ op: "add", path: "/spec/volumes", value: [volume] });
  const env = [
    { name: "AWS_ROLE_ARN", value: roleArn },
    { name: "AWS_WEB_IDENTITY_TOKEN_FILE", value: `${TOKEN_DIR}/token` },
    { name: "AWS_STS_REGIONAL_ENDPOINTS", value: "regional" },
    { name: "AWS_DEFAULT_REGION", value: region },
  ];
  const mount = { name: VOLUME, mountPath: TOKEN_DIR, readOnly: true };
  const inject = (kind: "initContainers" | "containers", containers: V1Container[] | undefined) => {
    (containers ?? []).forEach((container, index) => {
      const base = `/spec/${kind}/${index}`;
      const have = new Set((container.env ?? []).map((e) => e.name));
      const missing = env.filter((e) => !have.has(e.name));
      if (container.env) for (const e of missing) patch.push({ op: "add", path: `${base}/env/-`, value: e });
      else patch.push({ op: "add", path: `${base}/env`, value: missing });
      if (container.volumeMounts) patch.push({ op: "add", path: `${base}/volumeMounts/-`, value: mount });
      else patch.push({ op: "add", path: `${base}/volumeMounts`, value: [mount] });
    });
  };
  inject("initContainers", spec.initContainers);
  inject("containers", spec.containers);
  return patch;
}
