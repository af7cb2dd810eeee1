// Names the compiled model keeps for as long as a config serves (cluster names, endpoint
// addresses, domains), built as one flat string. A template literal gives V8 a tree of
// concatenations instead (a 32-byte cons node per `+`, each holding its parts), and the tree stays
// a tree in a model nobody reads often enough to flatten: 1,000 services left ~42,000 such nodes
// in the sidecar (bench/proxy/README.md, "Idle memory"). Array.prototype.join writes the
// characters into one new string. Only for compile time: it is slower than a template literal.

/** `parts` concatenated, as one flat string: equal to the template literal of the same parts. */
export function flatConcat(...parts: readonly (string | number)[]): string {
  return parts.join("");
}
