/**
 * The few Kubernetes objects the functions read, as the API server sends
 * them (JSON), not as @kubernetes/client-node models them after its own
 * deserializer: times are RFC 3339 text, not Date, and a list's next-page
 * token is `continue`, not `_continue`. Only the fields dropbuild reads are
 * listed, so nothing else is kept from a page of thousands of Jobs. What
 * the functions write (the Job they create) still uses client-node's V1Job.
 */

/** RFC 3339, as the API server writes every timestamp. */
export type WireTime = string;

export interface WireMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: WireTime;
  deletionTimestamp?: WireTime;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
}

export interface WireJobCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: WireTime;
}

export interface WireJob {
  metadata?: WireMeta;
  spec?: { suspend?: boolean };
  status?: {
    startTime?: WireTime;
    completionTime?: WireTime;
    active?: number;
    failed?: number;
    succeeded?: number;
    conditions?: WireJobCondition[];
  };
}

export interface WireContainerStatus {
  name: string;
  state?: {
    waiting?: { reason?: string; message?: string };
    running?: { startedAt?: WireTime };
    terminated?: { exitCode: number; reason?: string; message?: string };
  };
}

export interface WirePod {
  metadata?: WireMeta;
  status?: {
    phase?: string;
    /** The Job's init containers (fetch-context, unpack-context), in order. */
    initContainerStatuses?: WireContainerStatus[];
    containerStatuses?: WireContainerStatus[];
  };
}

export interface WireList<T> {
  items?: T[];
  metadata?: { continue?: string; resourceVersion?: string };
}

/** The metadata fields dropbuild reads. */
const META_FIELDS = [
  "name",
  "namespace",
  "uid",
  "resourceVersion",
  "creationTimestamp",
  "deletionTimestamp",
  "labels",
  "annotations",
  "finalizers",
] as const satisfies readonly (keyof WireMeta)[];

/** The metadata fields dropbuild reads, and nothing else (managed fields are most of an object's bytes). */
export function slimMeta(meta: WireMeta | undefined): WireMeta | undefined {
  if (!meta) return undefined;
  // Every key is one of WireMeta's, with its value from `meta`: the entries rebuild a WireMeta.
  return Object.fromEntries(META_FIELDS.map((field) => [field, meta[field]])) as WireMeta;
}
