// serf's internal key queries (serf/internal_query.go, serf/keymanager.go): the query names, their
// payloads, how one member answers against its keyring, and how the asker tallies the answers.
// Payloads are JSON (serf uses msgpack): our pool never mixes with serf's on the wire, and the
// packets carrying them are sealed with the pool's key when encryption is on.
import { INTERNAL_QUERY_PREFIX } from "./events-and-queries.ts";
import type { Keyring } from "./keyring.ts";

export type KeyOperation = "install" | "use" | "remove" | "list";

/** serf's query name for each key operation. */
export const KEY_QUERY_NAMES: Readonly<Record<KeyOperation, string>> = {
  install: `${INTERNAL_QUERY_PREFIX}install-key`,
  use: `${INTERNAL_QUERY_PREFIX}use-key`,
  remove: `${INTERNAL_QUERY_PREFIX}remove-key`,
  list: `${INTERNAL_QUERY_PREFIX}list-keys`,
};

/** The key operation a query name stands for, or undefined for any other query. */
export function keyOperationOf(queryName: string): KeyOperation | undefined {
  for (const [operation, name] of Object.entries(KEY_QUERY_NAMES)) if (name === queryName) return operation as KeyOperation;
  return undefined;
}

/** One member's answer (serf's nodeKeyResponse): keys in base64, the primary first. */
export interface NodeKeyResponse {
  readonly result: boolean;
  readonly message: string;
  readonly keys: readonly string[];
  readonly primaryKey: string;
}

/** What the pool answered to one key operation (serf's KeyResponse). */
export interface KeyOperationResult {
  /** Members alive when the query was sent (serf: memberlist.NumMembers). */
  readonly numNodes: number;
  readonly numResp: number;
  /** Members that answered with a failure, plus members that did not answer before the timeout. */
  readonly numErr: number;
  /** Per member: why it failed, or that it did not answer. */
  readonly messages: Readonly<Record<string, string>>;
  /** Base64 key → how many members hold it (list only). */
  readonly keys: Readonly<Record<string, number>>;
  /** Base64 key → how many members encrypt with it (list only). */
  readonly primaryKeys: Readonly<Record<string, number>>;
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** Standard base64 with padding, as Consul prints keys. */
export function encodeKey(key: Uint8Array): string {
  let binary = "";
  for (const byte of key) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** Decodes standard base64; undefined when it is not base64. */
export function decodeKey(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  const binary = atob(text);
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** The query payload (serf's keyRequest): `{"Key": base64}`; list carries no key. */
export function encodeKeyRequest(key: Uint8Array | undefined): Uint8Array {
  return utf8.encode(JSON.stringify(key === undefined ? {} : { Key: encodeKey(key) }));
}

function failure(message: string): NodeKeyResponse {
  return { result: false, message, keys: [], primaryKey: "" };
}

/**
 * How one member answers a key query against its keyring (serf's handleInstallKey / UseKey /
 * RemoveKey / ListKeys). `changed` says the keyring was modified and should be persisted. Removing a
 * key that is not installed succeeds, as in memberlist, so a retried rotation step is harmless.
 */
export function answerKeyQuery(keyring: Keyring | undefined, operation: KeyOperation, payload: Uint8Array): { readonly response: NodeKeyResponse; readonly changed: boolean } {
  if (keyring === undefined) return { response: failure("no keyring to modify: gossip encryption is not enabled on this member (start it with a gossip key)"), changed: false };
  if (operation === "list") {
    const keys = keyring.keys.map(encodeKey);
    return { response: { result: true, message: "", keys, primaryKey: keys[0] ?? "" }, changed: false };
  }
  let request: unknown;
  try {
    request = JSON.parse(fromUtf8.decode(payload));
  } catch {
    return { response: failure("malformed key request: expected JSON {\"Key\": BASE64}"), changed: false };
  }
  const text = typeof request === "object" && request !== null && "Key" in request && typeof request.Key === "string" ? request.Key : "";
  const key = decodeKey(text);
  if (key === undefined) return { response: failure(`key request: ${JSON.stringify(text.slice(0, 8))}… is not base64; generate a key with \`openssl rand -base64 32\``), changed: false };
  const installed = keyring.keys.some((k) => encodeKey(k) === text);
  switch (operation) {
    case "install": {
      const outcome = keyring.install(key);
      return outcome.ok ? { response: { result: true, message: "", keys: [], primaryKey: "" }, changed: !installed } : { response: failure(outcome.reason), changed: false };
    }
    case "use": {
      if (!installed) return { response: failure("key is not installed: install it first (POST /v1/operator/keyring)"), changed: false };
      const wasPrimary = encodeKey(keyring.primaryKey) === text;
      keyring.use(key);
      return { response: { result: true, message: "", keys: [], primaryKey: "" }, changed: !wasPrimary };
    }
    case "remove": {
      if (!installed) return { response: { result: true, message: "", keys: [], primaryKey: "" }, changed: false };
      const outcome = keyring.remove(key);
      if (!outcome.ok) return { response: failure("removing the primary key is not allowed: make another key primary first (PUT /v1/operator/keyring)"), changed: false };
      return { response: { result: true, message: "", keys: [], primaryKey: "" }, changed: true };
    }
  }
}

export function encodeNodeKeyResponse(response: NodeKeyResponse): Uint8Array {
  return utf8.encode(JSON.stringify({ Result: response.result, Message: response.message, Keys: response.keys, PrimaryKey: response.primaryKey }));
}

/** Decodes a member's answer; a malformed one reads as a failure naming the problem. */
export function decodeNodeKeyResponse(payload: Uint8Array): NodeKeyResponse {
  try {
    const value = JSON.parse(fromUtf8.decode(payload)) as { Result?: unknown; Message?: unknown; Keys?: unknown; PrimaryKey?: unknown };
    return {
      result: value.Result === true,
      message: typeof value.Message === "string" ? value.Message : "",
      keys: Array.isArray(value.Keys) ? value.Keys.filter((k): k is string => typeof k === "string") : [],
      primaryKey: typeof value.PrimaryKey === "string" ? value.PrimaryKey : "",
    };
  } catch {
    return failure("malformed key response");
  }
}

/**
 * Tallies the answers to one key query (serf's streamKeyResp), against the members that were alive
 * when it was sent: a failure counts in `numErr` with its message, and so does a member that did
 * not answer before the timeout (Consul reports both as a failed operation).
 */
export function tallyKeyResponses(responses: readonly { readonly from: string; readonly payload: Uint8Array }[], askedMembers: readonly string[]): KeyOperationResult {
  const messages: Record<string, string> = {};
  const keys: Record<string, number> = {};
  const primaryKeys: Record<string, number> = {};
  let numErr = 0;
  const answered = new Set<string>();
  for (const { from, payload } of responses) {
    answered.add(from);
    const response = decodeNodeKeyResponse(payload);
    if (!response.result) {
      numErr++;
      messages[from] = response.message;
    }
    for (const key of response.keys) keys[key] = (keys[key] ?? 0) + 1;
    if (response.primaryKey !== "") primaryKeys[response.primaryKey] = (primaryKeys[response.primaryKey] ?? 0) + 1;
  }
  for (const name of askedMembers) {
    if (answered.has(name)) continue;
    numErr++;
    messages[name] = "no answer before the query timeout: check that the member is running and holds a key the pool uses";
  }
  return { numNodes: Math.max(askedMembers.length, answered.size), numResp: responses.length, numErr, messages, keys, primaryKeys };
}
