// `npm pack` of this package installs into an empty project, and its entry points resolve:
// `vroom-sdk` (ESM and CJS) and `vroom-sdk/bundle` (the self-contained browser module).
// Needs `npm run build` first; uses the npm cache (`--prefer-offline`).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const PKG_DIR = path.resolve(import.meta.dirname, '..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'vroom-sdk-pack-'));
const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

describe('npm pack', () => {
  it('installs into an empty project and its exports resolve to working files', () => {
    expect(existsSync(path.join(PKG_DIR, 'dist', 'vroom-sdk.bundle.mjs')), 'run `npm run build` first').toBe(true);
    const packed = JSON.parse(npm(['pack', '--json', '--pack-destination', tmp], PKG_DIR)) as { filename: string; files: { path: string }[] }[];
    const files = packed[0].files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'dist/index.mjs', 'dist/index.cjs', 'dist/index.d.ts', 'dist/vroom-sdk.bundle.mjs']));
    expect(files.some((f) => f.startsWith('src/') || f.startsWith('test/'))).toBe(false);

    const app = path.join(tmp, 'app');
    execFileSync('mkdir', ['-p', app]);
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'empty-app', version: '1.0.0', private: true, type: 'module' }));
    npm(['install', path.join(tmp, packed[0].filename), '--prefer-offline', '--no-audit', '--no-fund'], app);

    const script = `
      import { createRequire } from 'node:module';
      import { fileURLToPath } from 'node:url';
      import { statSync } from 'node:fs';
      const esm = await import('vroom-sdk');
      const cjs = createRequire(import.meta.url)('vroom-sdk');
      const bundle = fileURLToPath(import.meta.resolve('vroom-sdk/bundle'));
      console.log(JSON.stringify({
        esm: [typeof esm.FlipFlopCloud.init, typeof esm.FFCRtcVideoRoom, esm.FFCVideoRoomsSortOption.CREATED_AT_ASC],
        cjs: [typeof cjs.FlipFlopCloudClient, cjs.FFCTrack.Kind.Video],
        bundle, size: statSync(bundle).size,
      }));`;
    const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: app, encoding: 'utf8' })) as {
      esm: string[];
      cjs: string[];
      bundle: string;
      size: number;
    };
    expect(out.esm).toEqual(['function', 'function', 'CREATED_AT_ASC']);
    expect(out.cjs).toEqual(['function', 'video']);
    expect(out.bundle).toBe(path.join(app, 'node_modules', 'vroom-sdk', 'dist', 'vroom-sdk.bundle.mjs'));
    expect(statSync(out.bundle).size).toBe(out.size);
    // Self-contained: no bare import left for a browser to resolve.
    const bundleText = readFileSync(out.bundle, 'utf8');
    expect(bundleText).not.toMatch(/from\s*["']livekit-client["']|import\(["']livekit-client["']\)/);
    // The installed package depends on a livekit-client 2.x.
    const lk = JSON.parse(readFileSync(path.join(app, 'node_modules', 'livekit-client', 'package.json'), 'utf8')) as { version: string };
    expect(lk.version).toMatch(/^2\./);
  });
});
