// A small Kubernetes API-server stand-in for tests of code that uses the real
// @kubernetes/client-node: an in-memory store with one global resourceVersion that speaks the
// documented protocol over HTTP (https://kubernetes.io/docs/reference/using-api/api-concepts/):
//   - collections by path (`/api/v1/services`, `/apis/<group>/<version>/<plural>`): paged lists
//     (limit/continue) with a collection resourceVersion, `?watch=true&resourceVersion=N` streams
//     of JSON lines ({"type":"ADDED|MODIFIED|DELETED|ERROR","object":...}), 410 Gone as an ERROR
//     event once the history before N is compacted, `fieldSelector=metadata.name=X`;
//   - namespaced objects of core kinds (`/api/v1/namespaces/<ns>/<plural>[/<name>]`): GET (404),
//     POST (409 AlreadyExists), PUT (409 Conflict on a stale resourceVersion), DELETE, stored in
//     the `/api/v1/<plural>` collection;
//   - custom objects (`/apis/<group>/<version>[/namespaces/<ns>]/<plural>/<name>`): GET, and PUT
//     of the `/status` subresource, which replaces only `status` (spec, metadata.generation kept),
//     needs metadata.resourceVersion (422 without, as for custom resources) and answers 409 Conflict
//     on a stale one; stored in the `/apis/<group>/<version>/<plural>` collection;
//   - bearer-token auth (`Bearer test-token`) and injected 500s.
// What it does not prove: the real server's timing (watch timeouts, bookmarks), RBAC, admission,
// HTTP/2, TLS and client-certificate auth, or conversion between served versions.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { KubeConfig } from "@kubernetes/client-node";

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string>; [field: string]: unknown };
  [field: string]: unknown;
};
interface Collection {
  readonly objects: Map<string, K8sObject>;
  readonly events: { rv: number; type: string; object: K8sObject }[];
}

export interface StandInRequest {
  readonly method: string;
  readonly path: string;
  readonly watch: boolean;
  readonly resourceVersion: string | null;
  readonly continue: string | null;
  readonly fieldSelector: string | null;
}

/** `/api/v1/namespaces/<ns>/<plural>[/<name>]` → [collection path, namespace, name]. */
const namespacedObjectPath = /^\/api\/v1\/namespaces\/([^/]+)\/([a-z]+)(?:\/([^/]+))?$/;

/** `/apis/<group>/<version>[/namespaces/<ns>]/<plural>/<name>[/status]` → group/version, namespace, plural, name, subresource. */
const customObjectPath = /^\/apis\/([^/]+\/[^/]+)\/(?:namespaces\/([^/]+)\/)?([a-z]+)\/([^/]+)(\/status)?$/;

/** A kubeconfig that talks to the stand-in listening at `server` (what `listen` resolved). */
export function standInKubeConfig(server: string): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: "stand-in", server, skipTLSVerify: true }],
    users: [{ name: "control-plane", token: "test-token" }],
    contexts: [{ name: "stand-in", cluster: "stand-in", user: "control-plane" }],
    currentContext: "stand-in",
  });
  return kubeConfig;
}

/** The API server stand-in: an in-memory store with a global resourceVersion, lists, watches and object writes. */
export class ApiServerStandIn {
  readonly requests: StandInRequest[] = [];
  readonly #collections = new Map<string, Collection>();
  readonly #watchers = new Set<{ path: string; fieldSelector: string | null; res: ServerResponse }>();
  readonly #failures = new Map<string, number>();
  #rv = 100;
  #compactedBelow = 0;
  server: Server | undefined;

