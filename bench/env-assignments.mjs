// The benchmarks' "K=V K=V" options (--node-env, --baseline-env, --a-env, ...) as environment objects.

/** `"K=V K2=V2"` as `{ K: "V", K2: "V2" }`; throws naming the option for a word without `=`. */
export function envAssignments(text, option) {
  const env = {};
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const eq = word.indexOf("=");
    if (eq <= 0) throw new Error(`${option}: "${word}" is not K=V (give environment variables as "K=V K2=V2")`);
    env[word.slice(0, eq)] = word.slice(eq + 1);
  }
  return env;
}
