import { BUILD_STATUSES } from "../build/record.js";
import { LIST_PARAMETERS } from "../builds/query.js";
import { BUILD_ID } from "./router.js";

/**
 * The HTTP API's description (OpenAPI 3.1), served at /openapi.json. The
 * tests drive the real handler from it: every operation, parameter and
 * answer listed here is exercised, and an answer it does not list fails
 * (test/integration/api/openapi.test.ts). The route table (src/api/routes.ts,
 * src/dashboard/pages.ts) and serverless.yml's routes are checked against it.
 */

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const time = { type: "string", format: "date-time" } as const;
const text = { type: "string" } as const;
const sha256Hex = { type: "string", pattern: "^[0-9a-f]{64}$" } as const;
const digest = { type: "string", pattern: "^sha256:[0-9a-f]{64}$" } as const;
const jsonBody = (schema: object, description: string) => ({
  description,
  content: { "application/json": { schema } },
});
const error = (description: string) => jsonBody(ref("Error"), description);
const page = (description: string) => ({ description, content: { "text/html": { schema: text } } });
const idParameter = {
  name: "id",
  in: "path",
  required: true,
  description: "The build's id: 16 lowercase hex digits, derived from the upload.",
  schema: { type: "string", pattern: BUILD_ID.source },
} as const;
const queryParameter = (name: string, description: string, schema: object = text) => ({
  name,
  in: "query",
  required: false,
  description,
  schema,
});

/** What each list filter means (the names are LIST_PARAMETERS, shared with the route and the page). */
const FILTER_DOCS: Record<(typeof LIST_PARAMETERS)[number], [string, object?]> = {
  repository: ['Only this repository ("-" for rejected uploads whose key named none).'],
  status: ["Only builds with this status (any case)."],
  since: ["Submitted at or after this ISO time, or this long ago (30m, 12h, 7d)."],
  until: ["Submitted at or before this ISO time, or this long ago."],
  limit: ["At most this many builds (1 to 1000, default 50).", { type: "string", pattern: "^\\d+$" }],
  cursor: ["Where the previous page stopped (its `cursor`); the same filters must be sent."],
};
const LIST_FILTERS = LIST_PARAMETERS.map((name) => queryParameter(name, ...FILTER_DOCS[name]));

const Build = {
  type: "object",
  description: "A build's record (one DynamoDB item), as `dropbuild builds show --json` prints it.",
  additionalProperties: false,
  required: [
    "id",
    "status",
    "statusRank",
    "repository",
    "tag",
    "destinations",
    "source",
    "trigger",
    "namespace",
    "submittedAt",
    "attempts",
    "expiresAt",
  ],
  properties: {
    id: { type: "string", pattern: BUILD_ID.source },
    status: { enum: [...BUILD_STATUSES] },
    statusRank: { type: "integer", minimum: 0, maximum: 2 },
    repository: text,
    tag: text,
    destinations: { type: "array", items: text },
    source: {
      type: "object",
      additionalProperties: false,
      required: ["bucket", "key"],
      properties: { bucket: text, key: text, versionId: text, etag: text, size: { type: "integer" } },
    },
    trigger: { enum: ["upload", "nightly", "event", "manual"] },
    namespace: text,
    jobName: text,
    dockerfile: text,
    buildArgs: { type: "object", additionalProperties: text },
    target: text,
    provenance: ref("Provenance"),
    requests: {
      type: "object",
      additionalProperties: false,
      required: ["cpu", "memory"],
      description: "The kaniko container's requests, as the Job was created with them.",
      properties: { cpu: text, memory: text },
    },
    cost: ref("Cost"),
    unchangedSince: {
      type: "string",
      description:
        "SKIPPED only: the earlier successful build whose inputs (context version, base digests) were the same.",
    },
    pinnedDockerfile: {
      type: "string",
      description: "The Dockerfile kaniko built: the context's own with every base image pinned by digest.",
    },
    submittedAt: time,
    uploadedAt: time,
    startedAt: time,
    finishedAt: time,
    durationSeconds: { type: "number", minimum: 0 },
    attempts: { type: "integer", minimum: 0 },
    reason: text,
    digest,
    logLocation: text,
    logNote: text,
    queuePosition: { type: "integer", minimum: 1 },
    eventPublishedAt: time,
    eventClaimedAt: time,
    expiresAt: { type: "integer", description: "Epoch seconds; the table's TTL deletes the record then." },
  },
} as const;

