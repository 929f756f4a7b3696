// The bench's stand-in apps: the demo app (a Python web server with install and migrate steps) with as many
// extra no-op steps as a figure needs, each with its own port, staging folder and root.
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const os = require('node:os');
const { stringify } = require('yaml');
const { dist } = require('./lib');

class Workspace {
  constructor() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runbook-bench-'));
    this.manifestsDir = path.join(this.dir, 'apps');
    fs.mkdirSync(this.manifestsDir);
    this.apps = [];
  }

  /**
   * Adds an app: `extraSteps` no-op install steps (`true`; `once: true` with `once`) after the demo app's own
   * install and migrate; `manifest` overrides parts of the demo manifest.
   */
  async addApp(name, { extraSteps = 0, once = false, host = 'bench-host', manifest = {}, port } = {}) {
    const { demoManifest, stageDemoApp } = dist('devserver/demo-app.js');
    const { freePort } = dist('devserver/ports.js');
    const app = {
      name,
      host,
      port: port ?? (await freePort()),
      root: path.join(this.dir, 'srv', name),
      staging: path.join(this.dir, 'staging', name),
    };
    const base = demoManifest({ ...app, app: name, within: '10s' });
    const noop = Array.from({ length: extraSteps }, (_, i) => ({
      name: `no-op ${i + 1}`,
      run: ['true'],
      ...(once ? { once: true } : {}),
    }));
    const document = {
      ...base,
      steps: { ...base.steps, install: [...base.steps.install, ...noop] },
      ...manifest,
    };
    fs.writeFileSync(path.join(this.manifestsDir, `${name}.yaml`), stringify(document));
    app.stage = (version, behavior = 'ok') => stageDemoApp(app.staging, version, { behavior });
    app.url = `http://127.0.0.1:${app.port}`;
    this.apps.push(app);
    return app;
  }

  async cleanup() {
    const { stopAppProcesses } = dist('devserver/demo-app.js');
    for (const app of this.apps) await stopAppProcesses(app.root, 'SIGKILL');
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

module.exports = { Workspace };
