import type { Provenance } from "../build/provenance.js";
import type { BuildRecord } from "../build/record.js";
import type { ManifestDigests } from "../registry/client.js";
import { parseImageReference } from "../registry/reference.js";
import { errorMessage } from "../util/error-message.js";

/**
 * What a succeeded build pushed, as the registry serves it now: the digest
 * of each destination, asked of the registry itself, not taken from kaniko.
 * A destination the registry cannot be asked about (down, refused, the
 * login unreadable: any error) is listed without a digest and with the
 * reason, and never holds up the outcome.
 */
export async function outputDigests(
  record: Pick<BuildRecord, "destinations">,
  registry: ManifestDigests,
): Promise<NonNullable<Provenance["outputs"]>> {
  return Promise.all(
    record.destinations.map(async (destination) => {
      const ref = parseImageReference(destination);
      if (!ref.ok) return { destination, note: ref.reason };
      try {
        const digest = await registry.digestOf(ref.value);
        return digest ? { destination, digest } : { destination, note: "the registry has no such tag" };
      } catch (error: unknown) {
        // Whatever went wrong (registry down or refusing, the login unreadable), the outcome is recorded.
        return { destination, note: errorMessage(error) };
      }
    }),
  );
}
