// The build of the browser client (`npm run build`, `make client`): every page the server
// serves, minified, with hashed file names, into ../server/static/ (package data of the
// Python package `server`, so the wheel carries it). The server serves the build as it is
// (server/http/static_files.py); `client_dev` serves these sources instead, unbuilt.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));

/** The pages, by the name the server asks for (server/http/routes.py serve_page). */
const PAGES = ['index', 'console', 'archive', 'replay', 'gallery'];
const OUT_DIR = here('../server/static');

/**
 * The sources name their files as the server serves them unbuilt (`/app/style.css`) and
 * leave a placeholder for the import map the server inserts then. For the build the
 * files are named from the project root, and there is no import map: Vite resolves the
 * npm packages itself, and the pages keep no inline script (the CSP has no hash for one).
 */
function sourcePaths() {
  return {
    name: 'hiroba-source-paths',
    transformIndexHtml: {
      order: 'pre',
      handler: (html) => html.replace(/(src|href)="\/app\//g, '$1="/').replace(/\s*<!-- hiroba:importmap -->/, ''),
    },
  };
}

/**
 * compat.js (issue 20) is a classic script, not a module: Vite leaves such scripts as they
 * are, so this plugin emits it as a hashed asset of its own and points the pages at it
 * (`/app/compat.js` in the sources, as dev mode serves it; `/compat.js` once sourcePaths
 * has rewritten the prefix).
 */
function compatScript() {
  const source = readFileSync(here('compat.js'), 'utf8');
  const hash = createHash('sha256').update(source).digest('base64url').slice(0, 8);
  const fileName = `assets/compat-${hash}.js`;
  return {
    name: 'hiroba-compat-script',
    transformIndexHtml: {
      order: 'pre',
      handler: (html) => html.replace('<script src="/compat.js"></script>', `<script src="/app/${fileName}"></script>`),
    },
    generateBundle() {
      this.emitFile({ type: 'asset', fileName, source });
    },
  };
}

export default defineConfig({
  root: here('.'),
  // Served under /app/ as in dev mode: one prefix for the server's static route.
  base: '/app/',
  publicDir: false,
  plugins: [sourcePaths(), compatScript()],
  build: {
    outDir: OUT_DIR,
    emptyOutDir: true,
    // Every emitted file but the pages lives here, named with its content hash: the server
    // serves this folder as immutable.
    assetsDir: 'assets',
    // Nothing inlined as data: URLs: the catalogues are fetched (connect-src 'self' refuses
    // data:), and the WASM must stay a file of its own, byte for byte.
    assetsInlineLimit: 0,
    // Browsers without <link rel=modulepreload> load the chunks when imported.
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
    rolldownOptions: {
      input: Object.fromEntries(PAGES.map((p) => [p, here(`${p}.html`)])),
    },
  },
  worker: {
    // The tracking worker is a module worker that imports tasks-vision lazily.
    format: 'es',
  },
});
