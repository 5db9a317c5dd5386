import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { repoRoot } from "../../../bed/paths.js";
import { LAMBDA_RUNTIME } from "../../../scripts/bundle.js";
import { openApiDocument } from "../../../src/api/openapi.js";
import { loadConfig } from "../../../src/config.js";
import { buildsTableDefinition } from "../../../src/store/table.js";
import { type PackagedService, packageServerless, type Template } from "../../support/serverless-package.js";

/** `osls package`, offline, then assertions on the CloudFormation it generates. */
describe("serverless.yml, packaged with osls", () => {
  let packaged: PackagedService;
  let template: Template;
  const ofType = (type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type);

  beforeAll(async () => {
    packaged = await packageServerless();
    template = packaged.template;
  }, 120_000);
  afterAll(() => packaged?.remove());

  it("invokes the trigger for ObjectCreated under contexts/ with each context suffix", () => {
    const bucket = template.Resources.ContextsBucket?.Properties as {
      NotificationConfiguration: {
        LambdaConfigurations: {
          Event: string;
          Function: unknown;
          Filter: { S3Key: { Rules: { Name: string; Value: string }[] } };
        }[];
      };
      VersioningConfiguration: { Status: string };
      PublicAccessBlockConfiguration: Record<string, boolean>;
      BucketEncryption: unknown;
      LifecycleConfiguration: { Rules: { Prefix?: string }[] };
    };
    const configs = bucket.NotificationConfiguration.LambdaConfigurations;
    expect(configs.map((c) => c.Filter.S3Key.Rules)).toEqual([
      [
        { Name: "prefix", Value: "contexts/" },
        { Name: "suffix", Value: ".tar.gz" },
      ],
      [
        { Name: "prefix", Value: "contexts/" },
        { Name: "suffix", Value: ".tgz" },
      ],
      [
        { Name: "prefix", Value: "contexts/" },
        { Name: "suffix", Value: ".tar" },
      ],
    ]);
    for (const config of configs) {
      expect(config.Event).toBe("s3:ObjectCreated:*");
      expect(config.Function).toEqual({ "Fn::GetAtt": ["TriggerLambdaFunction", "Arn"] });
    }
    expect(bucket.VersioningConfiguration.Status).toBe("Enabled");
    expect(Object.values(bucket.PublicAccessBlockConfiguration).every(Boolean)).toBe(true);
    expect(bucket.BucketEncryption).toBeDefined();
    expect(bucket.LifecycleConfiguration.Rules.map((r) => r.Prefix)).toContain("logs/");
    expect(template.Resources.TriggerInvokePermission?.Properties).toMatchObject({ Principal: "s3.amazonaws.com" });
  });

  it("schedules the reconciler every minute and the nightly rebuild by cron, plus the rebuild event rule", () => {
    const rules = ofType("AWS::Events::Rule").map(([, r]) => r.Properties);
    expect(
      rules
        .map((r) => r.ScheduleExpression)
        .filter(Boolean)
        .sort(),
    ).toEqual(["cron(0 3 * * ? *)", "rate(1 minute)"]);
    expect(rules.map((r) => r.EventPattern).filter(Boolean)).toContainEqual({ source: ["dropbuild.rebuild"] });
    expect(template.Resources.ReconcileLambdaFunction?.Properties.ReservedConcurrentExecutions).toBe(1);
  });

  it("gives the reconciler's watch window room: under the schedule's minute, and 20 s under the timeout", () => {
    const window = loadConfig({
      AWS_REGION: "us-east-1",
      BUILDS_TABLE: "t",
      CONTEXTS_BUCKET: "bucket",
      CLUSTER_NAME: "c",
      REGISTRY: "r.example:5000",
    }).reconcileWatchSeconds;
    expect(window).toBeLessThan(60);
    expect(template.Resources.ReconcileLambdaFunction?.Properties.Timeout).toBeGreaterThanOrEqual(window + 20);
  });

  it("scopes every IAM statement to resource ARNs, one role per function (but ECR's token, which has none)", () => {
    const roles = ofType("AWS::IAM::Role");
    expect(roles.map(([name]) => name).sort()).toEqual(["ApiRole", "NightlyRole", "ReconcileRole", "TriggerRole"]);
    for (const [name, role] of roles) {
      const policies = role.Properties.Policies as {
        PolicyDocument: { Statement: { Resource: unknown; Action: string[] }[] };
      }[];
      for (const statement of policies.flatMap((p) => p.PolicyDocument.Statement)) {
        const resources = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
        // ecr:GetAuthorizationToken takes no resource; the token reads only what RegistryRead allows.
        if (statement.Action.join() === "ecr:GetAuthorizationToken") {
          expect(resources, name).toEqual(["*"]);
          continue;
        }
        for (const resource of resources) {
          if (typeof resource === "string") {
            expect(resource, `${name} ${statement.Action}`).toMatch(/^arn:aws:[a-z0-9-]+:[a-z0-9-]*:(\d{12})?:[^*]/);
          } else {
            expect(JSON.stringify(resource), `${name} ${statement.Action}`).toMatch(/Fn::GetAtt|Fn::Join/);
          }
        }
        expect(
          statement.Action.some((a) => a.endsWith(":*") || a === "*"),
          `${name} ${statement.Action}`,
        ).toBe(false);
      }
    }
    for (const fn of ofType("AWS::Lambda::Function")) expect(fn[1].Properties.Role).toBeDefined();
  });

  it("creates the table with the keys, indexes and TTL the code uses", () => {
    const table = template.Resources.BuildsTable?.Properties as Record<string, unknown>;
    const expected = buildsTableDefinition("dropbuild-ci-builds");
    expect(table.TableName).toBe("dropbuild-ci-builds");
    expect(table.KeySchema).toEqual(expected.KeySchema);
    expect(table.AttributeDefinitions).toEqual(expected.AttributeDefinitions);
    expect(table.GlobalSecondaryIndexes).toEqual(expected.GlobalSecondaryIndexes);
    expect(table.BillingMode).toBe("PAY_PER_REQUEST");
    expect(table.TimeToLiveSpecification).toEqual({ AttributeName: "expiresAt", Enabled: true });
  });

  it("parks failed trigger invocations in the dead-letter queue after two retries", () => {
    const config = template.Resources.TriggerLambdaEvConf?.Properties as {
      MaximumRetryAttempts: number;
      DestinationConfig: { OnFailure: { Destination: unknown } };
    };
    expect(config.MaximumRetryAttempts).toBe(2);
    expect(config.DestinationConfig.OnFailure.Destination).toEqual({ "Fn::GetAtt": ["TriggerDeadLetterQueue", "Arn"] });
    const trigger = JSON.stringify(template.Resources.TriggerRole?.Properties);
    expect(trigger).toContain('"sqs:SendMessage"');
    // Encrypted at rest with SSE-SQS (checkov's CKV_AWS_27 is skipped on it for that reason).
    expect(template.Resources.TriggerDeadLetterQueue?.Properties.SqsManagedSseEnabled).toBe(true);
  });

  it("lets the trigger and nightly end a refused build and publish rejected and refused outcomes", () => {
    for (const role of ["TriggerRole", "NightlyRole"]) {
      const policy = JSON.stringify(template.Resources[role]?.Properties);
      for (const action of ["dynamodb:PutItem", "dynamodb:UpdateItem", "events:PutEvents"]) {
        expect(policy, `${role} allows ${action}`).toContain(`"${action}"`);
      }
    }
  });

  it("gives each function role an EKS access entry for the group infra/k8s binds", () => {
    const docs = parseAllDocuments(
      readFileSync(join(repoRoot, "infra", "k8s", "base", "functions-rbac.yaml"), "utf8"),
    ).map((d) => d.toJS() as { kind: string; subjects?: { name: string }[] });
    const group = docs.find((d) => d.kind === "RoleBinding")?.subjects?.[0]?.name;
    const entries = ofType("AWS::EKS::AccessEntry").map(([, e]) => e.Properties);
    expect(entries).toHaveLength(4);
    for (const entry of entries) {
      expect(entry.KubernetesGroups).toEqual([group]);
      expect(entry.Type).toBe("STANDARD");
      expect(JSON.stringify(entry.PrincipalArn)).toMatch(
        /^\{"Fn::GetAtt":\["(Trigger|Reconcile|Nightly|Api)Role","Arn"\]\}$/,
      );
    }
  });

  it("serves every operation of the OpenAPI document, and only those, with IAM authorization", () => {
    const routes = ofType("AWS::ApiGatewayV2::Route").map(([, r]) => r.Properties);
    const documented = Object.entries(openApiDocument.paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(routes.map((r) => r.RouteKey).sort()).toEqual(documented.sort());
    for (const route of routes) expect(route.AuthorizationType).toBe("AWS_IAM");
  });

  it("runs every function on Node.js 24 (the runtime its bundle is built for), arm64, from its own esbuild bundle", () => {
    expect(LAMBDA_RUNTIME).toBe("nodejs24.x");
    for (const [, fn] of ofType("AWS::Lambda::Function")) {
      expect(fn.Properties).toMatchObject({
        Runtime: LAMBDA_RUNTIME,
        Architectures: ["arm64"],
        Handler: "index.handler",
      });
    }
  });
});
