// Unix domain socket addresses (`unix:///path` or `unix://@abstract`), as WorkloadEntry and
// ServiceEntry endpoints, Sidecar listeners and their default endpoints, and Gateway binds use them.
// Follows Istio's ValidateUnixAddress.

export const unixAddressPrefix = "unix://";

/** Why the path after `unix://` is not a usable socket address, or undefined. */
export function unixAddressProblem(path: string): string | undefined {
  if (path.length === 0) return "has an empty socket path";
  if (path.startsWith("@")) return undefined; // Linux abstract socket
  if (!path.startsWith("/")) return `socket path "${path}" is not absolute`;
  if (path.endsWith("/")) return `socket path "${path}" is a directory`;
  return undefined;
}
