// An entry point for start-source-process tests: TypeScript only (a type annotation), run through tsx.
const args: readonly string[] = process.argv.slice(2);
console.log(JSON.stringify({ msg: "ready", args }));
