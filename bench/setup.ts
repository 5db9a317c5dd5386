import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import { repoRoot } from "../bed/paths.js";
import type { BedInfo } from "../bed/state.js";
import { type Config, loadConfig } from "../src/config.js";
import { KubernetesBuildCluster } from "../src/kube/cluster.js";
import { applyInfra, ensureBuildsTable, ensureContextsBucket } from "../src/local/provision.js";
import type { UploadNotice } from "../src/trigger/submit-upload.js";
import {
  makeBuildEvents,
  makeBuildStore,
  makeConnector,
  makeLogArchive,
  makeS3,
  reconcileSettings,
  S3ContextObjects,
  submitSettings,
} from "../src/wiring.js";
import { gzip, sampleContext } from "../test/support/tar.js";

let counter = 0;
export const benchName = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${++counter}`;

export function adminAws(bed: BedInfo) {
  return {
    region: bed.aws.region,
    endpoint: bed.aws.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: bed.aws.accessKeyId, secretAccessKey: bed.aws.secretAccessKey },
  };
}

/** A deployment on the bench bed: its own bucket and table, the functions' identity, infra/k8s applied. */
export async function benchDeployment(bed: BedInfo, env: Record<string, string> = {}) {
  const bucket = benchName("contexts");
  const table = benchName("builds");
  const aws = adminAws(bed);
  await ensureBuildsTable(new DynamoDBClient(aws), table);
  await ensureContextsBucket(new S3Client(aws), new SQSClient(aws), bucket, benchName("uploads"));
  await applyInfra(bed.kubectl, bed.kubeconfigs.admin, join(repoRoot, "infra", "k8s", "overlays", "local"));
  const config: Config = loadConfig({
    AWS_REGION: bed.aws.region,
    AWS_ENDPOINT_URL: bed.aws.endpoint,
    BUILDS_TABLE: table,
    CONTEXTS_BUCKET: bucket,
    CLUSTER_NAME: bed.cluster.name,
    REGISTRY: "registry.bench.local:5000",
    SIMULATED_BUILDS: "true",
    ...env,
  });
  const identity = bed.identities.functions;
  const credentials = { accessKeyId: identity?.accessKeyId ?? "", secretAccessKey: identity?.secretAccessKey ?? "" };
  const cluster = new KubernetesBuildCluster(makeConnector(config, credentials));
  const store = makeBuildStore(config, credentials);
  return {
    config,
    bucket,
    table,
    submit: {
      objects: new S3ContextObjects(makeS3(config, credentials)),
      store,
      cluster,
      settings: submitSettings(config),
      now: () => new Date(),
    },
    reconcile: {
      cluster,
      store,
      logs: makeLogArchive(config, credentials),
      events: makeBuildEvents(config, credentials),
      settings: reconcileSettings(config),
      now: () => new Date(),
      remainingMs: () => 900_000,
    },
    /** Upload n distinct contexts and return the notices S3 would send for them. */
    async upload(n: number, prefix: string): Promise<UploadNotice[]> {
      const s3 = new S3Client(aws);
      const body = gzip(sampleContext());
      const notices: UploadNotice[] = [];
      for (let i = 0; i < n; i += 1) {
        const key = `contexts/${prefix}/${i}.tar.gz`;
        const out = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
        notices.push({
          bucket,
          encodedKey: encodeURIComponent(key),
          versionId: out.VersionId,
          etag: out.ETag,
          eventTime: new Date().toISOString(),
        });
      }
      return notices;
    },
  };
}
