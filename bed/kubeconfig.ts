import { writeFile } from "node:fs/promises";
import { stringify } from "yaml";

export interface KubeconfigUser {
  clientCertificate?: string;
  clientKey?: string;
  /** An exec credential plugin (how EKS kubeconfigs get a token). */
  exec?: { command: string; args: string[]; env: Record<string, string> };
}

/** Write a kubeconfig with one cluster, one user and one context. */
export async function writeKubeconfig(
  path: string,
  cluster: { name: string; server: string; caFile: string },
  userName: string,
  user: KubeconfigUser,
): Promise<string> {
  const userEntry: Record<string, unknown> = {};
  if (user.clientCertificate) userEntry["client-certificate"] = user.clientCertificate;
  if (user.clientKey) userEntry["client-key"] = user.clientKey;
  if (user.exec) {
    userEntry.exec = {
      apiVersion: "client.authentication.k8s.io/v1beta1",
      command: user.exec.command,
      args: user.exec.args,
      env: Object.entries(user.exec.env).map(([name, value]) => ({ name, value })),
      interactiveMode: "Never",
    };
  }
  const config = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: cluster.name, cluster: { server: cluster.server, "certificate-authority": cluster.caFile } }],
    users: [{ name: userName, user: userEntry }],
    contexts: [{ name: cluster.name, context: { cluster: cluster.name, user: userName } }],
    "current-context": cluster.name,
  };
  await writeFile(path, stringify(config));
  return path;
}
