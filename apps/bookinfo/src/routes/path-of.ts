// The path of an HTTP request target, for routing.

/** The path without its query; an absolute-form target (`http://host/a?b`) keeps only `/a`. */
export function pathOf(url: string | undefined): string {
  const target = url ?? "/";
  if (!target.startsWith("/")) {
    try {
      return new URL(target).pathname;
    } catch {
      return target;
    }
  }
  return target.split("?")[0] ?? "/";
}
