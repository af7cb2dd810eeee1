import { describe, expect, it } from "vitest";
import { formatHelp } from "./format-help.ts";
import { defineSettings } from "./settings-spec.ts";

describe("formatHelp", () => {
  it("lists every flag with its placeholder, description, choices, default and env var", () => {
    const spec = defineSettings({
      filename: { type: "list", short: "f", valueName: "FILE", required: true, description: "Files to read." },
      output: { type: "string", short: "o", choices: ["human", "json"], default: "human", env: "MESHWORK_OUTPUT", description: "Output format." },
      port: { type: "number", default: 15000, description: "Admin port." },
      color: { type: "boolean", description: "Colour the output." },
    });
    const help = formatHelp(spec, {
      usage: "meshctl validate -f FILE [flags]",
      summary: "Checks mesh resources.",
      footer: "Exit codes: 0 clean, 1 findings.\n",
    });
    expect(help).toBe(
      [
        "Usage: meshctl validate -f FILE [flags]",
        "",
        "Checks mesh resources.",
        "",
        "Flags:",
        "  -f, --filename FILE  Files to read. [required; repeatable, comma-separated]",
        "  -o, --output string  Output format. [one of human, json; default: human; env: MESHWORK_OUTPUT]",
        "      --port number    Admin port. [default: 15000]",
        "      --color          Colour the output.",
        "  -h, --help           Show this help.",
        "",
        "Exit codes: 0 clean, 1 findings.",
        "",
      ].join("\n"),
    );
  });

  it("omits the summary and footer sections when not given", () => {
    const help = formatHelp({}, { usage: "x" });
    expect(help).toBe("Usage: x\n\nFlags:\n  -h, --help  Show this help.\n");
  });
});
