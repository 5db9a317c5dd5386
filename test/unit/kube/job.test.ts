import { describe, expect, it } from "vitest";
import { type JobSettings, labelValue, renderJob, renderWarmJob } from "../../../src/kube/job.js";

const settings: JobSettings = {
  namespace: "dropbuild",
  deployment: "dropbuild-prod-builds",
  images: {
    kaniko: "ghcr.io/osscontainertools/kaniko:v1.27.6",
    staging: "public.ecr.aws/aws-cli/aws-cli:2.36.15",
    unpack: "public.ecr.aws/docker/library/busybox:1.37",
  },
  builderServiceAccount: "dropbuild-builder",
  workspaceClaim: "dropbuild-workspace",
  backoffLimit: 3,
  deadlineSeconds: 3600,
  ttlSecondsAfterFinished: 86400,
  resources: { requests: { cpu: "1", memory: "2Gi" }, limits: { cpu: "2", memory: "4Gi" } },
  region: "eu-west-1",
};
const request = {
  buildId: "0123456789abcdef",
  jobName: "dropbuild-0123456789abcdef",
  source: {
    bucket: "ctx-bucket",
    key: "contexts/team/api/v2.tar.gz",
    versionId: "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY",
    etag: '"9b2cf535f27731c974343645a3985328"',
  },
  spec: {
    repository: "team/api",
    tag: "v2",
    tags: ["v2", "latest"],
    destinations: ["reg.example.com/team/api:v2", "reg.example.com/team/api:latest"],
    dockerfile: "build/Dockerfile",
    buildArgs: { VERSION: "2.0" },
    target: "runtime",
  },
};

