import { Agent, request } from "node:https";

/** Where and how to reach the API server. */
export interface ClusterConnection {
  server: string;
  ca?: string | Buffer;
  token?: string;
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Only for local clusters whose kubeconfig says so. */
  insecureSkipTLSVerify?: boolean;
}

/**
 * Whether the API server would give the same answer to the same request
 * again: a 4xx other than 401 (unauthenticated: a token that expired or a
 * clock off, renewed on the next try; on EKS also a missing access entry,
 * which an operator fixes and then replays the parked events), 408 (request
 * timeout), 409 (conflict: re-read and retry) and 429 (throttled). Forbidden,
 * invalid or refused by an admission policy stays so; 5xx, throttling,
 * timeouts and connection errors pass. The one place that decides what is
 * worth retrying.
 */
export const isPermanentStatus = (code: number) => code >= 400 && code < 500 && ![401, 408, 409, 429].includes(code);

/** The API server answered with an error status. `code` is the HTTP status (409 conflict, 422 invalid, …). */
export class KubeApiError extends Error {
  override name = "KubeApiError";
  /** The Status message the API server gave (the body itself when it is not a Status). */
  readonly apiMessage: string;
  /** Asking again would get the same answer (see isPermanentStatus). */
  readonly permanent: boolean;
  constructor(
    readonly code: number,
    readonly body: string,
    what: string,
  ) {
    const apiMessage = (() => {
      try {
        return (JSON.parse(body) as { message?: string }).message ?? body;
      } catch {
        return body;
      }
    })();
    super(`${what}: the Kubernetes API answered ${code}: ${apiMessage.slice(0, 300)}`);
    this.apiMessage = apiMessage;
    this.permanent = isPermanentStatus(code);
  }
}

export interface RestRequest {
  method: "GET" | "POST" | "PATCH" | "DELETE";
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  contentType?: string;
  /** Expect text (pod logs) rather than JSON. */
  text?: boolean;
}

const agents = new Map<string, Agent>();

/**
 * The few Kubernetes REST calls the functions make, over one keep-alive
 * connection pool per API server (node:https, nothing bundled). The
 * generated @kubernetes/client-node API classes are most of a bundle and
 * open a new TLS connection per call; the functions need six verbs.
 * Types still come from @kubernetes/client-node.
 */
export async function kubeRequest<T>(connection: ClusterConnection, req: RestRequest): Promise<T> {
  const url = new URL(req.path, connection.server);
  for (const [name, value] of Object.entries(req.query ?? {})) {
    if (value !== undefined && value !== "") url.searchParams.set(name, String(value));
  }
  const agentKey = `${connection.server}|${connection.cert ? "cert" : "token"}`;
  let agent = agents.get(agentKey);
  if (!agent) {
    agent = new Agent({
      keepAlive: true,
      maxSockets: 32,
      ca: connection.ca,
      cert: connection.cert,
      key: connection.key,
      rejectUnauthorized: !connection.insecureSkipTLSVerify,
    });
    agents.set(agentKey, agent);
  }
  const payload = req.body === undefined ? undefined : JSON.stringify(req.body);
  const headers: Record<string, string> = { accept: req.text ? "text/plain, */*" : "application/json" };
  if (payload !== undefined) {
    headers["content-type"] = req.contentType ?? "application/json";
    // A fixed length, not chunked: the connection is reused for the next call.
    headers["content-length"] = String(Buffer.byteLength(payload));
  }
  if (connection.token) headers.authorization = `Bearer ${connection.token}`;
  return new Promise<T>((resolve, reject) => {
    const call = request(url, { method: req.method, agent, headers, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        const status = res.statusCode ?? 0;
        if (status < 200 || status >= 300) {
          reject(new KubeApiError(status, text, `${req.method} ${url.pathname}`));
          return;
        }
        if (req.text) resolve(text as T);
        else resolve((text ? JSON.parse(text) : {}) as T);
      });
      res.on("error", reject);
    });
    call.on("timeout", () => call.destroy(new Error(`${req.method} ${url.pathname} timed out`)));
    call.on("error", reject);
    call.end(payload);
  });
}
