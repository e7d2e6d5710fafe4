// Builds dist/: ESM and CJS builds of src/ (livekit-client left as an import), one minified
// self-contained browser ES module with livekit-client inside, and the .d.ts files (tsc).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { version } = require('../package.json');

rmSync('dist', { recursive: true, force: true });
const common = {
  entryPoints: ['src/index.ts'],
  bundle: true,
  target: 'es2020',
  sourcemap: true,
  define: { __VROOM_SDK_VERSION__: JSON.stringify(version) },
  logLevel: 'warning',
};
await Promise.all([
  build({ ...common, format: 'esm', platform: 'neutral', external: ['livekit-client'], outfile: 'dist/index.mjs' }),
  build({ ...common, format: 'cjs', platform: 'neutral', external: ['livekit-client'], outfile: 'dist/index.cjs' }),
  build({ ...common, format: 'esm', platform: 'browser', minify: true, legalComments: 'eof', outfile: 'dist/vroom-sdk.bundle.mjs' }),
]);
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
console.log('built dist/index.mjs, dist/index.cjs, dist/vroom-sdk.bundle.mjs, dist/*.d.ts');
