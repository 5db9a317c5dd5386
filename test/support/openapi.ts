import { Ajv2020 } from "ajv/dist/2020.js";
import formats from "ajv-formats";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { openApiDocument } from "../../src/api/openapi.js";

type Handler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
type Parameter = { name: string; in: string; schema?: object };
type Operation = { parameters?: Parameter[]; responses: Record<string, unknown> };

export interface Answer {
  status: number;
  contentType: string;
  /** Parsed JSON, or the page's text. */
  body: unknown;
  /** The JSON body, typed loosely for assertions. */
  json: Record<string, unknown> & { error?: string };
  text: string;
}

const DOC_ID = "openapi.json";
const pointer = (...parts: string[]) => parts.map((p) => p.replaceAll("~", "~0").replaceAll("/", "~1")).join("/");
const templateRegex = (path: string) => new RegExp(`^${path.replaceAll(".", "\\.").replace(/\{[a-z]+\}/g, "[^/]+")}$`);

export function apiEvent(method: string, path: string, query: Record<string, string> = {}): APIGatewayProxyEventV2 {
  return {
    rawPath: path,
    queryStringParameters: query,
    requestContext: { http: { method } },
  } as unknown as APIGatewayProxyEventV2;
}

/**
 * Calls the API as a client that trusts only the OpenAPI document: an answer
 * whose status, content type or body the document does not describe fails.
 * It notes which documented answers and parameters were exercised.
 */
export class DocumentedApi {
  readonly answered = new Set<string>();
  readonly parametersUsed = new Set<string>();
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly paths = openApiDocument.paths as Record<string, Record<string, Operation>>;

  constructor(private readonly handler: Handler) {
    // ajv-formats is CommonJS: its default export arrives as the module object under NodeNext.
    formats.default(this.ajv);
    this.ajv.addSchema(openApiDocument, DOC_ID);
  }

  /** Every documented answer, as "GET /builds 200". */
  documentedAnswers(): string[] {
    return Object.entries(this.paths).flatMap(([path, operations]) =>
      Object.entries(operations).flatMap(([method, op]) =>
        // "default" documents the unexpected (a 500): no test provokes it on purpose.
        Object.keys(op.responses)
          .filter((status) => status !== "default")
          .map((status) => `${method.toUpperCase()} ${path} ${status}`),
      ),
    );
  }

  /** Every documented parameter, as "GET /builds repository". */
  documentedParameters(): string[] {
    return Object.entries(this.paths).flatMap(([path, operations]) =>
      Object.entries(operations).flatMap(([method, op]) =>
        (op.parameters ?? []).map((p) => `${method.toUpperCase()} ${path} ${p.name}`),
      ),
    );
  }

  async call(method: string, path: string, query: Record<string, string> = {}): Promise<Answer> {
    const result = await this.handler(apiEvent(method, path, query));
    const status = result.statusCode ?? 200;
    const contentType = String(result.headers?.["content-type"] ?? "").split(";")[0] ?? "";
    const text = String(result.body ?? "");
    const body: unknown = contentType === "application/json" ? JSON.parse(text) : text;
    this.check(method, path, query, status, contentType, body);
    const json = typeof body === "object" && body !== null ? (body as Answer["json"]) : {};
    return { status, contentType, body, json, text };
  }

  private check(
    method: string,
    path: string,
    query: Record<string, string>,
    status: number,
    type: string,
    body: unknown,
  ) {
    const template = Object.keys(this.paths).find((t) => templateRegex(t).test(path));
    if (!template) {
      // A path the API does not have: the router's 404, the one answer outside the paths, still an Error.
      if (status !== 404 || type !== "application/json")
        throw new Error(`${method} ${path}: ${status} for an undocumented path`);
      this.validate(`${DOC_ID}#/components/schemas/Error`, body, `${method} ${path} ${status}`);
      return;
    }
    const operations = this.paths[template] ?? {};
    const verb = operations[method.toLowerCase()] ? method.toLowerCase() : (Object.keys(operations)[0] ?? "");
    const operation = operations[verb];
    const key = `${verb.toUpperCase()} ${template}`;
    const documented = operation?.responses[String(status)] ? String(status) : "default";
    const response = operation?.responses[documented] as { content?: Record<string, unknown> } | undefined;
    if (!response || (documented === "default" && status < 500))
      throw new Error(`${method} ${path} answered ${status}, which ${key} does not document`);
    if (!response.content?.[type])
      throw new Error(`${method} ${path} answered ${status} as ${type}, not as documented`);
    const at = pointer("paths", template, verb, "responses", documented, "content", type, "schema");
    this.validate(`${DOC_ID}#/${at}`, body, `${method} ${path} ${status}`);
    this.answered.add(`${key} ${documented}`);
    if (status >= 300) return;
    // A success counts a parameter as exercised, and the document must have allowed the values sent.
    for (const [name, value] of Object.entries(query)) {
      const index = (operation?.parameters ?? []).findIndex((p) => p.in === "query" && p.name === name);
      if (index < 0) throw new Error(`${method} ${path} accepted ${name}, which ${key} does not document`);
      const schemaAt = pointer("paths", template, verb, "parameters", String(index), "schema");
      this.validate(`${DOC_ID}#/${schemaAt}`, value, `${method} ${path} parameter ${name}=${JSON.stringify(value)}`);
      this.parametersUsed.add(`${key} ${name}`);
    }
    for (const p of operation?.parameters ?? []) if (p.in === "path") this.parametersUsed.add(`${key} ${p.name}`);
  }

  private validate(ref: string, value: unknown, what: string) {
    const validate = this.ajv.getSchema(ref);
    if (!validate) throw new Error(`no schema at ${ref}`);
    if (!validate(value))
      throw new Error(`${what}: does not match the document: ${this.ajv.errorsText(validate.errors)}`);
  }
}
