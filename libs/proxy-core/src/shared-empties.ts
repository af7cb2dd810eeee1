// Empty values the compiled model shares instead of making one per cluster, route or endpoint:
// thousands of services need no copies, and nothing mutates the model.

/** Labels of a destination or cluster without a subset. */
export const noLabels: Readonly<Record<string, string>> = Object.freeze({});

/** An empty list of anything. */
export const none: readonly never[] = Object.freeze([]);
