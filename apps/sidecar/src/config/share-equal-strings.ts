// Makes equal strings of decoded resources one string. Resources that arrive from the config
// reader process (load-config-in-worker.ts) hold a separate copy of every string value — the
// structured clone writes each occurrence — and the compiled model keeps many of them: the
// labels of every endpoint ("v1" 5,000 times with 1,000 services), port names, hosts, namespaces.

/**
 * Replaces, in place, every string value inside `root` (object properties and array elements,
 * recursively; not keys) by the first equal string met, and returns `root`. For freshly decoded
 * plain data only: objects reached twice are visited twice (harmless), nothing else is touched.
 */
export function shareEqualStrings<T>(root: T): T {
  const seen = new Map<string, string>();
  const share = (text: string): string => {
    const first = seen.get(text);
    if (first !== undefined) return first;
    seen.set(text, text);
    return text;
  };
  const visit = (value: object): void => {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        if (typeof item === "string") value[i] = share(item);
        else if (typeof item === "object" && item !== null) visit(item);
      }
      return;
    }
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const item = record[key];
      if (typeof item === "string") record[key] = share(item);
      else if (typeof item === "object" && item !== null) visit(item);
    }
  };
  if (typeof root === "object" && root !== null) visit(root);
  return root;
}
