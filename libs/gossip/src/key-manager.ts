// serf's KeyManager: sends a key operation to the whole pool as an internal query, answers the
// key queries this member receives against its own keyring, and tallies the answers once the
// query times out. No I/O of its own: the driver feeds it the core's events and persists the
// keyring in `onKeyringChanged` (serf writes its keyring file there too).
import type { QueryRef } from "./events-and-queries.ts";
import { KEY_QUERY_NAMES, answerKeyQuery, encodeKeyRequest, encodeNodeKeyResponse, keyOperationOf, tallyKeyResponses } from "./key-queries.ts";
import type { KeyOperation, KeyOperationResult } from "./key-queries.ts";
import type { Keyring } from "./keyring.ts";
import type { GossipEvent, MemberView } from "./memberlist.ts";

/** What the key manager uses of the core; `Memberlist` satisfies it. */
export interface KeyQueryCore {
  query(name: string, payload: Uint8Array, options?: { readonly timeoutMs?: number }): QueryRef;
  respond(query: QueryRef, payload: Uint8Array): void;
  members(): readonly MemberView[];
}

export interface KeyManagerOptions {
  /** This member's keyring; undefined when encryption is off (every key query then fails here). */
  readonly keyring: Keyring | undefined;
  /**
   * Called after a key query changed the keyring, with the keys primary first, before the answer
   * goes out. If it throws, the change stays in memory and the answer reports the error, as serf
   * does when it cannot write its keyring file.
   */
  readonly onKeyringChanged?: (keys: readonly Uint8Array[]) => void;
}

interface Waiting {
  readonly asked: readonly string[];
  readonly resolve: (result: KeyOperationResult) => void;
}

export class KeyManager {
  readonly #options: KeyManagerOptions;
  readonly #waiting = new Map<string, Waiting>();

  constructor(options: KeyManagerOptions) {
    this.#options = options;
  }

  /**
   * Sends `operation` to every member (this one included) and resolves with the tally when the
   * query completes (its timeout; the core's default when `timeoutMs` is not given). Members that
   * are alive (or suspect, memberlist's NumMembers) now and do not answer by then are counted as errors.
   */
  send(core: KeyQueryCore, operation: KeyOperation, key: Uint8Array | undefined, options: { readonly timeoutMs?: number } = {}): Promise<KeyOperationResult> {
    if (operation !== "list" && key === undefined) throw new Error(`key ${operation}: give the key (base64, 16, 24 or 32 bytes)`);
    const asked = core.members().filter((m) => m.state === "alive" || m.state === "suspect").map((m) => m.name);
    return new Promise((resolve) => {
      const ref = core.query(KEY_QUERY_NAMES[operation], encodeKeyRequest(operation === "list" ? undefined : key), options);
      this.#waiting.set(`${ref.ltime}:${ref.id}:${ref.origin}`, { asked, resolve });
    });
  }

  /**
   * Feeds one event of the core: answers a key query received (returns true), resolves this
   * member's finished key operations (returns true); false for every other event.
   */
  handle(core: KeyQueryCore, event: GossipEvent): boolean {
    if (event.type === "query-received") {
      const operation = keyOperationOf(event.name);
      if (operation === undefined) return false;
      const { response, changed } = answerKeyQuery(this.#options.keyring, operation, event.payload);
      let answer = response;
      if (changed && this.#options.keyring !== undefined) {
        try {
          this.#options.onKeyringChanged?.(this.#options.keyring.keys);
        } catch (error) {
          answer = { ...response, result: false, message: `keyring changed but not saved: ${error instanceof Error ? error.message : String(error)}` };
        }
      }
      core.respond(event.query, encodeNodeKeyResponse(answer));
      return true;
    }
    if (event.type === "query-completed") {
      const key = `${event.query.ltime}:${event.query.id}:${event.query.origin}`;
      const waiting = this.#waiting.get(key);
      if (waiting === undefined) return keyOperationOf(event.name) !== undefined;
      this.#waiting.delete(key);
      waiting.resolve(tallyKeyResponses(event.responses, waiting.asked));
      return true;
    }
    return event.type === "query-response-received" && this.#waiting.has(`${event.query.ltime}:${event.query.id}:${event.query.origin}`);
  }
}