describe("renderJob", () => {
  const job = renderJob(request, settings);
  const pod = job.spec?.template.spec;
  const kaniko = pod?.containers[0];

  it("matches the reviewed Job", () => {
    expect(job).toMatchSnapshot();
  });

  it("names the Job after the build and labels it with the build id and repository", () => {
    expect(job.metadata?.name).toBe("dropbuild-0123456789abcdef");
    expect(job.metadata?.labels).toMatchObject({
      "dropbuild.dev/build-id": "0123456789abcdef",
      "dropbuild.dev/repository": "team.api",
    });
    expect(job.spec?.template.metadata?.labels?.["dropbuild.dev/build-id"]).toBe("0123456789abcdef");
  });

  it("annotates the source object and holds the record finalizer", () => {
    expect(job.metadata?.annotations).toMatchObject({
      "dropbuild.dev/source-bucket": "ctx-bucket",
      "dropbuild.dev/source-key": "contexts/team/api/v2.tar.gz",
      "dropbuild.dev/source-version": "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY",
      "dropbuild.dev/source-etag": "9b2cf535f27731c974343645a3985328",
    });
    expect(job.metadata?.finalizers).toEqual(["dropbuild.dev/record"]);
  });

  it("sets retries, deadline and TTL from configuration", () => {
    expect(job.spec).toMatchObject({
      backoffLimit: 3,
      activeDeadlineSeconds: 3600,
      ttlSecondsAfterFinished: 86400,
      suspend: false,
    });
  });

  it("stages the exact object version onto the shared workspace, and kaniko unpacks it from there", () => {
    expect(pod?.initContainers?.map((c) => c.name)).toEqual(["fetch-context"]);
    expect(pod?.initContainers?.[0]?.args?.[0]).toContain(
      "aws s3api get-object --bucket 'ctx-bucket' --key 'contexts/team/api/v2.tar.gz' --version-id '3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY' /workspace/builds/0123456789abcdef/context.tar.gz",
    );
    expect(pod?.volumes?.[0]?.persistentVolumeClaim?.claimName).toBe("dropbuild-workspace");
  });

  it("gives kaniko the context, Dockerfile, every destination, build args, target and the digest file", () => {
    expect(kaniko?.args).toEqual([
      "--context=tar:///workspace/builds/0123456789abcdef/context.tar.gz",
      "--dockerfile=/kaniko/buildcontext/build/Dockerfile",
      "--destination=reg.example.com/team/api:v2",
      "--destination=reg.example.com/team/api:latest",
      "--digest-file=/dev/termination-log",
      "--log-format=text",
      "--build-arg=VERSION=2.0",
      "--target=runtime",
    ]);
    expect(kaniko?.image).toBe("ghcr.io/osscontainertools/kaniko:v1.27.6");
    expect(kaniko?.resources).toEqual(settings.resources);
  });

  it("unpacks a plain .tar with busybox on the workspace first, since kaniko's tar:// reads gzip only", () => {
    for (const key of ["contexts/team/api/v2.tgz", "contexts/team/api/v2.tar"]) {
      const plain = key.endsWith(".tar");
      const spec = renderJob({ ...request, source: { ...request.source, key } }, settings).spec?.template.spec;
      expect(spec?.initContainers?.map((c) => c.name)).toEqual(
        plain ? ["fetch-context", "unpack-context"] : ["fetch-context"],
      );
      const context = "/workspace/builds/0123456789abcdef/context";
      if (plain) {
        expect(spec?.initContainers?.[1]?.image).toBe("public.ecr.aws/docker/library/busybox:1.37");
        expect(spec?.initContainers?.[1]?.args?.[0]).toContain(`tar -xf ${context}.tar -C ${context};`);
      }
      expect(spec?.containers[0]?.args?.slice(0, 2)).toEqual(
        plain
          ? [`--context=dir://${context}`, `--dockerfile=${context}/build/Dockerfile`]
          : [`--context=tar://${context}.tar.gz`, "--dockerfile=/kaniko/buildcontext/build/Dockerfile"],
      );
    }
  });

  it("runs nothing privileged, as the builder service account, with no API token", () => {
    const containers = [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])];
    for (const container of containers) expect(container.securityContext?.privileged).toBeUndefined();
    expect(pod?.serviceAccountName).toBe("dropbuild-builder");
    expect(pod?.automountServiceAccountToken).toBe(false);
    expect(pod?.restartPolicy).toBe("Never");
  });

  it("mounts the registry config.json Secret for kaniko when one is configured", () => {
    const withSecret = renderJob(request, {
      ...settings,
      registrySecret: "dropbuild-registry",
      cacheRepo: "reg.example.com/cache",
    });
    const spec = withSecret.spec?.template.spec;
    expect(spec?.volumes).toContainEqual({
      name: "registry-auth",
      secret: { secretName: "dropbuild-registry", items: [{ key: ".dockerconfigjson", path: "config.json" }] },
    });
    expect(spec?.containers[0]?.volumeMounts).toContainEqual({
      name: "registry-auth",
      mountPath: "/kaniko/.docker",
      readOnly: true,
    });
    expect(spec?.containers[0]?.args).toEqual(
      expect.arrayContaining(["--cache=true", "--cache-repo=reg.example.com/cache"]),
    );
  });

  it("pulls Docker Hub bases through the mirror and trusts the configured CA for the registry and the mirror", () => {
    const withCa = renderJob(request, {
      ...settings,
      registry: "10.0.0.1:5000",
      registryMirror: "mirror.example.com/hub",
      registryCaConfigMap: "dropbuild-registry-ca",
    });
    const spec = withCa.spec?.template.spec;
    expect(spec?.containers[0]?.args).toEqual(
      expect.arrayContaining([
        "--registry-mirror=mirror.example.com/hub",
        "--registry-certificate=10.0.0.1:5000=/kaniko/registry-ca/ca.crt",
        "--registry-certificate=mirror.example.com=/kaniko/registry-ca/ca.crt",
      ]),
    );
    expect(spec?.volumes).toContainEqual({
      name: "registry-ca",
      configMap: { name: "dropbuild-registry-ca", items: [{ key: "ca.crt", path: "ca.crt" }] },
    });
    expect(spec?.containers[0]?.volumeMounts).toContainEqual({
      name: "registry-ca",
      mountPath: "/kaniko/registry-ca",
      readOnly: true,
    });
  });

  it("passes an emulator's endpoint to the fetch step explicitly, for aws CLIs that ignore AWS_ENDPOINT_URL", () => {
    const local = renderJob(request, { ...settings, awsEndpoint: "http://10.213.0.1:4566" });
    const fetch = local.spec?.template.spec?.initContainers?.[0];
    expect(fetch?.args?.[0]).toContain("aws --endpoint-url 'http://10.213.0.1:4566' s3api get-object");
    expect(fetch?.env).toContainEqual({ name: "AWS_ENDPOINT_URL", value: "http://10.213.0.1:4566" });
    expect(pod?.initContainers?.[0]?.args?.[0]).toContain("aws s3api get-object");
  });

  it("places simulated builds on kwok's tainted nodes only, and real builds anywhere else", () => {
    const simulated = renderJob(request, { ...settings, simulatedBuilds: true }).spec?.template.spec;
    expect(simulated?.nodeSelector).toEqual({ type: "kwok" });
    expect(simulated?.tolerations).toEqual([
      { key: "kwok.x-k8s.io/node", operator: "Equal", value: "fake", effect: "NoSchedule" },
    ]);
    expect(pod?.nodeSelector).toBeUndefined();
    expect(pod?.tolerations).toBeUndefined();
  });

  it("quotes shell arguments so a key cannot inject commands", () => {
    const hostile = renderJob({ ...request, source: { bucket: "b", key: "contexts/a/x'; rm -rf /; '.tar" } }, settings);
    expect(hostile.spec?.template.spec?.initContainers?.[0]?.args?.[0]).toContain(
      `--key 'contexts/a/x'\\''; rm -rf /; '\\''.tar'`,
    );
  });
});

