// Writes deploy/k8s/crds from the schemas in libs/config (run: `nx run config:generate-crds`).
// Stale files (a kind renamed or removed) are deleted so the folder always equals a fresh render.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { renderCrdFiles } from "../src/crd-documents.ts";

const target = resolve(process.argv[2] ?? "../../deploy/k8s/crds");
mkdirSync(target, { recursive: true });
const files = renderCrdFiles();
const names = new Set(files.map((f) => f.fileName));
for (const existing of readdirSync(target)) {
  if (existing.endsWith(".yaml") && !names.has(existing)) rmSync(join(target, existing));
}
for (const file of files) writeFileSync(join(target, file.fileName), file.text);
console.log(JSON.stringify({ level: "info", msg: "wrote CRDs", dir: target, files: files.length }));