/** What went into a build and what came out (src/build/provenance.ts). */
const Provenance = {
  type: "object",
  description:
    "What went into a build (context, Dockerfile, base images by digest) and, once it succeeded, what came out.",
  additionalProperties: false,
  required: ["contextSha256", "dockerfileSha256", "stages"],
  properties: {
    contextSha256: { ...sha256Hex, description: "sha256 of the context object exactly as uploaded." },
    dockerfileSha256: { ...sha256Hex, description: "sha256 of the Dockerfile as found in the context." },
    stages: {
      type: "array",
      description: "One entry per stage the build runs (up to the target), in Dockerfile order.",
      items: {
        type: "object",
        additionalProperties: false,
        required: ["stage", "reference", "kind"],
        properties: {
          stage: { type: "integer", minimum: 0 },
          name: text,
          reference: { ...text, description: "The FROM's image as written, variables and all." },
          kind: { enum: ["image", "stage", "scratch"] },
          image: { ...text, description: "The full reference after build args." },
          pulledFrom: { ...text, description: "Where the builder pulls it (the registry mirror, for Docker Hub)." },
          digest: { ...digest, description: "What the reference resolved to before the build; the build ran from it." },
        },
      },
    },
    outputs: {
      type: "array",
      description: "Each destination and the digest the registry serves for it after the push.",
      items: {
        type: "object",
        additionalProperties: false,
        required: ["destination"],
        properties: {
          destination: text,
          digest,
          note: { ...text, description: "Why there is no digest (the registry could not be asked)." },
        },
      },
    },
  },
} as const;

const money = { type: "number", minimum: 0 } as const;

/** A build's requests × its running time (src/build/cost.ts). */
const Cost = {
  type: "object",
  additionalProperties: false,
  required: ["vcpuSeconds", "gibSeconds", "estimate", "currency"],
  description: "What the build's requests cost while its pod ran; an estimate at the configured prices.",
  properties: {
    vcpuSeconds: money,
    gibSeconds: money,
    estimate: { ...money, description: "In `currency`, at BUILD_PRICE_VCPU_HOUR and BUILD_PRICE_GIB_HOUR." },
    currency: text,
  },
} as const;

const queueEntry = (extra: Record<string, object>, required: string[]) => ({
  type: "object",
  additionalProperties: false,
  required: ["id", "jobName", ...required],
  properties: { id: text, jobName: text, build: ref("Build"), ...extra },
});

const schemas = {
  Error: {
    type: "object",
    required: ["error"],
    properties: { error: { type: "string", description: "What is wrong, naming the parameter at fault." } },
  },
  Build,
  Provenance,
  Cost,
  Costs: {
    type: "object",
    additionalProperties: false,
    required: ["repository", "since", "builds", "withoutCost", "vcpuSeconds", "gibSeconds", "estimate", "truncated"],
    properties: {
      repository: text,
      since: time,
      until: time,
      builds: { type: "integer", minimum: 0, description: "Builds in the range with a cost." },
      withoutCost: {
        type: "integer",
        minimum: 0,
        description:
          "Builds in the range without one: never ran (rejected, skipped, cancelled while queued) or still running.",
      },
      vcpuSeconds: money,
      gibSeconds: money,
      estimate: money,
      currency: { ...text, description: "Absent when no build in the range has a cost." },
      truncated: {
        type: "boolean",
        description: "More than 10,000 builds in the range: these are the newest 10,000's.",
      },
    },
  },
  BuildList: {
    type: "object",
    additionalProperties: false,
    required: ["builds"],
    properties: {
      builds: { type: "array", items: ref("Build") },
      cursor: { type: "string", description: "Present when there is more: send it back for the next page." },
    },
  },
  CancelResult: {
    type: "object",
    required: ["outcome", "record"],
    properties: { outcome: { const: "cancelled" }, record: ref("Build") },
  },
  AlreadyFinished: {
    type: "object",
    required: ["error", "outcome", "record"],
    properties: { error: text, outcome: { const: "already-finished" }, record: ref("Build") },
  },
  BuildLog: {
    type: "object",
    additionalProperties: false,
    required: ["id", "status", "source", "from", "text", "offset", "complete"],
    properties: {
      id: text,
      status: { enum: [...BUILD_STATUSES] },
      source: { enum: ["archive", "live", "none"] },
      pod: { type: "string", description: "The builder pod a live log comes from; absent for the archive." },
      from: {
        type: "integer",
        minimum: 0,
        description: "Where `text` starts; 0 when a retry's new pod started the log over.",
      },
      text,
      offset: { type: "integer", minimum: 0, description: "Send it as `offset` to read only what comes next." },
      complete: { type: "boolean", description: "The build finished and this is its whole log." },
      note: { type: "string", description: "Why there is no log (yet)." },
    },
  },
  Queue: {
    type: "object",
    additionalProperties: false,
    required: ["cap", "running", "waiting"],
    properties: {
      cap: { type: "integer", minimum: 0, description: "MAX_CONCURRENT_BUILDS; 0 means no cap." },
      running: { type: "array", items: queueEntry({}, []) },
      waiting: {
        type: "array",
        description: "Suspended Jobs in the order they are released, oldest upload first.",
        items: queueEntry({ position: { type: "integer", minimum: 1 }, startsNext: { type: "boolean" } }, [
          "position",
          "startsNext",
        ]),
      },
    },
  },
};

const unknownBuild = error("No build has this id.");
const noCluster = error("This API has no cluster access, or the cluster could not be reached.");

