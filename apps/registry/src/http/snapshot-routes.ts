// /v1/snapshot: Consul's "Generate Snapshot" (GET) and "Restore Snapshot" (PUT), in our own file
// format (backup/backup-file.ts), not Consul's gzipped tar. GET passes the read barrier of its
// consistency mode like every read (default: the leader's state, a follower asks the leader with
// ReadIndex; ?stale: this server's own state). PUT checks the file, then replaces the cluster's
// state through Raft with one `state-restore` command, so every server applies it and it is in
// the log (and later the Raft snapshots) across restarts.
import { decodeBackupFile, encodeBackupFile } from "../backup/backup-file.ts";
import { maxRestoreEntryBytes, maxRestoreStateBytes } from "../backup/max-restore-state-bytes.ts";
import { RegistryState } from "../state/registry-state.ts";
import { type ApiContext, type ApiRequest, type ApiResponse, leaderHeaders, textResponse } from "./api-context.ts";
import { HttpError, badRequest } from "./http-error.ts";
import { parseConsistency } from "./query-params.ts";

/** The largest PUT /v1/snapshot body: the largest restorable state plus room for the file's header. */
export const maxSnapshotBodyBytes = maxRestoreStateBytes + 64 * 1024;

/** The 413 of a restore that cannot fit in one Raft entry, naming both limits. */
export function snapshotTooLargeMessage(bytes: number | undefined): string {
  const size = bytes === undefined ? "The snapshot is" : `The snapshot's state is ${bytes} bytes,`;
  return (
    `${size} over the ${maxRestoreStateBytes}-byte limit of a restore: the state travels base64-encoded in one Raft entry of at most ` +
    `${maxRestoreEntryBytes / (1024 * 1024)} MiB (the peer transport's 64 MiB message limit, halved). Delete data you can do without and save it again, or split the restore`
  );
}

export async function handleSnapshot(ctx: ApiContext, request: ApiRequest, rest: readonly string[]): Promise<ApiResponse> {
  if (rest.length > 0 && rest.join("/") !== "") return textResponse(404, `Unknown endpoint /v1/snapshot/${rest.join("/")}`);
  switch (request.method) {
    case "GET":
      return saveSnapshot(ctx, request);
    case "PUT":
    case "POST":
      return restoreSnapshot(ctx, request);
    default:
      return textResponse(405, `method ${request.method} not allowed`, { allow: "GET, PUT" });
  }
}

async function saveSnapshot(ctx: ApiContext, request: ApiRequest): Promise<ApiResponse> {
  const consistency = parseConsistency(request.query);
  await ctx.server.readBarrier(consistency);
  // One synchronous turn from here: the bytes, the index and the term describe the same point.
  const state = ctx.server.state;
  if (state.snapshot === undefined) return textResponse(501, "This server's state cannot be saved (it has no snapshot()): run the registry's RegistryState");
  const index = state.appliedIndex;
  const body = encodeBackupFile({ index, term: ctx.server.appliedTerm ?? 0, datacenter: ctx.datacenter }, state.snapshot());
  return {
    status: 200,
    headers: {
      "content-type": "application/octet-stream",
      "x-consul-index": String(Math.max(1, index)),
      ...leaderHeaders(ctx.server),
      "x-consul-effective-consistency": consistency === "default" ? "leader" : consistency,
    },
    body,
  };
}

async function restoreSnapshot(ctx: ApiContext, request: ApiRequest): Promise<ApiResponse> {
  const decoded = decodeBackupFile(request.body);
  if (!decoded.ok) throw badRequest(`Invalid snapshot: ${decoded.message}`);
  const { file } = decoded;
  if (file.state.byteLength > maxRestoreStateBytes) throw new HttpError(413, snapshotTooLargeMessage(file.state.byteLength));
  try {
    // Read it once here, so a state this build cannot read never reaches the log.
    RegistryState.restore(file.state);
  } catch (error) {
    throw badRequest(`Invalid snapshot: its state cannot be read (${error instanceof Error ? error.message : String(error)})`);
  }
  const result = await ctx.server.write({ op: "state-restore", state: Buffer.from(file.state.buffer, file.state.byteOffset, file.state.byteLength).toString("base64") });
  if (!result.ok) throw badRequest(`Invalid snapshot: ${result.errors?.[0]?.what ?? "the registry refused the restore"}`);
  return { status: 200, headers: { "x-consul-index": String(result.index) }, body: "" };
}
