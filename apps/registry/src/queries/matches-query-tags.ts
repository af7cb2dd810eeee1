// A prepared query's tag filter (Consul's prepared_query_endpoint.go tagFilter): an instance must
// have every listed tag and none of those written "!tag", compared without case.

/** Whether a service with `serviceTags` passes the query's `queryTags`. */
export function matchesQueryTags(serviceTags: readonly string[], queryTags: readonly string[]): boolean {
  if (queryTags.length === 0) return true;
  const has = new Set(serviceTags.map((tag) => tag.toLowerCase()));
  for (const raw of queryTags) {
    const tag = raw.toLowerCase();
    if (tag.startsWith("!") ? has.has(tag.slice(1)) : !has.has(tag)) return false;
  }
  return true;
}
