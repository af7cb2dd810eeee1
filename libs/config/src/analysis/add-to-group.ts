// Collecting values in a map of lists, the way analyzers group resources by namespace, host,
// selector or workload before looking for conflicts.

/** Appends `value` to the list under `key`, starting the list when `key` is new; lists keep insertion order. */
export function addToGroup<K, V>(groups: Map<K, V[]>, key: K, value: V): void {
  const list = groups.get(key);
  if (list) list.push(value);
  else groups.set(key, [value]);
}
