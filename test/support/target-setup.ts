import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import type { BedInfo } from "../../bed/state.js";
import { SIMULATED_NODES } from "../../src/kube/job.js";
import { eventually } from "./bed.js";
import { ALL_CAPABILITIES, type Capability, type TargetSettings, targetInfo } from "./target.js";
import { createdSince, type Inventory, inventory, isEmpty, removeCreated } from "./target-cleanup.js";

export interface ExternalTarget {
  settings: TargetSettings;
  info: BedInfo;
  capabilities: Capability[];
  /** Delete what the run created on the external halves, then fail if anything of it is left. */
  removeWhatTheRunCreated(): Promise<void>;
}

/** The target the variables name, with the bed (`base`) serving the halves they leave out. */
export async function externalTarget(
  settings: TargetSettings,
  stateDir: string,
  base?: BedInfo,
): Promise<ExternalTarget> {
  const info = targetInfo(settings, stateDir, base);
  if (settings.kubeconfig) info.nodes = await simulatedNodes(settings.kubeconfig);
  const capabilities = probeCapabilities(settings, info);
  const halves = { aws: Boolean(settings.aws), kube: Boolean(settings.kubeconfig) };
  const before = await inventory(info, halves);
  return {
    settings,
    info,
    capabilities,
    async removeWhatTheRunCreated() {
      const created = createdSince(before, await inventory(info, halves));
      await removeCreated(info, created);
      const left = await eventually(
        "the run's resources to be gone from the target",
        async () => {
          const remaining = createdSince(before, await inventory(info, halves));
          return isEmpty(remaining) ? remaining : undefined;
          // A namespace goes once the namespace controller has deleted everything in it: hundreds of pods take minutes.
        },
        300_000,
      ).catch(async () => createdSince(before, await inventory(info, halves)));
      if (!isEmpty(left)) throw new Error(`the run left on the target: ${JSON.stringify(nonEmpty(left))}`);
      process.stderr.write(`removed from the target what the run created: ${JSON.stringify(nonEmpty(created))}\n`);
    },
  };
}

const nonEmpty = (found: Inventory) => Object.fromEntries(Object.entries(found).filter(([, names]) => names.length));

function probeCapabilities(settings: TargetSettings, info: BedInfo): Capability[] {
  const capabilities: Capability[] = [];
  if (!settings.kubeconfig) capabilities.push("bed-control-plane");
  if (info.node) capabilities.push("real-node");
  if (info.nodes.length) capabilities.push("simulated-nodes");
  return capabilities;
}

/** Nodes labelled and tainted as kwok's, which simulated builds select. */
async function simulatedNodes(kubeconfig: string): Promise<string[]> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const [key, value] = Object.entries(SIMULATED_NODES.selector)[0] ?? [];
  const nodes = await kc.makeApiClient(CoreV1Api).listNode({ labelSelector: `${key}=${value}` });
  const tainted = nodes.items.filter((node) => node.spec?.taints?.some((t) => t.key === SIMULATED_NODES.taint.key));
  return tainted.map((node) => node.metadata?.name ?? "");
}

/** One line for the run's output: where the tests run and what they skip. */
export function describeTarget(target: ExternalTarget): string {
  const aws = target.settings.aws ? (target.settings.aws.endpoint ?? "AWS") : "the bed's moto";
  const kube = target.settings.kubeconfig ?? "the bed's control plane";
  const lacking = ALL_CAPABILITIES.filter((c) => !target.capabilities.includes(c));
  return `tests run on AWS at ${aws} and Kubernetes from ${kube}; the target lacks ${lacking.join(", ") || "nothing"}: tests needing it are skipped`;
}
