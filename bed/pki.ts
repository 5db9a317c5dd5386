import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { runCommand } from "./build/run.js";

export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
  /** name → { cert, key } */
  certs: Record<string, { cert: string; key: string }>;
}

export interface CertRequest {
  name: string;
  commonName: string;
  organization?: string;
  /** Subject alternative names, e.g. `IP:127.0.0.1`; server certs only. */
  altNames?: string[];
}

/**
 * A throwaway CA and the certificates the bed's components need, made with the
 * openssl CLI. Client certificates carry the Kubernetes user in CN and the
 * group in O, which is how the API server reads them.
 */
export async function makePki(dir: string, requests: CertRequest[]): Promise<Pki> {
  await mkdir(dir, { recursive: true });
  const caKey = join(dir, "ca.key");
  const caCert = join(dir, "ca.crt");
  await runCommand("openssl", ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", caKey]);
  await runCommand("openssl", [
    "req",
    "-x509",
    "-new",
    "-key",
    caKey,
    "-sha256",
    "-days",
    "30",
    "-subj",
    "/CN=dropbuild-bed-ca",
    "-out",
    caCert,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
  ]);
  const certs: Pki["certs"] = {};
  for (const request of requests) {
    certs[request.name] = await signCert(dir, caCert, caKey, request);
  }
  const serviceAccountKey = join(dir, "sa.key");
  const serviceAccountPub = join(dir, "sa.pub");
  await runCommand("openssl", ["genrsa", "-out", serviceAccountKey, "2048"]);
  await runCommand("openssl", ["rsa", "-in", serviceAccountKey, "-pubout", "-out", serviceAccountPub]);
  return { dir, caCert, caKey, serviceAccountKey, serviceAccountPub, certs };
}

async function signCert(dir: string, caCert: string, caKey: string, request: CertRequest) {
  const key = join(dir, `${request.name}.key`);
  const csr = join(dir, `${request.name}.csr`);
  const cert = join(dir, `${request.name}.crt`);
  const ext = join(dir, `${request.name}.ext`);
  const subject = `/CN=${request.commonName}${request.organization ? `/O=${request.organization}` : ""}`;
  const extensions = ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment"];
  if (request.altNames?.length) {
    extensions.push("extendedKeyUsage=serverAuth", `subjectAltName=${request.altNames.join(",")}`);
  } else {
    extensions.push("extendedKeyUsage=clientAuth");
  }
  await writeFile(ext, `${extensions.join("\n")}\n`);
  await runCommand("openssl", ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key]);
  await runCommand("openssl", ["req", "-new", "-key", key, "-subj", subject, "-out", csr]);
  await runCommand("openssl", [
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    caCert,
    "-CAkey",
    caKey,
    "-CAcreateserial",
    "-days",
    "30",
    "-sha256",
    "-extfile",
    ext,
    "-out",
    cert,
  ]);
  return { cert, key };
}
