// Runs the injector webhook for the control plane: reads the serving key and certificate (the
// Secret meshwork-injector-tls mounted as files), listens with HTTPS, and picks up a renewed
// certificate (cert-manager rewrites the Secret; the kubelet swaps the mounted files) without a
// restart, by watching the files' directory and swapping the TLS context.
import { watch, type FSWatcher } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { Server } from "node:https";
import type { Logger } from "@meshwork/telemetry";
import type { InjectionTemplate } from "./injection-template.ts";
import { buildInjectorServer } from "./injector-server.ts";

export interface StartInjectorOptions {
  readonly host: string;
  /** 0 picks one. */
  readonly port: number;
  readonly tlsCertFile: string;
  readonly tlsKeyFile: string;
  readonly template: InjectionTemplate;
  readonly logger: Logger;
}

export interface RunningInjector {
  readonly port: number;
  /** Re-reads the key and certificate and serves them to new connections. */
  reloadTls(): Promise<void>;
  close(): Promise<void>;
}

export async function startInjectorServer(options: StartInjectorOptions): Promise<RunningInjector> {
  const { logger } = options;
  const readTls = async () => {
    try {
      return { key: await readFile(options.tlsKeyFile, "utf8"), cert: await readFile(options.tlsCertFile, "utf8") };
    } catch (error) {
      throw new Error(`cannot read the injector's TLS files (${options.tlsCertFile}, ${options.tlsKeyFile}): ${(error as Error).message}; mount the Secret meshwork-injector-tls there`, { cause: error });
    }
  };
  const app = buildInjectorServer({ template: options.template, tls: await readTls(), logger });
  await app.listen({ host: options.host, port: options.port });
  const server = app.server as unknown as Server;
  const port = (server.address() as { port: number }).port;
  logger.info("sidecar injector listening", { host: options.host, port });

  const reloadTls = async () => {
    const tls = await readTls();
    server.setSecureContext({ key: tls.key, cert: tls.cert });
    logger.info("injector TLS certificate reloaded", { file: options.tlsCertFile });
  };

  let pending: ReturnType<typeof setTimeout> | undefined;
  const watchers: FSWatcher[] = [...new Set([dirname(options.tlsCertFile), dirname(options.tlsKeyFile)])].map((dir) =>
    watch(dir, () => {
      // Both files change in one swap; reload once they have settled.
      clearTimeout(pending);
      pending = setTimeout(() => {
        reloadTls().catch((error: unknown) => logger.warn("injector TLS reload failed; keeping the previous certificate", { err: error }));
      }, 100);
    }),
  );

  return {
    port,
    reloadTls,
    close: async () => {
      clearTimeout(pending);
      for (const watcher of watchers) watcher.close();
      await app.close();
    },
  };
}
