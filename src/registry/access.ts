import { type ECRClient, GetAuthorizationTokenCommand } from "@aws-sdk/client-ecr";
import {
  loginFromBasic,
  loginsFromDockerConfig,
  type ManifestDigests,
  RegistryClient,
  type RegistryLogin,
  RegistryRefusedError,
} from "./client.js";
import type { ImageReference } from "./reference.js";

/** Reads one key of a Secret or ConfigMap in the build namespace (KubernetesBuildCluster.configValue). */
export interface ClusterConfigValues {
  configValue(kind: "secret" | "configmap", namespace: string, name: string, key: string): Promise<string | undefined>;
}

export interface RegistryAccessSettings {
  namespace: string;
  /**
   * The registry hosts that may be asked (BASE_IMAGE_REGISTRIES plus REGISTRY
   * and the mirror); empty: any. An image anywhere else is refused without a
   * single packet sent its way.
   */
  allowedHosts: string[];
  /** The docker config Secret kaniko pushes and pulls with (REGISTRY_SECRET). */
  registrySecret?: string;
  /** The ConfigMap with the CA kaniko trusts (REGISTRY_CA_CONFIGMAP). */
  registryCaConfigMap?: string;
}

/** A login for an ECR registry host, from the function's own IAM role; undefined for other hosts. */
export type EcrLogins = (host: string) => Promise<RegistryLogin | undefined>;

/** Re-read the login and CA this often, so a rotated Secret reaches a warm function. */
const REFRESH_MS = 5 * 60_000;

/**
 * The functions ask registries what kaniko will pull and what it pushed,
 * with the credentials and CA kaniko has: the same Secret and ConfigMap,
 * read from the cluster (RBAC grants get on those two objects by name), so
 * there is one place to rotate them; for ECR hosts the Secret has no entry
 * for, an ECR token from the function's role (as kaniko's builder uses its
 * own through IRSA). Read on first use and every few minutes after.
 */
export class ClusterRegistryAccess implements ManifestDigests {
  private client: { made: number; client: Promise<RegistryClient> } | undefined;

  constructor(
    private readonly cluster: ClusterConfigValues,
    private readonly settings: RegistryAccessSettings,
    private readonly ecr: EcrLogins = async () => undefined,
    private readonly now: () => number = Date.now,
  ) {}

  async digestOf(ref: ImageReference): Promise<string | undefined> {
    const { allowedHosts } = this.settings;
    if (allowedHosts.length > 0 && !allowedHosts.includes(ref.registry)) {
      throw new RegistryRefusedError(
        `${ref.registry} is not a registry this deployment pulls from (BASE_IMAGE_REGISTRIES, REGISTRY, KANIKO_REGISTRY_MIRROR: ${allowedHosts.join(", ")})`,
      );
    }
    if (!this.client || this.now() - this.client.made > REFRESH_MS) {
      const replaced = this.client?.client;
      const client = this.load();
      this.client = { made: this.now(), client };
      // The replaced client's pool closes once the new one is ready (a request on it may still be under way).
      client.then(() => replaced?.then((old) => old.close())).catch(() => {});
      client.catch(() => {
        if (this.client?.client === client) this.client = undefined;
      });
    }
    return (await this.client.client).digestOf(ref);
  }

  private async load(): Promise<RegistryClient> {
    const { namespace, registrySecret, registryCaConfigMap } = this.settings;
    const [config, ca] = await Promise.all([
      registrySecret
        ? this.cluster.configValue("secret", namespace, registrySecret, ".dockerconfigjson")
        : Promise.resolve(undefined),
      registryCaConfigMap
        ? this.cluster.configValue("configmap", namespace, registryCaConfigMap, "ca.crt")
        : Promise.resolve(undefined),
    ]);
    const configured = config ? loginsFromDockerConfig(config) : () => undefined;
    return new RegistryClient({ login: async (host) => configured(host) ?? (await this.ecr(host)), ca });
  }
}

/** 123456789012.dkr.ecr.eu-west-1.amazonaws.com (and the FIPS and China forms). */
const ECR_HOST = /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/;

/**
 * ECR logins from GetAuthorizationToken with the caller's credentials: a
 * token for the host's account, kept until shortly before it expires (12 h).
 */
export function ecrLogins(makeClient: (region: string) => ECRClient): EcrLogins {
  const tokens = new Map<string, { login: RegistryLogin; until: number }>();
  return async (host) => {
    const match = ECR_HOST.exec(host);
    if (!match) return undefined;
    const [, account = "", region = ""] = match;
    const cached = tokens.get(host);
    if (cached && cached.until > Date.now()) return cached.login;
    const answer = await makeClient(region).send(new GetAuthorizationTokenCommand({ registryIds: [account] }));
    const data = answer.authorizationData?.[0];
    const login = data?.authorizationToken ? loginFromBasic(data.authorizationToken) : undefined;
    if (!login) return undefined;
    const expires = data?.expiresAt ? new Date(data.expiresAt).getTime() : Date.now() + 3600_000;
    tokens.set(host, { login, until: expires - 10 * 60_000 });
    return login;
  };
}
