import { readFileSync } from "node:fs";
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage, type Server } from "node:http";
import { createServer as createHttpsServer, request as httpsRequest } from "node:https";
import type { AddressInfo, Socket } from "node:net";

/**
 * What the proxy does with one request: pass it on (after `delayMs`), answer
 * it itself with a status and body (an injected error), or drop the
 * connection (a server that went away mid-request).
 */
export type FaultAction = { pass: true; delayMs?: number } | { status: number; body: string } | { drop: true };

/** Decides per request; `undefined` passes it on untouched. */
export type FaultRule = (request: IncomingMessage) => FaultAction | undefined;

export interface FaultProxy {
  /** Where clients connect instead of the real server. */
  url: string;
  /** Replace the current rule (`undefined`: pass everything). */
  setRule(rule: FaultRule | undefined): void;
  /** Refuse every connection (and cut the open ones), as a stopped server would; `false` brings it back. */
  setDown(down: boolean): void;
  /** Requests seen, and what happened to each. */
  log: { method: string; path: string; outcome: "passed" | "answered" | "dropped" | "refused" }[];
  close(): Promise<void>;
}

export interface FaultProxyOptions {
  /** The real server, e.g. the bed's kube-apiserver or moto. */
  upstream: string;
  /** CA the upstream's certificate is signed by (https upstreams). */
  upstreamCa?: string;
  /** Serve TLS with this certificate and key (the upstream's own, so clients trust the proxy as they trust it). */
  tls?: { certFile: string; keyFile: string };
}

/**
 * A fault-injecting reverse proxy in front of a real server. Every request
 * the rule lets through is answered by the real server (the bed's API
 * server, the emulator); only the faults are the proxy's own. Tests point
 * the code under test at `url` and turn faults on and off while it runs.
 */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const upstream = new URL(options.upstream);
  const secureUpstream = upstream.protocol === "https:";
  const ca = options.upstreamCa ? readFileSync(options.upstreamCa) : undefined;
  let rule: FaultRule | undefined;
  let down = false;
  const sockets = new Set<Socket>();
  const log: FaultProxy["log"] = [];

  const forward = (req: IncomingMessage, res: import("node:http").ServerResponse) => {
    const send = secureUpstream ? httpsRequest : httpRequest;
    const outgoing = send(
      {
        protocol: upstream.protocol,
        hostname: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
        ca,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    outgoing.on("error", () => res.destroy());
    req.pipe(outgoing);
  };

  const handler = (req: IncomingMessage, res: import("node:http").ServerResponse) => {
    const entry = { method: req.method ?? "", path: req.url ?? "" };
    if (down) {
      log.push({ ...entry, outcome: "refused" });
      req.socket.destroy();
      return;
    }
    const action = rule?.(req) ?? { pass: true };
    if ("drop" in action) {
      log.push({ ...entry, outcome: "dropped" });
      req.socket.destroy();
      return;
    }
    if ("status" in action) {
      log.push({ ...entry, outcome: "answered" });
      // Drain the request first, as a server does, so the connection stays usable.
      req.resume();
      req.on("end", () => {
        res.writeHead(action.status, { "content-type": "application/json" });
        res.end(action.body);
      });
      return;
    }
    log.push({ ...entry, outcome: "passed" });
    if (action.delayMs) setTimeout(() => forward(req, res), action.delayMs);
    else forward(req, res);
  };

  const server: Server = options.tls
    ? createHttpsServer({ cert: readFileSync(options.tls.certFile), key: readFileSync(options.tls.keyFile) }, handler)
    : createHttpServer(handler);
  // A down server accepts nothing: cut each connection as it arrives (and at TLS level before any request).
  server.on(options.tls ? "secureConnection" : "connection", (socket: Socket) => {
    if (down) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `${options.tls ? "https" : "http"}://127.0.0.1:${port}`,
    log,
    setRule(next) {
      rule = next;
    },
    setDown(value) {
      down = value;
      if (value) for (const socket of sockets) socket.destroy();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
