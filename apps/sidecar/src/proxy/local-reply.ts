// Replies the proxy makes itself (Envoy's "local replies"): the status, Envoy's plain-text body
// and the x-envoy-* headers clients and tests rely on.

/** Envoy's bodies for its local replies, by response flag. */
export const localReplyBodies = {
  UH: "no healthy upstream",
  UF: "upstream connect error or disconnect/reset before headers. reset reason: connection failure",
  UC: "upstream connect error or disconnect/reset before headers. reset reason: connection termination",
  UR: "upstream connect error or disconnect/reset before headers. reset reason: remote reset",
  UO: "upstream connect error or disconnect/reset before headers. reset reason: overflow",
  UT: "upstream request timeout",
  FI: "fault filter abort",
  RL: "local_rate_limited",
  OM: "envoy overloaded",
  NR: "",
  NC: "",
} as const;

const reasons: Record<number, string> = {
  200: "OK",
  301: "Moved Permanently",
  302: "Found",
  303: "See Other",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  408: "Request Timeout",
  413: "Payload Too Large",
  426: "Upgrade Required",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
};

export function reasonPhrase(status: number): string {
  return reasons[status] ?? "Unknown";
}

/**
 * Serialises a complete local reply. `extraHeaders` are raw `name: value` lines (without CRLF).
 * `close` adds `connection: close`.
 */
export function formatLocalReply(status: number, body: string | Buffer, extraHeaders: readonly string[], close: boolean, headOnly = false): Buffer {
  const bytes = typeof body === "string" ? Buffer.from(body, "utf8") : body;
  let head = `HTTP/1.1 ${status} ${reasonPhrase(status)}\r\ncontent-length: ${bytes.length}\r\n`;
  if (bytes.length > 0 && !extraHeaders.some((h) => h.toLowerCase().startsWith("content-type:"))) head += "content-type: text/plain\r\n";
  for (const line of extraHeaders) head += `${line}\r\n`;
  head += `date: ${new Date().toUTCString()}\r\nserver: envoy\r\n`;
  if (close) head += "connection: close\r\n";
  head += "\r\n";
  return headOnly || bytes.length === 0 ? Buffer.from(head, "latin1") : Buffer.concat([Buffer.from(head, "latin1"), bytes]);
}
