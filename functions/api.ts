/** Lambda entry for the HTTP API (IAM-authenticated). Composition root: src/roots/api.ts. */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { loadConfig } from "../src/config.js";
import { apiRoot } from "../src/roots/api.js";

const handle = apiRoot(loadConfig());

export const handler = (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => handle(event);
