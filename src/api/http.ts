import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";

export type ApiResult = APIGatewayProxyStructuredResultV2;

export const json = (statusCode: number, body: unknown): ApiResult => ({
  statusCode,
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

export const html = (statusCode: number, body: string): ApiResult => ({
  statusCode,
  headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store", "x-frame-options": "DENY" },
  body,
});

/** An answer naming what is wrong, as every 4xx/5xx of the API gives it. */
export const problem = (statusCode: number, error: string, extra: Record<string, unknown> = {}): ApiResult =>
  json(statusCode, { error, ...extra });

/** The method and path of a request, the path without trailing slashes. */
export function requestLine(event: APIGatewayProxyEventV2): { method: string; path: string } {
  const method = event.requestContext?.http?.method ?? "GET";
  const path = (event.rawPath ?? "/").replace(/\/+$/, "") || "/";
  return { method, path };
}

/** Who made the request: with IAM authorization, API Gateway passes the caller's ARN. */
export function callerOf(event: APIGatewayProxyEventV2): string | undefined {
  const context = event.requestContext as { authorizer?: { iam?: { userArn?: string } } } | undefined;
  return context?.authorizer?.iam?.userArn;
}
