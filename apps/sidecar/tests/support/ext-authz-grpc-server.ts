// A real gRPC external authorizer for the tests (@grpc/grpc-js on 127.0.0.1, port 0) serving
// Envoy's envoy.service.auth.v3.Authorization/Check from envoy-ext-authz.proto, a text written
// apart from libs/protocol's: it decodes the sidecar's CheckRequests and encodes its answers with
// @grpc/proto-loader (protobufjs), so the field numbers are checked from both sides. Messages are
// plain objects with Envoy's snake_case field names.
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";

const protoPath = fileURLToPath(new URL("./envoy-ext-authz.proto", import.meta.url));

// Field names as in the .proto; int64 as numbers; absent fields stay absent (presence is checked too).
const definitions = loadSync(protoPath, { keepCase: true, longs: Number, enums: Number, bytes: Buffer, defaults: false, oneofs: true });

/** A decoded message (snake_case fields). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the tests read whatever the wire carried
export type Message = Record<string, any>;

/** Envoy's Check method as proto-loader defines it: serializers of CheckRequest and CheckResponse. */
export const checkMethod = (definitions["envoy.service.auth.v3.Authorization"] as grpc.ServiceDefinition)["Check"] as grpc.MethodDefinition<Message, Message>;

/** Decodes a CheckRequest's bytes with the fixture's definitions. */
export function decodeCheckRequest(bytes: Uint8Array): Message {
  return checkMethod.requestDeserialize(Buffer.from(bytes));
}

/** Encodes a CheckResponse (snake_case object) with the fixture's definitions. */
export function encodeCheckResponse(response: Message): Buffer {
  return checkMethod.responseSerialize(response);
}

export type CheckAnswer =
  | { readonly type: "respond"; readonly response: Message }
  /** Never answers (until the server closes): the caller's deadline runs out. */
  | { readonly type: "hang" }
  /** Fails the RPC with this gRPC status. */
  | { readonly type: "fail"; readonly code: grpc.status; readonly details: string };

export interface ExtAuthzTestServer {
  readonly port: number;
  /** Every CheckRequest received, decoded, with the call's `:authority` and the client's address (one per connection). */
  readonly checks: { readonly request: Message; readonly authority: string; readonly peer: string }[];
  close(): Promise<void>;
}

/** Starts an authorizer that answers each check with `answer(request)`. */
export async function startExtAuthzTestServer(answer: (request: Message) => CheckAnswer): Promise<ExtAuthzTestServer> {
  const server = new grpc.Server();
  const checks: { request: Message; authority: string; peer: string }[] = [];
  const hanging: grpc.sendUnaryData<Message>[] = [];
  server.addService(definitions["envoy.service.auth.v3.Authorization"] as grpc.ServiceDefinition, {
    Check: (call: grpc.ServerUnaryCall<Message, Message>, callback: grpc.sendUnaryData<Message>) => {
      checks.push({ request: call.request, authority: call.getHost(), peer: call.getPeer() });
      const reply = answer(call.request);
      if (reply.type === "hang") hanging.push(callback);
      else if (reply.type === "fail") callback({ code: reply.code, details: reply.details });
      else callback(null, reply.response);
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  return {
    port,
    checks,
    close: () =>
      new Promise<void>((resolve) => {
        for (const callback of hanging) callback({ code: grpc.status.UNAVAILABLE, details: "test server closing" });
        server.tryShutdown(() => resolve());
      }),
  };
}

/** The service account whose connections the sample allows when a check has no `x-ext-authz` header (a flag of Istio's sample). */
export const sampleAllowedServiceAccount = "sleep";

/**
 * Istio's sample ext-authz server (samples/extauthz, gRPC v3) as the authz-custom task uses it:
 * allows when `x-ext-authz: allow` — or, without that header (a TCP connection's check), when the
 * source principal ends with `/sa/<sampleAllowedServiceAccount>` — adding
 * `x-ext-authz-check-result: allowed` for the upstream; otherwise denies with 403,
 * `x-ext-authz-check-result: denied` and its denial text. The tests extend it with an upstream
 * header removal, an append and response headers.
 */
export function sampleAnswer(request: Message): CheckAnswer {
  const headers = (request["attributes"]?.["request"]?.["http"]?.["headers"] ?? {}) as Record<string, string>;
  const principal = String(request["attributes"]?.["source"]?.["principal"] ?? "");
  const allowed = headers["x-ext-authz"] === undefined ? principal.endsWith(`/sa/${sampleAllowedServiceAccount}`) : headers["x-ext-authz"] === "allow";
  if (allowed) {
    return {
      type: "respond",
      response: {
        status: { code: grpc.status.OK },
        ok_response: {
          headers: [
            { header: { key: "x-ext-authz-check-result", value: "allowed" } },
            { header: { key: "x-tenant", value: "checked" }, append: { value: true } },
            { header: { key: "x-absent", value: "never-added" }, append: { value: true } },
          ],
          headers_to_remove: ["x-remove-me", ":path", "host"],
          response_headers_to_add: [
            { header: { key: "x-ext-authz-response", value: "allowed" } },
            { header: { key: "x-served-by", value: "ext-authz" }, append: { value: false } },
          ],
        },
      },
    };
  }
  if (headers["x-ext-authz"] === "hang") return { type: "hang" };
  if (headers["x-ext-authz"] === "unauthenticated") {
    return {
      type: "respond",
      response: {
        status: { code: grpc.status.UNAUTHENTICATED, message: "no credentials" },
        denied_response: {
          status: { code: 401 },
          headers: [
            { header: { key: "www-authenticate", value: 'Bearer realm="mesh"' } },
            { header: { key: "content-type", value: "application/json" } },
          ],
          body: '{"error":"who are you"}',
        },
      },
    };
  }
  return {
    type: "respond",
    response: {
      status: { code: grpc.status.PERMISSION_DENIED },
      denied_response: {
        status: { code: 403 },
        headers: [{ header: { key: "x-ext-authz-check-result", value: "denied" } }],
        body: "denied by ext_authz for not found header `x-ext-authz: allow` in the request",
      },
    },
  };
}