describe("the pinned Dockerfile", () => {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a Dockerfile variable, as a Dockerfile writes it
  const pinned = "FROM busybox:1.35@sha256:abc\nRUN echo $(AWS_REGION) $$ ${HOME}\n";

  it("travels to the fetch step with every $ doubled, which Kubernetes turns back into the text as recorded", () => {
    const job = renderJob({ ...request, spec: { ...request.spec, pinnedDockerfile: pinned } }, settings);
    const fetch = job.spec?.template.spec?.initContainers?.[0];
    const value = fetch?.env?.find((e) => e.name === "DROPBUILD_PINNED_DOCKERFILE")?.value ?? "";
    expect(value).toBe("FROM busybox:1.35@sha256:abc\nRUN echo $$(AWS_REGION) $$$$ $${HOME}\n");
    // Kubernetes' expansion: $$ → $, and $(NAME) of a defined variable → its value (none is left unescaped).
    expect(value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m) => (m === "$$" ? "$" : "EXPANDED"))).toBe(pinned);
    expect(fetch?.args?.[0]).toContain(`printf '%s' "$DROPBUILD_PINNED_DOCKERFILE" > /workspace/builds/`);
    const kaniko = job.spec?.template.spec?.containers[0];
    expect(kaniko?.args).toContain(`--dockerfile=/workspace/builds/${request.buildId}/Dockerfile.pinned`);
  });

  it("is absent without pins: kaniko reads the context's own Dockerfile", () => {
    const job = renderJob(request, settings);
    expect(job.spec?.template.spec?.initContainers?.[0]?.env?.map((e) => e.name)).not.toContain(
      "DROPBUILD_PINNED_DOCKERFILE",
    );
  });
});

describe("the shared base-image cache", () => {
  const cached = { ...settings, baseImageCache: "cache/base-images" };

  it("has kaniko read base images from the workspace, with layer caching left off", () => {
    const args = renderJob(request, cached).spec?.template.spec?.containers[0]?.args ?? [];
    expect(args).toEqual(
      expect.arrayContaining([
        "--cache=true",
        "--cache-run-layers=false",
        "--cache-copy-layers=false",
        "--cache-dir=/workspace/cache/base-images",
      ]),
    );
    expect(renderJob(request, settings).spec?.template.spec?.containers[0]?.args).not.toContain("--cache=true");
  });

  it("keeps layer caching with KANIKO_CACHE_REPO", () => {
    const args = renderJob(request, { ...cached, cacheRepo: "r/cache" }).spec?.template.spec?.containers[0]?.args ?? [];
    expect(args).toEqual(expect.arrayContaining(["--cache-repo=r/cache", "--cache-dir=/workspace/cache/base-images"]));
    expect(args).not.toContain("--cache-run-layers=false");
  });

  it("warms pinned images with kaniko's warmer in a Job named by the images, which the build selector never matches", () => {
    const images = [`docker.io/library/b:1@sha256:${"b".repeat(64)}`, `docker.io/library/a:1@sha256:${"a".repeat(64)}`];
    const job = renderWarmJob(images, cached);
    expect(job?.metadata?.name).toBe(renderWarmJob([...images].reverse(), cached)?.metadata?.name);
    expect(job?.metadata?.name).toMatch(/^dropbuild-warm-[0-9a-f]{16}$/);
    expect(job?.metadata?.labels?.["app.kubernetes.io/managed-by"]).toBe("dropbuild-warmer");
    const container = job?.spec?.template.spec?.containers[0];
    expect(container?.command).toEqual(["/kaniko/warmer"]);
    expect(container?.args?.slice(0, 3)).toEqual([
      "--cache-dir=/workspace/cache/base-images",
      `--image=${images[1]}`,
      `--image=${images[0]}`,
    ]);
    expect(renderWarmJob(images, settings)).toBeUndefined();
    expect(renderWarmJob([], cached)).toBeUndefined();
  });
});

describe("labelValue", () => {
  it.each([
    ["team/api", "team.api"],
    ["a".repeat(80), "a".repeat(63)],
    ["-x-", "x"],
  ])("turns %s into the label value %s", (input, output) => {
    expect(labelValue(input)).toBe(output);
  });
});
