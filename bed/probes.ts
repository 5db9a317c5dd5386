import { readFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";

export interface TlsFiles {
  ca?: string;
  cert?: string;
  key?: string;
}

/**
 * GET a URL; true when it answers 200 (or one of `accept`, e.g. 401 from a
 * registry that wants credentials). Self-signed component certs are accepted
 * when no CA is given.
 */
export function httpOk(url: string, tls: TlsFiles = {}, accept: number[] = [200]): Promise<boolean> {
  if (url.startsWith("http:")) {
    return fetch(url, { signal: AbortSignal.timeout(2000) })
      .then((res) => accept.includes(res.status))
      .catch(() => false);
  }
  return new Promise((resolve) => {
    const req = httpsRequest(
      url,
      {
        ca: tls.ca ? readFileSync(tls.ca) : undefined,
        cert: tls.cert ? readFileSync(tls.cert) : undefined,
        key: tls.key ? readFileSync(tls.key) : undefined,
        rejectUnauthorized: Boolean(tls.ca),
        timeout: 2000,
      },
      (res) => {
        res.resume();
        resolve(accept.includes(res.statusCode ?? 0));
      },
    );
    req.on("error", () => resolve(false));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}
