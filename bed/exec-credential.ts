/**
 * kubectl exec credential plugin for the bed's IAM kubeconfigs: prints an
 * ExecCredential holding an EKS token made from the AWS credentials in the
 * environment, exactly as the functions make theirs.
 */
import { parseArgs } from "node:util";
import { makeEksToken } from "../src/eks/token.js";

const { values } = parseArgs({ options: { cluster: { type: "string" } } });
const { AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION, AWS_ENDPOINT_URL } = process.env;
if (!values.cluster || !AWS_ACCESS_KEY_ID || !AWS_SECRET_ACCESS_KEY || !AWS_REGION) {
  process.stderr.write(
    "exec-credential: --cluster, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION are required\n",
  );
  process.exit(1);
}
const { token, expiresAt } = await makeEksToken({
  clusterName: values.cluster,
  region: AWS_REGION,
  credentials: {
    accessKeyId: AWS_ACCESS_KEY_ID,
    secretAccessKey: AWS_SECRET_ACCESS_KEY,
    sessionToken: AWS_SESSION_TOKEN,
  },
  stsEndpoint: AWS_ENDPOINT_URL,
});
process.stdout.write(
  JSON.stringify({
    apiVersion: "client.authentication.k8s.io/v1beta1",
    kind: "ExecCredential",
    status: { token, expirationTimestamp: new Date(expiresAt.getTime() - 60_000).toISOString() },
  }),
);
