import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { type ApiResult, callerOf, problem, requestLine } from "./http.js";

export type Method = "GET" | "POST";

export interface ApiRequest {
  /** Path parameters by name ({id} → params.id), already checked. */
  params: Record<string, string>;
  query: Record<string, string | undefined>;
  caller?: string;
}

/** One operation: a method on a path template as the OpenAPI document writes it (/builds/{id}/log). */
export interface Route {
  method: Method;
  path: string;
  /** The query parameters it takes; any other is a 400 (a typo would otherwise be ignored). */
  query: readonly string[];
  handle(request: ApiRequest): Promise<ApiResult>;
  /** How it answers a request it refuses (a page answers in HTML); JSON by default. */
  refuse?: (status: number, message: string) => ApiResult;
}

/** Build ids are derived from the upload: 16 lowercase hex digits (src/build/identity.ts). */
export const BUILD_ID = /^[0-9a-f]{16}$/;

/** What a route's failure becomes, in the route's own format (a page answers in HTML). */
export type OnError = (error: unknown, refuse: (status: number, message: string) => ApiResult) => ApiResult;

/** Checks of path parameters: a bad one is a 400 naming it. */
const PARAMETER_CHECKS: Record<string, { pattern: RegExp; says: string }> = {
  id: { pattern: BUILD_ID, says: "is not a build id (16 lowercase hex digits)" },
};

/** The path's regex: its text literal (a "." is a dot), each {name} one segment. */
export const templateRegex = (path: string) =>
  new RegExp(
    `^${path
      .replace(/[.*+?^$()|[\]\\]/g, "\\$&")
      .replace(/\{([a-z]+)\}/g, (_m, name: string) => `(?<${name}>[^/]+)`)}$`,
  );

function unknownParameter(route: Route, query: Record<string, string | undefined>): string | undefined {
  const unknown = Object.keys(query).find((name) => !route.query.includes(name));
  if (unknown === undefined) return undefined;
  const takes = route.query.length ? `takes ${route.query.join(", ")}` : "takes no parameters";
  return `unknown parameter ${JSON.stringify(unknown.slice(0, 80))}; ${route.path} ${takes}`;
}

function badParameter(params: Record<string, string>): string | undefined {
  for (const [name, value] of Object.entries(params)) {
    const check = PARAMETER_CHECKS[name];
    if (check && !check.pattern.test(value)) return `${name} ${JSON.stringify(value.slice(0, 80))} ${check.says}`;
  }
  return undefined;
}

/**
 * Find the route for a request and run it: 404 for no path, 405 for a path
 * without that method, 400 for a bad path or query parameter, each with a
 * message naming what is wrong; what the route throws goes to `onError`.
 */
export function createRouter(routes: Route[], onError: OnError) {
  const compiled = routes.map((route) => ({ route, regex: templateRegex(route.path) }));
  return async (event: APIGatewayProxyEventV2): Promise<ApiResult> => {
    const { method, path } = requestLine(event);
    const matches = compiled
      .map(({ route, regex }) => ({ route, match: regex.exec(path) }))
      .filter((m) => m.match !== null);
    if (matches.length === 0) return problem(404, `no route for ${method} ${path}`);
    const found = matches.find((m) => m.route.method === method);
    if (!found) {
      const allowed = matches.map((m) => m.route.method).join(", ");
      const refuse = matches[0]?.route.refuse ?? problem;
      return refuse(405, `${method} is not allowed on ${path}; use ${allowed}`);
    }
    const refuse = found.route.refuse ?? problem;
    const params = { ...found.match?.groups };
    const bad = badParameter(params);
    if (bad) return refuse(400, bad);
    const query = event.queryStringParameters ?? {};
    const unknown = unknownParameter(found.route, query);
    if (unknown) return refuse(400, unknown);
    try {
      return await found.route.handle({ params, query, caller: callerOf(event) });
    } catch (error: unknown) {
      return onError(error, refuse);
    }
  };
}
