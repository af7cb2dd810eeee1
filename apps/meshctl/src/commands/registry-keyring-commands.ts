// `meshctl registry keyring list|install|use|remove`: the gossip encryption keys of the registry's
// gossip pool through its Consul HTTP API (/v1/operator/keyring, what `consul keyring` calls; the
// registry sends each operation to every member). Any server will do. A rotation is: install the
// new key, use it, remove the old one.

import { defineSettings } from "@meshwork/runtime";
import { formatKeyringPools, parseKeyringPools } from "../core/format-gossip-keyring.ts";
import { defineCommand, formatUsageError } from "./command.ts";
import { REGISTRY_EXIT, addrSetting, callRegistry, registryRefused } from "./registry-commands.ts";

const EXIT_HELP = "Exit codes: 0 every member answered and none failed, 1 a member failed or did not answer (or the registry cannot be reached), 2 usage error.";
const listSettings = defineSettings({
  ...addrSetting,
  output: { type: "string", short: "o", choices: ["text", "json"], default: "text", env: "MESHWORK_OUTPUT", description: "Output format." },
});
const keySettings = defineSettings({ ...addrSetting });

export const registryKeyringListCommand = defineCommand({
  name: "registry keyring list",
  summary: "List the gossip encryption keys of every member of the registry's pool (GET /v1/operator/keyring).",
  usage: "meshctl registry keyring list [--registry-addr URL] [-o text|json]",
  description: "Asks every member of the gossip pool for its keys and prints each key with how many members hold it and how many encrypt with it (consul keyring -list). -o json prints the registry's answer (Consul's JSON).",
  footer: ["Examples:", "  meshctl registry keyring list", "  meshctl registry keyring list -o json", "", EXIT_HELP].join("\n"),
  settings: listSettings,
  run: async (settings, context) => {
    const answer = await callRegistry(context, settings.registryAddr, "GET", "/v1/operator/keyring");
    if (!answer.ok) {
      context.io.writeErr(formatUsageError("registry keyring list", answer.message));
      return REGISTRY_EXIT.failed;
    }
    if (answer.status !== 200) return registryRefused(context, "registry keyring list", answer);
    const pools = parseKeyringPools(answer.body);
    if (pools === undefined) {
      context.io.writeErr(formatUsageError("registry keyring list", `${settings.registryAddr} answered something that is not a keyring list; is --registry-addr a registry server's --http-port?`));
      return REGISTRY_EXIT.failed;
    }
    context.io.writeOut(settings.output === "json" ? `${JSON.stringify(answer.body, null, 2)}\n` : formatKeyringPools(pools));
    return REGISTRY_EXIT.ok;
  },
});

const EXAMPLE_KEY = "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=";

function keyCommand(verb: "install" | "use" | "remove", method: "POST" | "PUT" | "DELETE", summary: string, done: string, description: string) {
  const name = `registry keyring ${verb}`;
  return defineCommand({
    name,
    summary: `${summary} (${method} /v1/operator/keyring).`,
    usage: `meshctl ${name} KEY [--registry-addr URL]`,
    description,
    footer: ["Example:", `  meshctl ${name} ${EXAMPLE_KEY}`, "", EXIT_HELP].join("\n"),
    settings: keySettings,
    positionals: { min: 1, max: 1 },
    run: async (settings, context, [key = ""]) => {
      const answer = await callRegistry(context, settings.registryAddr, method, "/v1/operator/keyring", { Key: key });
      if (!answer.ok) {
        context.io.writeErr(formatUsageError(name, answer.message));
        return REGISTRY_EXIT.failed;
      }
      if (answer.status !== 200) return registryRefused(context, name, answer);
      context.io.writeOut(`${done}\n`);
      return REGISTRY_EXIT.ok;
    },
  });
}

export const registryKeyringInstallCommand = keyCommand(
  "install",
  "POST",
  "Install a new gossip encryption key on every member",
  "Installed the key on every member.",
  "Adds KEY (base64, 16, 24 or 32 bytes: `openssl rand -base64 32`) to every member's keyring: members decrypt with it from now on, and keep encrypting with their primary key (consul keyring -install).",
);
export const registryKeyringUseCommand = keyCommand(
  "use",
  "PUT",
  "Make an installed key the primary (encrypting) key on every member",
  "Every member now encrypts with the key.",
  "Makes KEY, installed beforehand, the key every member encrypts with; the other keys still decrypt (consul keyring -use).",
);
export const registryKeyringRemoveCommand = keyCommand(
  "remove",
  "DELETE",
  "Remove a gossip encryption key from every member",
  "Removed the key from every member.",
  "Removes KEY from every member's keyring; the primary key cannot be removed: use another key first (consul keyring -remove).",
);
