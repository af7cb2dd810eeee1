// An index over the path guards of a list of rules (RuleMatcher.pathGuard): one walk of the request
// path through a character trie marks every rule whose guard is a prefix of the path, so a list of
// 100 path-scoped rules costs one walk plus an array read per rule instead of 100 prefix tests.
import type { RequestView, RuleMatcher } from "./compile-rule.ts";

interface TrieNode {
  readonly next: Map<number, TrieNode>;
  /** Positions (in the indexed list) of the rules whose guard ends here. */
  readonly rules: number[];
}

export class PathGuardIndex {
  private readonly root: TrieNode = { next: new Map(), rules: [] };
  private readonly marks: Uint32Array;
  private mark = 0;
  private markedGeneration = -1;
  /** Whether any rule has a guard (else the index does nothing). */
  readonly isUseful: boolean;

  /** `rules[i]` undefined or without pathGuard: never marked; callers test those rules in full. */
  constructor(rules: readonly (RuleMatcher | undefined)[]) {
    this.marks = new Uint32Array(rules.length);
    let useful = false;
    rules.forEach((rule, position) => {
      for (const guard of rule?.pathGuard ?? []) {
        useful = true;
        let node = this.root;
        for (let i = 0; i < guard.length; i++) {
          const c = guard.charCodeAt(i);
          let child = node.next.get(c);
          if (!child) {
            child = { next: new Map(), rules: [] };
            node.next.set(c, child);
          }
          node = child;
        }
        if (!node.rules.includes(position)) node.rules.push(position);
      }
    });
    this.isUseful = useful;
  }

  /** Whether the rule at `position` has a guard that is a prefix of the request's path. */
  passes(position: number, view: RequestView): boolean {
    if (this.markedGeneration !== view.generation) this.markPath(view);
    return this.marks[position] === this.mark;
  }

  private markPath(view: RequestView): void {
    this.markedGeneration = view.generation;
    this.mark = (this.mark + 1) >>> 0;
    if (this.mark === 0) {
      this.marks.fill(0);
      this.mark = 1;
    }
    const end = view.pathEnd();
    if (end < 0) return;
    const path = view.pathString();
    let node: TrieNode | undefined = this.root;
    for (let i = 0; ; i++) {
      const here = node.rules;
      for (let r = 0; r < here.length; r++) this.marks[here[r] as number] = this.mark;
      if (i >= end) return;
      node = node.next.get(path.charCodeAt(i));
      if (node === undefined) return;
    }
  }
}
