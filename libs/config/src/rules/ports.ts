// Port numbers and port names as the kinds write them: numbers a proxy listens on or connects to
// (1..65535), ports written as strings (AuthorizationPolicy, PeerAuthentication keys), and port
// names, which are DNS labels.
import type { FieldIssue, FieldPath } from "../field-issue.ts";
import { isDnsLabel } from "./host-names.ts";

/** An issue when `port` is outside 1..65535; none when it is in range or unset. */
export function checkPortNumber(port: number | undefined, path: FieldPath): FieldIssue[] {
  if (port === undefined || (port >= 1 && port <= 65535)) return [];
  return [{ name: "InvalidValue", path, message: `port ${port} is not in the range 1..65535`, hint: "give a port number from 1 to 65535" }];
}

/** Why `text`, a port written as a string (`"8080"`), is not a decimal port number in 1..65535, or undefined. */
export function portProblem(text: string): string | undefined {
  if (!/^[0-9]+$/.test(text)) return `${JSON.stringify(text)} is not a port number`;
  const port = Number(text);
  if (port < 1 || port > 65535) return `port ${text} is out of range`;
  return undefined;
}

/** An issue when a port name is not a DNS label; `example` is a good name for the kind, e.g. `http-web`. */
export function portNameIssues(name: string, path: FieldPath, options: { example: string }): FieldIssue[] {
  if (isDnsLabel(name)) return [];
  return [{ path, message: `port name "${name}" is not a DNS label`, hint: `use lowercase letters, digits and '-', e.g. ${options.example}` }];
}
