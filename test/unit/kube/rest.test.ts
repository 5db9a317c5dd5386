import { describe, expect, it } from "vitest";
import { isPermanentStatus, KubeApiError } from "../../../src/kube/rest.js";

describe("what the Kubernetes API answers, and whether asking again can help", () => {
  it.each([400, 403, 404, 410, 422])("treats %i as permanent: the same request gets the same answer", (code) => {
    expect(isPermanentStatus(code)).toBe(true);
  });

  it.each([401, 408, 409, 429, 500, 502, 503, 504])("treats %i as worth retrying", (code) => {
    expect(isPermanentStatus(code)).toBe(false);
  });

  it("keeps the Status message and the verdict on the error", () => {
    const status = {
      kind: "Status",
      message: 'jobs.batch is forbidden: User "x" cannot create resource "jobs"',
      code: 403,
    };

    const error = new KubeApiError(403, JSON.stringify(status), "POST /apis/batch/v1/namespaces/default/jobs");

    expect(error).toMatchObject({ code: 403, permanent: true, apiMessage: status.message });
    expect(error.message).toBe(
      `POST /apis/batch/v1/namespaces/default/jobs: the Kubernetes API answered 403: ${status.message}`,
    );
  });

  it("keeps a body that is not a Status as the message", () => {
    expect(new KubeApiError(503, "upstream connect error", "GET /x")).toMatchObject({
      permanent: false,
      apiMessage: "upstream connect error",
    });
  });
});
