// Writes mesh config to the registry KV through its Consul-compatible HTTP API (any server: a
// follower forwards the write to the leader). Tries the next server when one cannot be reached.

export interface RegistryKv {
  put(key: string, value: string): Promise<void>;
  /** Resolves false when the key did not exist. */
  delete(key: string): Promise<boolean>;
  get(key: string): Promise<string | undefined>;
}

export function createRegistryKv(baseUrls: readonly string[]): RegistryKv {
  if (baseUrls.length === 0) throw new Error("createRegistryKv: no registry HTTP address; set --registry-http http://HOST:PORT");
  let preferred = 0;
  const request = async (method: string, key: string, body?: string, query = ""): Promise<Response> => {
    let lastError: unknown;
    for (let i = 0; i < baseUrls.length; i++) {
      const base = baseUrls[(preferred + i) % baseUrls.length] ?? "";
      try {
        const response = await fetch(`${base.replace(/\/$/, "")}/v1/kv/${key.split("/").map(encodeURIComponent).join("/")}${query}`, { method, body });
        if (response.status >= 500) {
          lastError = new Error(`registry ${base}: ${method} ${key}: HTTP ${response.status} ${await response.text()}`);
          continue;
        }
        preferred = (preferred + i) % baseUrls.length;
        return response;
      } catch (error) {
        lastError = error;
      }
    }
    throw new Error(`no registry server accepted ${method} ${key} (tried ${baseUrls.join(", ")}): ${lastError instanceof Error ? lastError.message : String(lastError)}`);
  };
  return {
    async put(key, value) {
      const response = await request("PUT", key, value);
      const text = await response.text();
      if (response.status !== 200 || text.trim() !== "true") throw new Error(`registry refused PUT ${key}: HTTP ${response.status} ${text}`);
    },
    async delete(key) {
      const existing = await request("GET", key);
      await existing.text();
      if (existing.status === 404) return false;
      const response = await request("DELETE", key);
      await response.text();
      if (response.status !== 200) throw new Error(`registry refused DELETE ${key}: HTTP ${response.status}`);
      return true;
    },
    async get(key) {
      const response = await request("GET", key, undefined, "?raw");
      const text = await response.text();
      return response.status === 404 ? undefined : text;
    },
  };
}
