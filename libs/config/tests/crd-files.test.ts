// The committed CRDs must equal a fresh render of the schemas: change a schema, regenerate.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderCrdFiles } from "../src/crd-documents.ts";

const crdDir = join(import.meta.dirname, "../../../deploy/k8s/crds");
const regenerate = "run `npx nx run config:generate-crds` and commit deploy/k8s/crds";

describe("deploy/k8s/crds", () => {
  const rendered = renderCrdFiles();

  it("holds exactly the generated files", () => {
    const committed = readdirSync(crdDir).filter((f) => f.endsWith(".yaml")).sort();
    expect(committed, regenerate).toEqual(rendered.map((f) => f.fileName).sort());
  });

  it.each(rendered.map((f) => [f.fileName, f.text] as const))("%s matches a fresh generation", (fileName, text) => {
    expect(readFileSync(join(crdDir, fileName), "utf8"), `${fileName} is stale: ${regenerate}`).toBe(text);
  });
});
