import { checkTag } from "../build/reference.js";
import { accept, type Checked, refuse } from "../build/result.js";

/** An image reference as a registry client needs it: which registry, which repository, which tag or digest. */
export interface ImageReference {
  /** The registry host (and port) as written, `docker.io` when none was. */
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
}

export const DOCKER_HUB = "docker.io";
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

/**
 * Parse an image reference the way docker and go-containerregistry do: the
 * first component is a registry when it has a `.` or `:` or is `localhost`;
 * otherwise the image is Docker Hub's, and a one-component name is under
 * `library/`. No tag and no digest means `latest`.
 */
export function parseImageReference(text: string): Checked<ImageReference> {
  const bad = (why: string) => refuse<ImageReference>(`"${text}" is not a valid image reference: ${why}`);
  const [named = "", digest, ...extra] = text.split("@");
  if (extra.length > 0) return bad("more than one @");
  if (digest !== undefined && !DIGEST.test(digest)) return bad(`the digest must be sha256: and 64 hex digits`);
  const slash = named.indexOf("/");
  const first = slash === -1 ? "" : named.slice(0, slash);
  const hasRegistry = first !== "" && (first.includes(".") || first.includes(":") || first === "localhost");
  const registry = hasRegistry ? first : DOCKER_HUB;
  const rest = hasRegistry ? named.slice(slash + 1) : named;
  const colon = rest.lastIndexOf(":");
  const path = colon === -1 ? rest : rest.slice(0, colon);
  const tag = colon === -1 ? undefined : rest.slice(colon + 1);
  if (path === "" || !path.split("/").every((component) => PATH_COMPONENT.test(component))) {
    return bad("the repository must be lowercase path components joined by /");
  }
  if (tag !== undefined) {
    const checked = checkTag(tag);
    if (!checked.ok) return bad(checked.reason);
  }
  const repository = registry === DOCKER_HUB && !path.includes("/") ? `library/${path}` : path;
  return accept({ registry, repository, tag: tag ?? (digest ? undefined : "latest"), digest });
}

/** The reference as text, tag and digest both when both are known (`busybox:1.37@sha256:…`). */
export function formatReference(ref: ImageReference): string {
  const tag = ref.tag ? `:${ref.tag}` : "";
  const digest = ref.digest ? `@${ref.digest}` : "";
  return `${ref.registry}/${ref.repository}${tag}${digest}`;
}

/**
 * Where the builder actually pulls an image from: kaniko's --registry-mirror
 * serves Docker Hub's images (at `<mirror>/<repository>`, the mirror's path
 * prefixed); images of other registries come from those registries.
 */
export function pullLocation(ref: ImageReference, mirror: string | undefined): ImageReference {
  if (ref.registry !== DOCKER_HUB || !mirror) return ref;
  const slash = mirror.indexOf("/");
  const host = slash === -1 ? mirror : mirror.slice(0, slash);
  const prefix = slash === -1 ? "" : `${mirror.slice(slash + 1).replace(/\/+$/, "")}/`;
  return { ...ref, registry: host, repository: `${prefix}${ref.repository}` };
}
