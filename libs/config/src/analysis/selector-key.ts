// A label selector as a map key, so that selectors with the same labels (in any order) fall into
// one group.

/** `app=reviews,version=v1`: the labels sorted by key, so equal selectors give equal keys. */
export function selectorKey(labels: Readonly<Record<string, string>>): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(",");
}
