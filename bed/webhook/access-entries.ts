/**
 * How EKS access entries turn an IAM identity into a Kubernetes user: the
 * entry is looked up by the principal's canonical ARN (an assumed-role session
 * becomes its role ARN); the username defaults to the caller's ARN and may be
 * a template with {{SessionName}} and {{AccountID}}.
 */
export interface AccessEntry {
  principalArn: string;
  username?: string;
  groups: string[];
}

export interface KubernetesUser {
  username: string;
  uid: string;
  groups: string[];
  extra: Record<string, string[]>;
}

interface ParsedArn {
  partition: string;
  account: string;
  canonical: string;
  sessionName: string;
}

const ASSUMED_ROLE = /^arn:([\w-]+):sts::(\d{12}):assumed-role\/([^/]+)\/(.+)$/;
const IAM_PRINCIPAL = /^arn:([\w-]+):iam::(\d{12}):(user|role)\/(?:.+\/)?([^/]+)$/;

export function canonicalizeArn(arn: string): ParsedArn | undefined {
  const assumed = ASSUMED_ROLE.exec(arn);
  if (assumed) {
    const [, partition = "", account = "", role = "", session = ""] = assumed;
    return { partition, account, canonical: `arn:${partition}:iam::${account}:role/${role}`, sessionName: session };
  }
  const principal = IAM_PRINCIPAL.exec(arn);
  if (principal) {
    const [, partition = "", account = "", kind = "", name = ""] = principal;
    return { partition, account, canonical: `arn:${partition}:iam::${account}:${kind}/${name}`, sessionName: "" };
  }
  return undefined;
}

export function mapIdentity(arn: string, accessKeyId: string, entries: AccessEntry[]): KubernetesUser | undefined {
  const parsed = canonicalizeArn(arn);
  if (!parsed) return undefined;
  const entry = entries.find((e) => e.principalArn === parsed.canonical || e.principalArn === arn);
  if (!entry) return undefined;
  const username = (entry.username ?? arn)
    .replaceAll("{{SessionName}}", parsed.sessionName)
    .replaceAll("{{AccountID}}", parsed.account);
  return {
    username,
    uid: `aws-iam-authenticator:${parsed.account}:${accessKeyId}`,
    groups: entry.groups,
    extra: {
      arn: [arn],
      canonicalArn: [parsed.canonical],
      accessKeyId: [accessKeyId],
      sessionName: [parsed.sessionName],
    },
  };
}
