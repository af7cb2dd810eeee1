// The flags validate and analyze share: which files to read (-f) and how to print the findings.

import { defineSettings } from "@meshwork/runtime";

export const sourceSettings = defineSettings({
  filename: {
    type: "list",
    short: "f",
    valueName: "FILE|DIR",
    required: true,
    description: 'Mesh resources to read: a YAML/JSON file, a directory (its .yaml, .yml and .json files, recursively), or "-" for stdin.',
  },
  output: {
    type: "string",
    short: "o",
    choices: ["human", "json"],
    default: "human",
    env: "MESHWORK_OUTPUT",
    valueName: "FORMAT",
    description: 'Output format; json prints {"issues":[...],"resources":N}.',
  },
  color: {
    type: "string",
    choices: ["auto", "always", "never"],
    default: "auto",
    env: "MESHWORK_COLOR",
    valueName: "WHEN",
    description: "Colour human output; auto colours only on a terminal and when NO_COLOR is unset.",
  },
});
