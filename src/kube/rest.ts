import type { IncomingMessage } from "node:http";
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
  /** The caller needs only the status: a success's body is read but not parsed (a created Job is several KB of JSON). */
  statusOnly?: boolean;
}

const agents = new Map<string, Agent>();

/** How to trust the API server and, with a client certificate, be trusted by it. */
const tlsOf = (connection: ClusterConnection) => ({
  ca: connection.ca,
  cert: connection.cert,
  key: connection.key,
  rejectUnauthorized: !connection.insecureSkipTLSVerify,
});

/** One keep-alive pool per API server and kind of credential. */
function agentFor(connection: ClusterConnection): Agent {
  const agentKey = `${connection.server}|${connection.cert ? "cert" : "token"}`;
  let agent = agents.get(agentKey);
  if (!agent) {
    agent = new Agent({ keepAlive: true, maxSockets: 32, ...tlsOf(connection) });
    agents.set(agentKey, agent);
  }
  return agent;
}

function urlOf(connection: ClusterConnection, path: string, query: RestRequest["query"]): URL {
  const url = new URL(path, connection.server);
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== "") url.searchParams.set(name, String(value));
  }
  return url;
}

function headersOf(connection: ClusterConnection, accept: string): Record<string, string> {
  const headers: Record<string, string> = { accept };
  if (connection.token) headers.authorization = `Bearer ${connection.token}`;
  return headers;
}

/**
 * The few Kubernetes REST calls the functions make, over one keep-alive
 * connection pool per API server (node:https, nothing bundled). The
 * generated @kubernetes/client-node API classes are most of a bundle and
 * open a new TLS connection per call; the functions need six verbs.
 * Types still come from @kubernetes/client-node.
 */
export async function kubeRequest<T>(connection: ClusterConnection, req: RestRequest): Promise<T> {
  const url = urlOf(connection, req.path, req.query);
  const agent = agentFor(connection);
  const payload = req.body === undefined ? undefined : JSON.stringify(req.body);
  const headers = headersOf(connection, req.text ? "text/plain, */*" : "application/json");
  if (payload !== undefined) {
    headers["content-type"] = req.contentType ?? "application/json";
    // A fixed length, not chunked: the connection is reused for the next call.
    headers["content-length"] = String(Buffer.byteLength(payload));
  }
  return new Promise<T>((resolve, reject) => {
    const call = request(url, { method: req.method, agent, headers, timeout: 30_000 }, (res) => {
      const status = res.statusCode ?? 0;
      if (req.statusOnly && status >= 200 && status < 300) {
        // Read to the end (so the connection is reused) without keeping it.
        res.resume();
        res.on("end", () => resolve(undefined as T));
        res.on("error", reject);
        return;
      }
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
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

/** A watch silent this long is taken for a dead connection (it fails; the caller starts again). */
const WATCH_IDLE_SECONDS = 90;

/** One event of a watch, as the API server streams it (one JSON object per line). */
export interface WatchEvent<T> {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  /** The object; for ERROR a Status (`code` 410: the resourceVersion is too old, list again). */
  object: T;
}

/**
 * A watch (GET with `watch=1`): the events as they arrive, until the server
 * ends the stream (its `timeoutSeconds`), the connection fails or stays
 * silent too long (thrown) or `signal` aborts (the iteration ends, or an
 * error answer being read throws). Its own connection, outside the
 * keep-alive pool: a watch holds its socket for minutes.
 */
export async function* kubeWatch<T>(
  connection: ClusterConnection,
  path: string,
  query: RestRequest["query"],
  signal: AbortSignal,
): AsyncGenerator<WatchEvent<T>> {
  const url = urlOf(connection, path, { ...query, watch: 1 });
  // The API server sends a bookmark about once a minute on a quiet watch: silence beyond that is a dead connection.
  const idleMs = Math.min(Number(query?.timeoutSeconds ?? 300) + 30, WATCH_IDLE_SECONDS) * 1000;
  const response = await new Promise<IncomingMessage | undefined>((resolve, reject) => {
    const call = request(
      url,
      {
        method: "GET",
        headers: headersOf(connection, "application/json"),
        ...tlsOf(connection),
        agent: false,
        signal,
        timeout: idleMs,
      },
      resolve,
    );
    call.on("timeout", () => call.destroy(new Error(`watch ${url.pathname} got nothing for ${idleMs} ms`)));
    call.on("error", (error) => (signal.aborted ? resolve(undefined) : reject(error)));
    call.end();
  });
  if (!response) return;
  const status = response.statusCode ?? 0;
  if (status < 200 || status >= 300) {
    const chunks: Buffer[] = [];
    for await (const chunk of response) chunks.push(chunk as Buffer);
    throw new KubeApiError(status, Buffer.concat(chunks).toString("utf8"), `watch ${url.pathname}`);
  }
  // Decoded as a stream: a character split across chunks stays whole.
  response.setEncoding("utf8");
  let pending = "";
  try {
    for await (const chunk of response) {
      pending += chunk as string;
      let end = pending.indexOf("\n");
      while (end >= 0) {
        const line = pending.slice(0, end).trim();
        pending = pending.slice(end + 1);
        if (line) yield JSON.parse(line) as WatchEvent<T>;
        end = pending.indexOf("\n");
      }
    }
  } catch (error: unknown) {
    if (!signal.aborted) throw error;
  } finally {
    response.destroy();
  }
}
