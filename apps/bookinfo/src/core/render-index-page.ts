// Renders productpage's `/` (Istio's index.html): what the demo is, its services, and links to
// the product page as a normal and as a test user.
import { escapeHtml } from "./escape-html.ts";

/** The services the index page lists, with the URL each is reached at from productpage. */
export function renderIndexPage(services: readonly { readonly name: string; readonly endpoint: string }[]): string {
  const rows = services.map((s) => `      <tr><td>${escapeHtml(s.name)}</td><td>${escapeHtml(s.endpoint)}</td></tr>`).join("\n");
  return `<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>Simple Bookstore App</title>
</head>
<body>
<div class="container">
  <h3>Hello! This is a simple bookstore application consisting of three services as shown below</h3>
  <table class="table table-condensed table-bordered table-hover">
    <tr><th>name</th><th>endpoint</th></tr>
${rows}
  </table>
  <p><h4>Click on one of the links below to auto generate a request to the backend as a real user or a tester</h4></p>
  <p><a href="productpage?u=normal">Normal user</a></p>
  <p><a href="productpage?u=test">Test user</a></p>
</div>
</body>
</html>
`;
}
