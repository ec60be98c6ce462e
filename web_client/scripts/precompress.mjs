// After `vite build`: writes a Brotli (.br) and a gzip (.gz) sibling of every compressible
// file of the build, once, at the highest levels. The server answers with a sibling when
// the browser accepts its encoding (aiohttp's FileResponse picks it), so no request ever
// costs compression CPU (the 13 MB tasks-vision WASM took about a second per process).
// A sibling that would not be smaller is not written.
//
// Brotli at level 11 takes ~50 s for the WASM alone (level 9: 3 s, but 14 % larger, for every
// phone that turns tracking on), so results are kept in node_modules/.cache/ by content
// hash: a rebuild compresses only the files that changed.
//
//   node scripts/precompress.mjs [folder]        (default: ../server/static)
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';

const COMPRESSIBLE = /\.(html|js|mjs|css|json|svg|wasm|webmanifest)$/;
const brotli = promisify(brotliCompress);
const gz = promisify(gzip);

async function* files(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else if (entry.isFile() && COMPRESSIBLE.test(entry.name)) yield path;
  }
}

const CACHE = fileURLToPath(new URL('../node_modules/.cache/hiroba-precompress/', import.meta.url));

/** The .br and .gz of `body`, from the cache when this content was compressed before. */
async function siblings(body, text) {
  const key = createHash('sha256').update(body).digest('hex');
  const cached = join(CACHE, key);
  try {
    return await Promise.all([readFile(cached + '.br'), readFile(cached + '.gz')]);
  } catch {
    /* not yet */
  }
  const made = await Promise.all([
    brotli(body, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
        [constants.BROTLI_PARAM_MODE]: text ? constants.BROTLI_MODE_TEXT : constants.BROTLI_MODE_GENERIC,
        [constants.BROTLI_PARAM_SIZE_HINT]: body.length,
      },
    }),
    gz(body, { level: constants.Z_BEST_COMPRESSION }),
  ]);
  await mkdir(CACHE, { recursive: true });
  await Promise.all([writeFile(cached + '.br', made[0]), writeFile(cached + '.gz', made[1])]);
  return made;
}

async function compress(path) {
  const body = await readFile(path);
  const [br, gzipped] = await siblings(body, !path.endsWith('.wasm'));
  let written = 0;
  for (const [suffix, data] of [['.br', br], ['.gz', gzipped]]) {
    if (data.length < body.length) {
      await writeFile(path + suffix, data);
      written++;
    }
  }
  return { body: body.length, br: br.length, written };
}

const root = process.argv[2] ?? fileURLToPath(new URL('../../server/static', import.meta.url));
const paths = [];
for await (const path of files(root)) paths.push(path);
if (!paths.length) {
  console.error(`precompress: no files in ${root}: run vite build first`);
  process.exit(1);
}
// zlib runs on libuv's thread pool: all at once keeps both cores busy.
const results = await Promise.all(paths.map(compress));
const before = results.reduce((n, r) => n + r.body, 0);
const after = results.reduce((n, r) => n + Math.min(r.br, r.body), 0);
const written = results.reduce((n, r) => n + r.written, 0);
console.log(`precompress: ${paths.length} files, ${written} .br/.gz written; ` +
  `${(before / 1e6).toFixed(2)} MB -> ${(after / 1e6).toFixed(2)} MB as Brotli`);
