import { createServer, type IncomingMessage, type Server } from "node:http";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { errorMessage } from "../util/error-message.js";

export interface LocalHttpOptions {
  /** The API handler, which serves the status page and the JSON API (as API Gateway would invoke it). */
  api: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
  /** Functions served through Lambda's Invoke API (POST /2015-03-31/functions/{name}/invocations). */
  lambdas?: Record<string, (event: unknown) => Promise<unknown>>;
}

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** Turn a local HTTP request into the API Gateway v2 event the API function receives. */
export function toApiEvent(method: string, url: URL, text: string): APIGatewayProxyEventV2 {
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ""),
    headers: {},
    queryStringParameters: Object.fromEntries(url.searchParams),
    requestContext: { http: { method, path: url.pathname } } as APIGatewayProxyEventV2["requestContext"],
    body: text || undefined,
    isBase64Encoded: false,
  };
}

const LOOPBACK_HOST = /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/;

/**
 * Why a request is refused, if it is: this server acts with the user's own
 * credentials, so it answers only requests addressed to loopback (a page
 * that rebinds its DNS name to 127.0.0.1 gets nothing), and a browser's
 * cross-origin write (which a page can send blind) never reaches the API.
 */
export function refusal(req: Pick<IncomingMessage, "headers" | "method">): string | undefined {
  const host = req.headers.host ?? "";
  if (!LOOPBACK_HOST.test(host))
    return `this server answers only requests to 127.0.0.1 or localhost, not ${JSON.stringify(host)}`;
  const origin = req.headers.origin;
  if (req.method !== "GET" && req.method !== "HEAD" && origin !== undefined && origin !== `http://${host}`)
    return `a ${req.method} from ${JSON.stringify(origin)} is refused: only this server's own pages may write`;
  return undefined;
}

/**
 * Serve the API handler (the status page and the JSON API) on localhost,
 * reading with the user's own AWS credentials: the deployed API is
 * IAM-authenticated, so a browser cannot call it directly. Lambda's Invoke
 * API is answered too when functions are given (the local runtime).
 */
export function startLocalHttp(options: LocalHttpOptions, port: number, host = "127.0.0.1"): Promise<Server> {
  const server = createServer((req, res) => {
    const refused = refusal(req);
    if (refused) {
      res.writeHead(403, { "content-type": "application/json" }).end(JSON.stringify({ error: refused }));
      return;
    }
    const url = new URL(req.url ?? "/", `http://${host}`);
    const reply = async () => {
      const invoke = INVOKE_PATH.exec(url.pathname);
      if (invoke?.[1] && req.method === "POST") {
        const fn = options.lambdas?.[decodeURIComponent(invoke[1])];
        if (!fn) {
          res.writeHead(404, { "content-type": "application/json", "x-amzn-errortype": "ResourceNotFoundException" });
          res.end(JSON.stringify({ message: `Function not found: ${invoke[1]}` }));
          return;
        }
        const text = await body(req);
        try {
          const result = await fn(text ? JSON.parse(text) : {});
          res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(result ?? null));
        } catch (error: unknown) {
          // As Lambda reports an unhandled function error: 200, with the error in the payload.
          res.writeHead(200, { "content-type": "application/json", "x-amz-function-error": "Unhandled" });
          res.end(
            JSON.stringify({
              errorType: error instanceof Error ? error.name : "Error",
              errorMessage: errorMessage(error),
            }),
          );
        }
        return;
      }
      const result = await options.api(toApiEvent(req.method ?? "GET", url, await body(req)));
      res.writeHead(result.statusCode ?? 200, result.headers as Record<string, string>);
      res.end(result.body ?? "");
    };
    reply().catch((error: unknown) => {
      res.writeHead(500, { "content-type": "text/plain" }).end(errorMessage(error));
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(server));
  });
}
