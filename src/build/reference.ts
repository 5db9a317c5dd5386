import { accept, type Checked, refuse } from "./result.js";

/**
 * Image name rules from the OCI distribution spec: a repository is one or
 * more lowercase path components separated by `/`; a tag is up to 128
 * characters of `[A-Za-z0-9_.-]`, not starting with `.` or `-`.
 */
const PATH_COMPONENT = "[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*";
const REPOSITORY = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
/** Most registries (and docker) refuse a full reference longer than this. */
export const MAX_NAME_LENGTH = 255;

export function checkRepository(repository: string, registry: string): Checked<string> {
  if (repository.length === 0) return refuse("the repository name is empty");
  if (!REPOSITORY.test(repository)) {
    return refuse(
      `repository "${repository}" is not a valid image name: use lowercase letters, digits and separators (. _ __ -) in path components joined by "/"`,
    );
  }
  if (registry.length + 1 + repository.length > MAX_NAME_LENGTH) {
    return refuse(`repository "${repository}" makes the image name longer than ${MAX_NAME_LENGTH} characters`);
  }
  return accept(repository);
}

export function checkTag(tag: string): Checked<string> {
  if (!TAG.test(tag)) {
    return refuse(
      `tag "${tag}" is not a valid image tag: up to 128 letters, digits, "_", "." or "-", not starting with "." or "-"`,
    );
  }
  return accept(tag);
}
