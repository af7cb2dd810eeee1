// The console's page and stylesheet, kept in code so the built control plane (dist/) serves them
// without copying assets; the app script is web/console-app.ts.

export const consoleHtml = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Meshwork console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/console/console.css">
<script src="/console/vendor/cytoscape.min.js"></script>
<script type="module" src="/console/console-app.js"></script>
</head>
<body>
<header>
  <strong>Meshwork</strong>
  <nav>
    <a href="#/graph">Graph</a>
    <a href="#/services">Services</a>
    <a href="#/proxies">Proxy status</a>
    <a href="#/config">Config</a>
    <a href="#/identities">Identities</a>
    <a href="#/registry">Registry</a>
  </nav>
  <span id="status"></span>
</header>
<main id="main"></main>
</body>
</html>
`;

export const consoleCss = `body { margin: 0; font: 14px/1.4 system-ui, sans-serif; color: #151515; }
header { display: flex; gap: 1.5em; align-items: center; padding: .5em 1em; background: #1b2b3a; color: #fff; }
header a { color: #cfe3f5; margin-right: 1em; text-decoration: none; }
header a.active { color: #fff; border-bottom: 2px solid #73bcf7; }
#status { margin-left: auto; font-size: 12px; color: #cfe3f5; }
main { padding: 1em; }
.toolbar { display: flex; gap: 1em; align-items: center; margin-bottom: .5em; }
#graph { height: 70vh; border: 1px solid #d2d2d2; border-radius: 4px; }
.legend span { margin-right: 1em; }
.dot { display: inline-block; width: .8em; height: .8em; border-radius: 50%; vertical-align: middle; }
.healthy { color: #3e8635; } .degraded { color: #c58c00; } .failing { color: #c9190b; } .idle { color: #6a6e73; }
.SYNCED { color: #3e8635; } .STALE { color: #c58c00; } .NACKED { color: #c9190b; }
table { border-collapse: collapse; margin: .5em 0 1.5em; }
th, td { text-align: left; padding: .25em .75em; border-bottom: 1px solid #e0e0e0; vertical-align: top; }
pre { background: #f5f5f5; padding: .5em; max-height: 24em; overflow: auto; margin: 0; }
.error { color: #c9190b; }
details summary { cursor: pointer; }
.charts { display: flex; flex-wrap: wrap; gap: 1.5em; margin-bottom: 1em; }
.chart text { fill: #151515; font-family: system-ui, sans-serif; }
.columns { display: flex; flex-wrap: wrap; gap: 3em; }
`;