type Responses = Record<string, object>;
/** Every operation answers a wrong parameter with 400 and a wrong method on its path with 405. */
const jsonOperation = (operationId: string, summary: string, parameters: object[], responses: Responses) => ({
  operationId,
  summary,
  parameters,
  responses: {
    ...responses,
    "400": error("A parameter is wrong; the message names it."),
    "405": error("The path exists, but not with this method."),
    default: error("Anything else (500): a fault of the API's, logged by the function."),
  },
});
const pageOperation = (operationId: string, summary: string, parameters: object[], responses: Responses) => ({
  operationId,
  summary,
  parameters,
  responses: {
    "200": page("The page."),
    ...responses,
    "400": page("A parameter is wrong; the page names it."),
    "405": page("The path exists, but not with this method."),
    default: page("Anything else (500): a fault of the API's, logged by the function."),
  },
});

export const openApiDocument = {
  openapi: "3.1.0",
  info: {
    title: "dropbuild",
    version: "1",
    description:
      "Builds, their logs and the queue, as JSON; and the status page. Deployed behind API Gateway with IAM (SigV4) authorization; `dropbuild dashboard` serves it on localhost with your own credentials.",
  },
  paths: {
    "/builds": {
      get: jsonOperation("listBuilds", "Builds, newest first, filtered and paged", LIST_FILTERS, {
        "200": jsonBody(ref("BuildList"), "A page of builds."),
      }),
    },
    "/costs": {
      get: jsonOperation(
        "getCosts",
        "A repository's build costs over a time range: vCPU-seconds, GiB-seconds and an estimate",
        [
          { ...queryParameter("repository", "The repository (required).", { type: "string" }), required: true },
          queryParameter("since", "ISO time or an age such as 12h or 7d (default 30d).", { type: "string" }),
          queryParameter("until", "ISO time or an age (default now).", { type: "string" }),
        ],
        { "200": jsonBody(ref("Costs"), "The totals.") },
      ),
    },
    "/builds/{id}": {
      get: jsonOperation("getBuild", "One build's record", [idParameter], {
        "200": jsonBody(ref("Build"), "The record."),
        "404": unknownBuild,
      }),
    },
    "/builds/{id}/log": {
      get: jsonOperation(
        "getBuildLog",
        "A build's log, archived or live, from an offset on (poll with the returned offset to follow it)",
        [
          idParameter,
          queryParameter("offset", "Characters of the log already read (default 0).", {
            type: "string",
            pattern: "^\\d+$",
          }),
          queryParameter(
            "pod",
            'The `pod` of the previous read ("" when it was the archive): when this read is of another log (a retry\'s new pod, or the archive that replaced the live log), it starts at 0.',
          ),
        ],
        {
          "200": jsonBody(ref("BuildLog"), "The log from the offset on."),
          "404": unknownBuild,
          "503": error("The cluster could not be reached to read a running build's log."),
        },
      ),
    },
    "/builds/{id}/cancel": {
      post: jsonOperation(
        "cancelBuild",
        "Cancel a queued or running build: records CANCELLED and deletes its Job",
        [idParameter],
        {
          "200": jsonBody(ref("CancelResult"), "Cancelled."),
          "404": unknownBuild,
          "409": jsonBody(ref("AlreadyFinished"), "The build had already finished; its record is returned."),
          "503": noCluster,
        },
      ),
    },
    "/queue": {
      get: jsonOperation("getQueue", "What runs against the cap, and what waits, in release order", [], {
        "200": jsonBody(ref("Queue"), "The queue, read from the cluster's Jobs."),
        "503": noCluster,
      }),
    },
    "/openapi.json": {
      get: jsonOperation("getOpenApi", "This document", [], {
        "200": jsonBody({ type: "object" }, "The OpenAPI 3.1 description of this API."),
      }),
    },
    "/": {
      get: pageOperation(
        "statusPage",
        "The status page: builds with filters and paging; per-repository charts when filtered by one",
        LIST_FILTERS,
        {},
      ),
    },
    "/ui/builds/{id}": {
      get: pageOperation(
        "buildPage",
        "A build's page: its record, status history, log (followed while it runs) and a cancel button",
        [idParameter],
        { "404": page("No such build.") },
      ),
    },
    "/ui/queue": {
      get: pageOperation(
        "queuePage",
        "The queue page: running builds against the cap, and waiting builds in release order",
        [],
        { "503": page("The queue cannot be read: no cluster access, or the cluster could not be reached.") },
      ),
    },
  },
  // Deployed, every route takes only IAM-signed requests (API Gateway answers an unsigned one 403 itself).
  security: [{ sigv4: [] }],
  components: {
    schemas,
    securitySchemes: {
      sigv4: {
        type: "apiKey",
        name: "Authorization",
        in: "header",
        description:
          "AWS Signature Version 4 (API Gateway IAM authorization, service execute-api). `dropbuild dashboard` serves the same API on localhost, signing nothing: it reads with your own credentials.",
      },
    },
  },
};
