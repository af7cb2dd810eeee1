// The Node flags an app's launcher asks for, read from its entry's shebang
// (`#!/usr/bin/env -S node --max-semi-space-size=1 --expose-gc`), so `meshctl up` starts each part
// with the same V8 settings as its installed command and its image.

/** The flags after `node` on a `#!/usr/bin/env -S node …` first line; none for any other first line. */
export function launcherNodeFlags(source: string): string[] {
  const first = source.slice(0, source.indexOf("\n") >>> 0);
  const match = /^#!\/usr\/bin\/env -S node(?:\s+(.*))?$/u.exec(first.trimEnd());
  return match?.[1] === undefined ? [] : match[1].trim().split(/\s+/u).filter((flag) => flag.startsWith("--"));
}
