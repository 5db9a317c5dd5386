import { createServer, type IncomingMessage, type Server } from "node:http";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import type { BuildLedger, BuildQueries } from "../store/ports.js";
import { errorMessage } from "../util/error-message.js";
import { renderDashboard } from "./render.js";

export interface LocalHttpOptions {
  store: BuildLedger & BuildQueries;
  /** The API handler, served under /builds (as API Gateway would invoke it). */
  api?: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
  title?: string;
  recent?: number;
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

/**
 * Serve the status page at / (and the API at /builds when given) on
 * localhost, reading with the user's own AWS credentials: the deployed API
 * is IAM-authenticated, so a browser cannot call it directly.
 */
export function startLocalHttp(options: LocalHttpOptions, port: number, host = "127.0.0.1"): Promise<Server> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", `http://${host}`);
    const reply = async () => {
      if (url.pathname === "/" || url.pathname === "/index.html") {
        const page = await options.store.query({ limit: options.recent ?? 100 });
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        res.end(renderDashboard(page.records, new Date(), { title: options.title }));
        return;
      }
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
      if (options.api && url.pathname.startsWith("/builds")) {
        const result = await options.api(toApiEvent(req.method ?? "GET", url, await body(req)));
        res.writeHead(result.statusCode ?? 200, result.headers as Record<string, string>);
        res.end(result.body ?? "");
        return;
      }
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
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
