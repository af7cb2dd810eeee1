// Path normalization as Istio applies it before authorization and forwarding (MeshConfig
// pathNormalization; https://istio.io/latest/docs/reference/config/security/normalization/).

/** MeshConfig `pathNormalization.normalization`; Istio's default is BASE. */
export type PathNormalization = "NONE" | "BASE" | "MERGE_SLASHES" | "DECODE_AND_MERGE_SLASHES";

export type NormalizedPath = { readonly ok: true; readonly path: string } | { readonly ok: false; readonly reason: string };

/**
 * Normalizes a request path (query kept as is; Istio's matchers ignore it):
 * - BASE: decodes %2D %2E %30-%39 %41-%5A %5F %61-%7A %7E once, turns `\` into `/`, resolves `.` and
 *   `..` segments (RFC 3986 §5.2.4);
 * - MERGE_SLASHES: BASE, then `//` → `/`;
 * - DECODE_AND_MERGE_SLASHES: also decodes %2F and %5C before that.
 * A path containing %00 is refused (Istio answers 400) whatever the mode.
 */
export function normalizeAuthzPath(rawPath: string, mode: PathNormalization = "BASE"): NormalizedPath {
  const q = rawPath.indexOf("?");
  const path = q < 0 ? rawPath : rawPath.slice(0, q);
  const query = q < 0 ? "" : rawPath.slice(q);
  if (/%00/.test(path)) return { ok: false, reason: 'the path contains "%00"' };
  if (mode === "NONE") return { ok: true, path: rawPath };
  const decodeSlashes = mode === "DECODE_AND_MERGE_SLASHES";
  let out = path.replace(/%([0-9a-fA-F]{2})/g, (all, hex: string) => {
    const code = parseInt(hex, 16);
    const isUnreserved =
      code === 0x2d || code === 0x2e || code === 0x5f || code === 0x7e || (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
    if (isUnreserved || (decodeSlashes && (code === 0x2f || code === 0x5c))) return String.fromCharCode(code);
    return all;
  });
  out = out.replace(/\\/g, "/");
  if (mode !== "BASE") out = out.replace(/\/{2,}/g, "/");
  out = removeDotSegments(out);
  return { ok: true, path: out + query };
}

/** RFC 3986 §5.2.4. */
function removeDotSegments(path: string): string {
  if (!path.includes(".")) return path;
  const segments = path.split("/");
  const out: string[] = [];
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i] as string;
    const isLast = i === segments.length - 1;
    if (s === ".") {
      if (isLast) out.push("");
    } else if (s === "..") {
      if (out.length > 1) out.pop();
      if (isLast) out.push("");
    } else {
      out.push(s);
    }
  }
  const joined = out.join("/");
  return path.startsWith("/") && !joined.startsWith("/") ? `/${joined}` : joined;
}
