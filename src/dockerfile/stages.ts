import { DockerfileParser } from "dockerfile-ast";
import { accept, type Checked, refuse } from "../build/result.js";

/** Where a FROM's image is written in the Dockerfile, as character offsets [start, end). */
export interface TextSpan {
  start: number;
  end: number;
}

/** What one build stage starts from. */
export type StageBase =
  /** An image from a registry: `image` is the reference after build args, as the builder will pull it. */
  | { stage: number; name?: string; kind: "image"; written: string; image: string; span: TextSpan }
  /** An earlier stage of the same Dockerfile, by its name. */
  | { stage: number; name?: string; kind: "stage"; written: string }
  /** The empty image. */
  | { stage: number; name?: string; kind: "scratch"; written: string };

/** Each stage is resolved at the registry and recorded: a bound on both. */
export const MAX_STAGES = 50;

/**
 * The stages a build runs and what each starts from, read with dockerfile-ast
 * (the parser behind the VS Code Docker language service).
 *
 * A FROM may use the ARGs declared before the first FROM; a build arg
 * overrides an ARG's default, as in `docker build`, and a variable with
 * neither expands to nothing. With a target, the stages after it are not
 * built and not listed.
 */
export function stageBases(text: string, buildArgs: Record<string, string>, target?: string): Checked<StageBase[]> {
  const dockerfile = DockerfileParser.parse(text);
  const froms = dockerfile.getFROMs();
  if (froms.length === 0) return refuse("the Dockerfile has no FROM instruction");
  if (froms.length > MAX_STAGES)
    return refuse(`the Dockerfile has ${froms.length} stages, more than the limit of ${MAX_STAGES}`);
  const lines = lineStarts(text);
  const globals = globalArgs(dockerfile, buildArgs);
  if (!globals.ok) return globals;
  const names = new Set<string>();
  const stages: StageBase[] = [];
  for (const [stage, from] of froms.entries()) {
    const line = from.getRange().start.line + 1;
    const range = from.getImageRange();
    const written = from.getImage();
    if (!range || !written) return refuse(`the FROM on line ${line} of the Dockerfile names no image`);
    const name = from.getBuildStage() ?? undefined;
    const expanded = expand(written, globals.value);
    if (!expanded.ok) return refuse(`the FROM on line ${line} of the Dockerfile: ${expanded.reason}`);
    const image = expanded.value;
    if (image === "") return refuse(`the FROM on line ${line} of the Dockerfile names no image (${written} is empty)`);
    if (image.toLowerCase() === "scratch") stages.push({ stage, name, kind: "scratch", written });
    else if (names.has(image.toLowerCase())) stages.push({ stage, name, kind: "stage", written });
    else {
      const span = { start: offsetOf(lines, range.start), end: offsetOf(lines, range.end) };
      stages.push({ stage, name, kind: "image", written, image, span });
    }
    if (name) names.add(name.toLowerCase());
    if (target !== undefined && name?.toLowerCase() === target.toLowerCase()) return accept(stages);
  }
  if (target !== undefined)
    return refuse(`the target stage "${target}" is not named by any FROM … AS in the Dockerfile`);
  return accept(stages);
}

/** The Dockerfile with each listed span replaced, everything else byte for byte as written. */
export function rewriteSpans(text: string, replacements: { span: TextSpan; text: string }[]): string {
  let out = "";
  let at = 0;
  for (const { span, text: replacement } of [...replacements].sort((a, b) => a.span.start - b.span.start)) {
    out += text.slice(at, span.start) + replacement;
    at = span.end;
  }
  return out + text.slice(at);
}

/** The ARGs declared before the first FROM, with their values for this build (a build arg wins over a default). */
function globalArgs(
  dockerfile: ReturnType<typeof DockerfileParser.parse>,
  buildArgs: Record<string, string>,
): Checked<Map<string, string>> {
  const values = new Map<string, string>();
  for (const arg of dockerfile.getInitialARGs()) {
    for (const property of arg.getProperties()) {
      const name = property.getName();
      const given = Object.hasOwn(buildArgs, name) ? buildArgs[name] : undefined;
      if (given !== undefined) {
        values.set(name, given);
        continue;
      }
      const fallback = property.getValue();
      if (fallback === null) continue;
      // A default may use the ARGs declared before it.
      const expanded = expand(fallback, values);
      if (!expanded.ok) return refuse(`the ARG ${name} on line ${arg.getRange().start.line + 1}: ${expanded.reason}`);
      values.set(name, expanded.value);
    }
  }
  return accept(values);
}

/** $NAME, ${NAME}, and the forms ${NAME:-word} ${NAME-word} ${NAME:+word} ${NAME+word}. */
const VARIABLE = /\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|(\{[^}]*\}?))/g;

/** Substitute variables the way the Dockerfile frontend does for the forms above; any other form is refused. */
export function expand(text: string, values: ReadonlyMap<string, string>): Checked<string> {
  let unsupported: string | undefined;
  const result = text.replace(
    VARIABLE,
    (whole, bare?: string, braced?: string, operator?: string, word?: string, other?: string) => {
      if (other !== undefined) {
        unsupported ??= whole;
        return "";
      }
      const name = bare ?? braced ?? "";
      const value = values.get(name);
      switch (operator) {
        case ":-":
          return value ? value : (word ?? "");
        case "-":
          return value !== undefined ? value : (word ?? "");
        case ":+":
          return value ? (word ?? "") : "";
        case "+":
          return value !== undefined ? (word ?? "") : "";
        default:
          return value ?? "";
      }
    },
  );
  if (unsupported !== undefined) return refuse(`the substitution ${unsupported} is not one dropbuild can resolve`);
  return accept(result);
}

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let at = text.indexOf("\n"); at !== -1; at = text.indexOf("\n", at + 1)) starts.push(at + 1);
  return starts;
}

const offsetOf = (lines: number[], position: { line: number; character: number }) =>
  (lines[position.line] ?? 0) + position.character;
