import { posix } from "node:path";

interface Rule {
  pattern: RegExp;
  exclude: boolean;
}

function toRegExp(pattern: string): RegExp {
  let out = "";
  for (let i = 0; i < pattern.length; i += 1) {
    const c = pattern[i] ?? "";
    if (c === "*") {
      if (pattern[i + 1] === "*") {
        // "**" matches any number of directories, including none.
        out += pattern[i + 2] === "/" ? "(?:.*/)?" : ".*";
        i += pattern[i + 2] === "/" ? 2 : 1;
      } else {
        out += "[^/]*";
      }
    } else if (c === "?") out += "[^/]";
    else if (c === "\\" && i + 1 < pattern.length) out += `\\${pattern[++i]}`;
    else out += c.replace(/[.+^${}()|[\]]/g, "\\$&");
  }
  // A pattern that names a directory excludes everything under it too.
  return new RegExp(`^${out}(?:/.*)?$`);
}

/**
 * .dockerignore as Docker reads it: one pattern per line, `#` comments,
 * `!` re-includes, later lines win, paths relative to the context root, and
 * a matched directory excludes what is inside it.
 */
export function parseDockerignore(text: string): (path: string) => boolean {
  const rules: Rule[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const exclude = !line.startsWith("!");
    const body = posix.normalize((exclude ? line : line.slice(1).trim()).replace(/^\/+/, "")).replace(/\/+$/, "");
    if (body === "." || body === "") continue;
    rules.push({ pattern: toRegExp(body), exclude });
  }
  return (path: string) => {
    const relative = posix.normalize(path).replace(/^\.\//, "");
    let ignored = false;
    for (const rule of rules) if (rule.pattern.test(relative)) ignored = rule.exclude;
    return ignored;
  };
}
