import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          // Not 0: vitest 5 runs files of groupOrder 0 with one worker (a 2-core machine) after every other group.
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          // The bed (moto + a real control plane) starts once per run and stops after.
          globalSetup: ["test/support/global-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          // After everything else: takes the run's bed down and checks what it leaves on the host.
          name: "lifecycle",
          // No global setup of its own: it reads the integration bed's directory from DROPBUILD_TEST_BED_DIR.
          include: ["test/lifecycle/**/*.test.ts"],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          sequence: { groupOrder: 2 },
        },
      },
    ],
    typecheck: { enabled: false },
    env: { POWERTOOLS_LOG_LEVEL: "WARN" },
  },
});
