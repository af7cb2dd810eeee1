#!/usr/bin/env node
// Composition root of meshctl: the only place that reads argv and env, touches stdin, stdout, stderr
// and the file system, and handles signals. Commands get all of that injected as a CommandIo.
// stdout carries the command's output only; JSON diagnostic logs go to stderr (DESIGN.md §4 says
// stdout for servers, but a CLI's stdout is its result, which pipes and `-o json` rely on).

import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { text } from "node:stream/consumers";
import { fileURLToPath } from "node:url";
import { runUntilStopped } from "@meshwork/runtime";
import { createLogger } from "@meshwork/telemetry";
import { importTokenIssuerKey, mintWorkloadToken, tokenIssuerFiles } from "@meshwork/workload-identity";
import { ProcessSupervisor } from "./adapters/process-supervisor.ts";
import { readBinaryFile, writeBinaryFile } from "./adapters/binary-files.ts";
import { readSources, readTextFile } from "./adapters/read-sources.ts";
import { analyzeCommand } from "./commands/analyze-command.ts";
import type { CommandIo } from "./commands/command.ts";
import { caRotateRootCommand, caStatusCommand } from "./commands/ca-commands.ts";
import { applyCommand, deleteCommand, getCommand } from "./commands/config-commands.ts";
import { proxyConfigCommand, proxyStatusCommand } from "./commands/proxy-commands.ts";
import { dashboardCommand } from "./commands/dashboard-command.ts";
import { prometheusConfigCommand } from "./commands/prometheus-config-command.ts";
import { registryAutopilotGetConfigCommand, registryAutopilotSetConfigCommand, registryAutopilotStateCommand } from "./commands/registry-autopilot-commands.ts";
import { registryJoinCommand, registryLeaveCommand, registryMembersCommand } from "./commands/registry-commands.ts";
import { registryForceLeaveCommand } from "./commands/registry-force-leave-command.ts";
import { registryKeyringInstallCommand, registryKeyringListCommand, registryKeyringRemoveCommand, registryKeyringUseCommand } from "./commands/registry-keyring-commands.ts";
import { registryQueryCreateCommand, registryQueryDeleteCommand, registryQueryExecuteCommand, registryQueryListCommand } from "./commands/registry-query-commands.ts";
import { registrySnapshotInspectCommand, registrySnapshotRestoreCommand, registrySnapshotSaveCommand } from "./commands/registry-snapshot-commands.ts";
import { tokenIssueCommand } from "./commands/token-issue-command.ts";
import { downCommand, statusCommand, upCommand, type LocalMeshIo } from "./commands/up-command.ts";
import { validateCommand } from "./commands/validate-command.ts";
import { EXIT_CODES } from "./core/exit-codes.ts";
import { parseInvocation } from "./parse-invocation.ts";

/** Workload tokens of the local mesh: minted at every `meshctl up`, valid for a week of running. */
const localMeshTokenTtlSeconds = 7 * 24 * 3600;
const colour = process.stdout.isTTY === true && (process.env["NO_COLOR"] ?? "") === "";
const localMesh: LocalMeshIo = {
  // src/main.ts and dist/main.js both sit two levels below apps/meshctl.
  workspaceRoot: fileURLToPath(new URL("../../../", import.meta.url)),
  cwd: process.cwd(),
  pid: process.pid,
  readTextFile: (path) => readFile(path, "utf8").catch(() => undefined),
  writeTextFile: async (path, content) => {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, content);
  },
  removeFile: (path) => rm(path, { force: true }),
  supervise: (options) => new ProcessSupervisor({ cwd: localMesh.workspaceRoot, colour, ...options }),
  mintWorkloadToken: async (spec) => {
    const keyPath = join(spec.caDataDir, tokenIssuerFiles.privateKey);
    const key = await importTokenIssuerKey(await readFile(keyPath, "utf8"), globalThis.crypto);
    if (!key.ok) throw new Error(`${keyPath} is ${key.detail}`);
    const token = await mintWorkloadToken({
      privateKey: key.privateKey,
      issuer: "meshwork",
      audience: "meshwork-ca",
      namespace: spec.namespace,
      serviceAccount: spec.serviceAccount,
      now: new Date(),
      ttlSeconds: localMeshTokenTtlSeconds,
      crypto: globalThis.crypto,
    });
    await mkdir(dirname(spec.path), { recursive: true });
    await writeFile(spec.path, `${token}\n`, { mode: 0o600 });
  },
  isAlive: (pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  },
  kill: (pid, signal) => process.kill(pid, signal),
  monotonicMs: () => performance.now(),
};

const invocation = parseInvocation(process.argv.slice(2), process.env, [
  upCommand(localMesh),
  downCommand(localMesh),
  statusCommand(localMesh),validateCommand, analyzeCommand, applyCommand, getCommand, deleteCommand, proxyStatusCommand, proxyConfigCommand, tokenIssueCommand, caStatusCommand, caRotateRootCommand, registryMembersCommand, registryJoinCommand, registryLeaveCommand, registrySnapshotSaveCommand, registrySnapshotRestoreCommand, registrySnapshotInspectCommand, registryQueryListCommand, registryQueryCreateCommand, registryQueryExecuteCommand, registryQueryDeleteCommand, registryKeyringListCommand, registryKeyringInstallCommand, registryKeyringUseCommand, registryKeyringRemoveCommand, registryAutopilotGetConfigCommand, registryAutopilotSetConfigCommand, registryAutopilotStateCommand, registryForceLeaveCommand, dashboardCommand, prometheusConfigCommand]);

if (invocation.type === "help") {
  process.stdout.write(invocation.text);
} else if (invocation.type === "usage-error") {
  process.stderr.write(invocation.message);
  process.exitCode = EXIT_CODES.usage;
} else {
  const logger = createLogger({ name: "meshctl", level: invocation.logLevel, write: (line) => void process.stderr.write(line) });
  const io: CommandIo = {
    readSources: (paths) => readSources(paths, { readStdin: () => text(process.stdin) }),
    readTextFile,
    readBinaryFile,
    writeBinaryFile,
    writeOut: (output) => void process.stdout.write(output),
    writeErr: (message) => void process.stderr.write(message),
    terminal: { isTty: process.stdout.isTTY === true, hasNoColor: (process.env["NO_COLOR"] ?? "") !== "" },
    now: () => new Date(),
    crypto: globalThis.crypto,
    fetch: (url, init) => fetch(url, init),
    sleep: (ms, signal) =>
      new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          signal.removeEventListener("abort", done);
          resolve();
        };
        const timer = setTimeout(done, ms);
        signal.addEventListener("abort", done, { once: true });
      }),
  };
  await runUntilStopped(
    (lifecycle) => invocation.run({ io, logger: logger.child({ command: invocation.command }), signal: lifecycle.signal, onStop: lifecycle.onStop }),
    { logger, stopDeadlineMs: 20_000 },
  );
}
