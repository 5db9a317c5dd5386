import { createHash } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { Agent, request } from "node:https";
import { errorMessage } from "../util/error-message.js";
import { DOCKER_HUB, formatReference, type ImageReference } from "./reference.js";

/** A user name and password for one registry host. */
export interface RegistryLogin {
  username: string;
  password: string;
}

/** How to reach registries: logins per host (a docker config.json's auths) and a CA to trust besides the system's. */
export interface RegistryAccess {
  login(host: string): Promise<RegistryLogin | undefined>;
  ca?: string;
}

/** The registry could not be asked (unreachable, 5xx, throttled): worth retrying later. */
export class RegistryUnavailableError extends Error {
  override name = "RegistryUnavailableError";
}

/** The registry refused for good (unauthorized, denied): the same request would get the same answer. */
export class RegistryRefusedError extends Error {
  override name = "RegistryRefusedError";
}

/** What the functions ask a registry: the digest a reference resolves to, as the registry serves it. */
export interface ManifestDigests {
  /** The digest of the manifest (or index) `ref` names; undefined when the registry has no such image. */
  digestOf(ref: ImageReference): Promise<string | undefined>;
}

/** Index and manifest types, OCI and Docker: a multi-platform tag resolves to its index, as the builder sees it. */
const MANIFEST_TYPES = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");
const TIMEOUT_MS = 10_000;
/** Docker Hub's name in references is not where its API answers. */
const apiHost = (registry: string) => (registry === DOCKER_HUB ? "registry-1.docker.io" : registry);

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/**
 * A registry client for the one question the functions ask (the OCI
 * distribution API's manifest HEAD), over node:https with a keep-alive pool
 * per CA. Authenticates as registries ask: Basic, or a Bearer token from the
 * realm a 401 names (Docker Hub, ECR Public, GHCR, distribution's token
 * auth), with the host's login if one is configured and anonymously if not.
 */
export class RegistryClient implements ManifestDigests {
  private readonly agent: Agent;
  /** Authorization header values that worked, per host and repository. */
  private readonly authorizations = new Map<string, string>();

  constructor(private readonly access: RegistryAccess) {
    this.agent = new Agent({ keepAlive: true, maxSockets: 8, ca: access.ca ? [access.ca] : undefined });
  }

  /** Close the keep-alive connections (a refreshed login or CA replaces this client). */
  close(): void {
    this.agent.destroy();
  }

  async digestOf(ref: ImageReference): Promise<string | undefined> {
    const host = apiHost(ref.registry);
    const path = `/v2/${ref.repository}/manifests/${ref.digest ?? ref.tag ?? "latest"}`;
    const scopeKey = `${host}/${ref.repository}`;
    const what = formatReference(ref);
    let answer = await this.send(host, "HEAD", path, this.authorizations.get(scopeKey), what);
    if (answer.status === 401) {
      const authorization = await this.authorize(host, ref.repository, answer.headers["www-authenticate"], what);
      answer = await this.send(host, "HEAD", path, authorization, what);
      if (answer.status !== 401) this.authorizations.set(scopeKey, authorization);
    }
    if (answer.status === 404) return undefined;
    this.check(answer, what);
    const digest = answer.headers["docker-content-digest"];
    if (typeof digest === "string" && digest.startsWith("sha256:")) return digest;
    // A registry that does not say: the digest is the manifest's own hash.
    const full = await this.send(host, "GET", path, this.authorizations.get(scopeKey), what);
    if (full.status === 404) return undefined;
    this.check(full, what);
    return `sha256:${createHash("sha256").update(full.body).digest("hex")}`;
  }

  private check(answer: Answer, what: string): void {
    if (answer.status >= 200 && answer.status < 300) return;
    const message = `the registry answered ${answer.status} for ${what}`;
    if (answer.status === 401 || answer.status === 403) {
      throw new RegistryRefusedError(`${message}: not allowed to pull it with the configured credentials`);
    }
    if (answer.status === 429 || answer.status >= 500) throw new RegistryUnavailableError(message);
    throw new RegistryRefusedError(message);
  }

  /** The Authorization header a 401's challenge asks for. */
  private async authorize(host: string, repository: string, challenge: unknown, what: string): Promise<string> {
    const login =
      (await this.access.login(host)) ??
      (host === apiHost(DOCKER_HUB) ? await this.access.login(DOCKER_HUB) : undefined);
    const basic = login ? `Basic ${Buffer.from(`${login.username}:${login.password}`).toString("base64")}` : undefined;
    const text = typeof challenge === "string" ? challenge : "";
    if (/^basic\b/i.test(text)) {
      if (!basic)
        throw new RegistryRefusedError(`the registry ${host} asks for a login for ${what}, and none is configured`);
      return basic;
    }
    const params = Object.fromEntries([...text.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]?.toLowerCase(), m[2]]));
    if (!/^bearer\b/i.test(text) || !params.realm) {
      throw new RegistryRefusedError(
        `the registry ${host} answered 401 for ${what} without a challenge dropbuild knows`,
      );
    }
    const realm = new URL(params.realm);
    if (params.service) realm.searchParams.set("service", params.service);
    realm.searchParams.set("scope", `repository:${repository}:pull`);
    const answer = await this.send(realm.host, "GET", `${realm.pathname}${realm.search}`, basic, `a token for ${what}`);
    this.check(answer, `a token for ${what}`);
    const body = JSON.parse(answer.body.toString("utf8")) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryRefusedError(`the registry's token service gave no token for ${what}`);
    return `Bearer ${token}`;
  }

  private send(
    host: string,
    method: "HEAD" | "GET",
    path: string,
    authorization: string | undefined,
    what: string,
  ): Promise<Answer> {
    const headers: Record<string, string> = { accept: MANIFEST_TYPES };
    if (authorization) headers.authorization = authorization;
    return new Promise<Answer>((resolve, reject) => {
      const call = request(
        { host: host.split(":")[0], port: host.split(":")[1] ?? 443, method, path, headers, agent: this.agent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
          );
          res.on("error", reject);
        },
      );
      call.setTimeout(TIMEOUT_MS, () => call.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)));
      call.on("error", (error) =>
        reject(new RegistryUnavailableError(`could not ask ${host} for ${what}: ${errorMessage(error)}`)),
      );
      call.end();
    });
  }
}

/** A login from base64 `user:password` (a docker config's `auth`, an ECR token); undefined when it is not one. */
export function loginFromBasic(encoded: string): RegistryLogin | undefined {
  const decoded = Buffer.from(encoded, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon > 0 ? { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) } : undefined;
}

/** Logins from a docker config.json (`auths`: `auth` as base64 user:password, or username and password). */
export function loginsFromDockerConfig(json: string): (host: string) => RegistryLogin | undefined {
  const parsed = JSON.parse(json) as {
    auths?: Record<string, { auth?: string; username?: string; password?: string }>;
  };
  const logins = new Map<string, RegistryLogin>();
  for (const [key, entry] of Object.entries(parsed.auths ?? {})) {
    const host = key.replace(/^https?:\/\//, "").split("/")[0] ?? key;
    const name = host === "index.docker.io" ? DOCKER_HUB : host;
    if (entry.username !== undefined && entry.password !== undefined) {
      logins.set(name, { username: entry.username, password: entry.password });
    } else if (entry.auth) {
      const login = loginFromBasic(entry.auth);
      if (login) logins.set(name, login);
    }
  }
  return (host) => logins.get(host);
}
