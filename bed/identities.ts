import type { IamFile } from "./webhook/iam-file.js";

/** moto's default account. */
export const BED_ACCOUNT = "123456789012";
export const BED_REGION = "us-east-1";
export const BED_CLUSTER = "dropbuild-local";

export interface BedIdentity {
  arn: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/**
 * Fixed, emulator-only credentials. `admin` is what the harness uses for AWS
 * calls; `functions` is the role the Lambda functions run as, mapped (like an
 * EKS access entry) to the Kubernetes group that infra/k8s binds.
 */
export const BED_IDENTITIES = {
  admin: {
    arn: `arn:aws:iam::${BED_ACCOUNT}:user/bed-admin`,
    accessKeyId: "AKIABEDADMIN00000000",
    secretAccessKey: "bed-admin-secret-not-a-real-key",
  },
  functions: {
    arn: `arn:aws:iam::${BED_ACCOUNT}:role/dropbuild-functions`,
    accessKeyId: "AKIABEDFUNCTIONS0000",
    secretAccessKey: "bed-functions-secret-not-a-real-key",
  },
} satisfies Record<string, BedIdentity>;

/** The Kubernetes group the functions' access entry maps to (bound by infra/k8s). */
export const FUNCTIONS_GROUP = "dropbuild:functions";

export function defaultIamFile(): IamFile {
  return {
    credentials: Object.values(BED_IDENTITIES),
    accessEntries: [
      { principalArn: BED_IDENTITIES.functions.arn, username: "dropbuild-functions", groups: [FUNCTIONS_GROUP] },
    ],
  };
}