  async listen(): Promise<string> {
    this.server = createServer((req, res) => this.#handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, "127.0.0.1", resolve));
    const address = this.server.address() as { port: number };
    return `http://127.0.0.1:${address.port}`;
  }

  async close(): Promise<void> {
    for (const watcher of this.#watchers) watcher.res.destroy();
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }

  /** Creates or updates an object; open watches get the event unless `silently` (as if they had been disconnected). */
  put(path: string, object: K8sObject, silently = false): K8sObject {
    const collection = this.#collection(path);
    const key = `${object.metadata.namespace ?? ""}/${object.metadata.name}`;
    const type = collection.objects.has(key) ? "MODIFIED" : "ADDED";
    this.#rv += 1;
    const stored = { ...object, metadata: { ...object.metadata, resourceVersion: String(this.#rv) } };
    collection.objects.set(key, stored);
    this.#emit(path, { rv: this.#rv, type, object: stored }, silently);
    return stored;
  }

  remove(path: string, namespace: string, name: string, silently = false): void {
    const collection = this.#collection(path);
    const existing = collection.objects.get(`${namespace}/${name}`);
    if (!existing) throw new Error(`stand-in: no ${path} ${namespace}/${name}`);
    collection.objects.delete(`${namespace}/${name}`);
    this.#rv += 1;
    this.#emit(path, { rv: this.#rv, type: "DELETED", object: { ...existing, metadata: { ...existing.metadata, resourceVersion: String(this.#rv) } } }, silently);
  }

  /** The stored object, if any (namespace "" for cluster-scoped kinds). */
  get(path: string, namespace: string, name: string): K8sObject | undefined {
    return this.#collection(path).objects.get(`${namespace}/${name}`);
  }

  /** Forgets the event history (etcd compaction) and ends every open watch, as an API server restart does. */
  compactAndDisconnect(): void {
    this.#compactedBelow = this.#rv + 1;
    for (const collection of this.#collections.values()) collection.events.length = 0;
    this.endWatches();
  }

  /** Ends every open watch normally (the server's watch timeout). */
  endWatches(): void {
    for (const watcher of this.#watchers) watcher.res.end();
    this.#watchers.clear();
  }

  /** The next `count` requests of `kind` on `path` answer 500 (for writes, `path` is the object's or the namespaced collection's URL path). */
  failNext(path: string, count: number, kind: "list" | "watch" | "write"): void {
    this.#failures.set(`${kind} ${path}`, count);
  }

  #collection(path: string): Collection {
    let collection = this.#collections.get(path);
    if (!collection) {
      collection = { objects: new Map(), events: [] };
      this.#collections.set(path, collection);
    }
    return collection;
  }

  #emit(path: string, event: { rv: number; type: string; object: K8sObject }, silently: boolean): void {
    this.#collection(path).events.push(event);
    if (silently) return;
    for (const watcher of this.#watchers) {
      if (watcher.path === path && selects(watcher.fieldSelector, event.object)) watcher.res.write(`${JSON.stringify({ type: event.type, object: event.object })}\n`);
    }
  }

  #takeFailure(key: string): boolean {
    const failures = this.#failures.get(key) ?? 0;
    if (failures === 0) return false;
    this.#failures.set(key, failures - 1);
    return true;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://stand-in");
    const watch = url.searchParams.get("watch") === "true";
    const fieldSelector = url.searchParams.get("fieldSelector");
    const method = req.method ?? "GET";
    this.requests.push({ method, path: url.pathname, watch, resourceVersion: url.searchParams.get("resourceVersion"), continue: url.searchParams.get("continue"), fieldSelector });
    if (req.headers.authorization !== "Bearer test-token") return this.#status(res, 401, "Unauthorized", "Unauthorized");
    const object = namespacedObjectPath.exec(url.pathname);
    if (object !== null) {
      const [, namespace = "", plural = "", name] = object;
      if (method !== "GET" || name !== undefined) {
        let body = "";
        req.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
        req.on("end", () => this.#object(res, { method, collectionPath: `/api/v1/${plural}`, urlPath: url.pathname, namespace, name, body }));
        return;
      }
      // GET of a namespaced collection: the cluster-wide collection, filtered to the namespace.
      return this.#list(res, url, `/api/v1/${plural}`, (o) => o.metadata.namespace === namespace);
    }
    const custom = customObjectPath.exec(url.pathname);
    if (custom !== null && !(custom[2] === undefined && custom[3] === "namespaces")) {
      const [, groupVersion = "", namespace = "", plural = "", name = "", status] = custom;
      let body = "";
      req.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
      req.on("end", () => this.#customObject(res, { method, collectionPath: `/apis/${groupVersion}/${plural}`, urlPath: url.pathname, namespace, name, status: status !== undefined, body }));
      return;
    }
    if (this.#takeFailure(`${watch ? "watch" : "list"} ${url.pathname}`)) return this.#status(res, 500, "InternalError", "stand-in failure");
    if (!watch) return this.#list(res, url, url.pathname, () => true);
    const collection = this.#collection(url.pathname);
    const from = Number(url.searchParams.get("resourceVersion") ?? "0");
    res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
    res.flushHeaders(); // as the API server does: the client's watch() resolves on the headers
    if (from < this.#compactedBelow) {
      // The API server's answer to a resourceVersion it no longer has: an ERROR event with a 410 Status, then the end.
      res.end(`${JSON.stringify({ type: "ERROR", object: { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: `too old resource version: ${from} (${this.#compactedBelow})`, reason: "Expired", code: 410 } })}\n`);
      return;
    }
    for (const event of collection.events) if (event.rv > from && selects(fieldSelector, event.object)) res.write(`${JSON.stringify({ type: event.type, object: event.object })}\n`);
    const watcher = { path: url.pathname, fieldSelector, res };
    this.#watchers.add(watcher);
    req.on("close", () => this.#watchers.delete(watcher));
  }

  #list(res: ServerResponse, url: URL, path: string, filter: (object: K8sObject) => boolean): void {
    const fieldSelector = url.searchParams.get("fieldSelector");
    const all = [...this.#collection(path).objects.values()]
      .filter((o) => filter(o) && selects(fieldSelector, o))
      .sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
    const limit = Number(url.searchParams.get("limit") ?? "0") || all.length;
    const offset = Number(url.searchParams.get("continue") ?? "0");
    const items = all.slice(offset, offset + limit);
    const more = offset + limit < all.length;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ kind: "List", apiVersion: "v1", metadata: { resourceVersion: String(this.#rv), ...(more ? { continue: String(offset + limit) } : {}) }, items }));
  }

  #object(res: ServerResponse, request: { method: string; collectionPath: string; urlPath: string; namespace: string; name: string | undefined; body: string }): void {
    const { method, collectionPath, namespace, name } = request;
    if (method !== "GET" && this.#takeFailure(`write ${request.urlPath}`)) return this.#status(res, 500, "InternalError", "stand-in failure");
    const existing = name === undefined ? undefined : this.get(collectionPath, namespace, name);
    const json = (code: number, object: K8sObject) => {
      res.writeHead(code, { "content-type": "application/json" });
      res.end(JSON.stringify(object));
    };
    if (method === "GET") return existing ? json(200, existing) : this.#status(res, 404, "NotFound", `${collectionPath.split("/").at(-1)} "${name}" not found`);
    if (method === "DELETE") {
      if (!existing || name === undefined) return this.#status(res, 404, "NotFound", `"${name}" not found`);
      this.remove(collectionPath, namespace, name);
      return json(200, existing);
    }
    let body: K8sObject;
    try {
      body = JSON.parse(request.body) as K8sObject;
    } catch {
      return this.#status(res, 400, "BadRequest", "the body is not JSON");
    }
    if (body.metadata.namespace !== undefined && body.metadata.namespace !== namespace) return this.#status(res, 400, "BadRequest", "the namespace of the object does not match the URL");
    const objectName = body.metadata.name;
    if (method === "POST") {
      if (this.get(collectionPath, namespace, objectName)) return this.#status(res, 409, "AlreadyExists", `"${objectName}" already exists`);
      return json(201, this.put(collectionPath, { ...body, metadata: { ...body.metadata, namespace } }));
    }
    if (method === "PUT") {
      if (objectName !== name) return this.#status(res, 400, "BadRequest", "the name of the object does not match the URL");
      if (!existing) return this.#status(res, 404, "NotFound", `"${name}" not found`);
      const expected = body.metadata.resourceVersion;
      if (expected !== undefined && expected !== existing.metadata.resourceVersion) {
        return this.#status(res, 409, "Conflict", `Operation cannot be fulfilled on "${name}": the object has been modified; please apply your changes to the latest version and try again`);
      }
      return json(200, this.put(collectionPath, { ...body, metadata: { ...body.metadata, namespace } }));
    }
    return this.#status(res, 405, "MethodNotAllowed", `${method} is not supported by the stand-in`);
  }

  #customObject(res: ServerResponse, request: { method: string; collectionPath: string; urlPath: string; namespace: string; name: string; status: boolean; body: string }): void {
    const { method, collectionPath, namespace, name } = request;
    if (method !== "GET" && this.#takeFailure(`write ${request.urlPath}`)) return this.#status(res, 500, "InternalError", "stand-in failure");
    const existing = this.get(collectionPath, namespace, name);
    const json = (code: number, object: K8sObject) => {
      res.writeHead(code, { "content-type": "application/json" });
      res.end(JSON.stringify(object));
    };
    if (!existing) return this.#status(res, 404, "NotFound", `${collectionPath.split("/").at(-1)} "${name}" not found`);
    if (method === "GET") return json(200, existing);
    if (method !== "PUT" || !request.status) return this.#status(res, 405, "MethodNotAllowed", `${method} of ${request.urlPath} is not supported by the stand-in`);
    let body: K8sObject;
    try {
      body = JSON.parse(request.body) as K8sObject;
    } catch {
      return this.#status(res, 400, "BadRequest", "the body is not JSON");
    }
    if (body.metadata.name !== name) return this.#status(res, 400, "BadRequest", "the name of the object does not match the URL");
    const expected = body.metadata.resourceVersion;
    if (expected === undefined) return this.#status(res, 422, "Invalid", "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update");
    if (expected !== existing.metadata.resourceVersion) {
      return this.#status(res, 409, "Conflict", `Operation cannot be fulfilled on "${name}": the object has been modified; please apply your changes to the latest version and try again`);
    }
    // The status subresource changes status only: the stored spec and metadata stay.
    const { status } = body;
    return json(200, this.put(collectionPath, { ...existing, ...(status !== undefined ? { status } : {}) }));
  }

  #status(res: ServerResponse, code: number, reason: string, message: string): void {
    res.writeHead(code, { "content-type": "application/json" });
    res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code }));
  }
}

/** Whether `object` passes a `metadata.name=X` / `metadata.namespace=X` field selector (null: no selector). */
function selects(fieldSelector: string | null, object: K8sObject): boolean {
  if (fieldSelector === null || fieldSelector === "") return true;
  return fieldSelector.split(",").every((term) => {
    const [field, value] = term.split("=");
    if (field === "metadata.name") return object.metadata.name === value;
    if (field === "metadata.namespace") return object.metadata.namespace === value;
    throw new Error(`stand-in: field selector ${term} is not supported`);
  });
}
