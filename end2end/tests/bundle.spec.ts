import { test, expect, Page } from '@playwright/test';
import { createKey, signIn, signUp, uniqueEmail, waitForHydration } from './helpers';

/** The names of the wasm files the page has downloaded so far. */
async function wasmDownloaded(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    performance.getEntriesByType('resource')
      .map((entry) => new URL(entry.name).pathname)
      .filter((path) => path.endsWith('.wasm')));
}

test('a page downloads its own code, not every page\'s', async ({ page }) => {
  const email = uniqueEmail('bundle');
  await signUp(page, email, 'Acme');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/sign-in$/);

  await page.goto('/sign-in');
  await waitForHydration(page);
  const onSignIn = await wasmDownloaded(page);
  expect(onSignIn.some((path) => path.includes('sign_in_view'))).toBe(true);
  expect(onSignIn.filter((path) => path.includes('license_keys_view'))).toEqual([]);

  // Signing in goes to the keys page, whose code arrives only now and hydrates.
  await signIn(page, email);
  await expect(page).toHaveURL(/\/keys$/);
  await expect.poll(async () => (await wasmDownloaded(page))
    .some((path) => path.includes('license_keys_view'))).toBe(true);
  // Its code runs: copying (JavaScript only) works.
  await createKey(page, 'Split');
  const panel = page.getByTestId('reveal-panel');
  await panel.getByRole('button', { name: 'Copy' }).click();
  await expect(panel.getByRole('status')).toHaveText('The key is on your clipboard.');
});

test('the browser downloads the bundle compressed', async ({ page, request }) => {
  await page.goto('/sign-in');
  await waitForHydration(page);
  const wasm = await page.evaluate(() =>
    (performance.getEntriesByType('resource') as PerformanceResourceTiming[])
      .filter((entry) => new URL(entry.name).pathname.endsWith('.wasm'))
      .map((entry) => ({ sent: entry.encodedBodySize, size: entry.decodedBodySize })));
  expect(wasm.length).toBeGreaterThan(0);
  const total = (key: 'sent' | 'size') => wasm.reduce((sum, file) => sum + file[key], 0);
  expect(total('sent')).toBeLessThan(total('size') * 0.6);

  // Each encoding is its own representation for caches; a client that takes none
  // gets the file as it is.
  const compressed = await request.get('/pkg/storno-licensing.wasm', { headers: { 'Accept-Encoding': 'gzip' } });
  expect(compressed.headers()['content-encoding']).toBe('gzip');
  expect(compressed.headers()['vary']).toContain('accept-encoding');
  const plain = await request.get('/pkg/storno-licensing.wasm', { headers: { 'Accept-Encoding': 'identity' } });
  expect(plain.headers()['content-encoding']).toBeUndefined();
  expect((await plain.body()).subarray(0, 4)).toEqual(Buffer.from([0, 0x61, 0x73, 0x6d]));
});

/** The files a page's HTML asks the browser to fetch early. */
function preloadsIn(html: string): string[] {
  return [...html.matchAll(/<link rel="(?:preload|modulepreload)" href="([^"]+)"/g)].map((link) => link[1]);
}

test('each page names its own code for the browser to fetch early, and the browser uses it', async ({ page, request }) => {
  const manifest: Record<string, string[]> = await (await request.get('/pkg/__wasm_split_manifest.json')).json();
  const filesOf = (route: string) => {
    const key = Object.keys(manifest).find((name) => name.startsWith(`__${route}_view_`));
    expect(key, `${route} in the manifest`).toBeDefined();
    return manifest[key!].map((file) => `/pkg/${file}.wasm`);
  };
  const expectPreloads = (path: string, html: string, route: string, other: string) => {
    const links = preloadsIn(html);
    expect(new Set(links).size, `${path} names each file once`).toBe(links.length);
    for (const file of filesOf(route)) expect(links, path).toContain(file);
    expect(links.filter((link) => link.includes(`split___${other}_view`)), path).toEqual([]);
    expect(links.filter((link) => link.includes('__wasm_split.')), path).toHaveLength(1);
  };

  expectPreloads('/sign-in', await (await request.get('/sign-in')).text(), 'sign_in', 'license_keys');
  await signUp(page, uniqueEmail('preload'), 'Acme');
  for (const [path, route] of [['/keys', 'license_keys'], ['/organization', 'organization']]) {
    expectPreloads(path, await (await page.request.get(path)).text(), route, 'sign_in');
  }

  // A page loaded afresh fetches each of its files once: the preload is what the
  // code loader uses, not a second download.
  await page.goto('/keys');
  await waitForHydration(page);
  const fetched = await page.evaluate(() =>
    performance.getEntriesByType('resource')
      .map((entry) => new URL(entry.name).pathname)
      .filter((path) => path.endsWith('.wasm')));
  for (const file of filesOf('license_keys')) {
    expect(fetched.filter((path) => path === file), file).toHaveLength(1);
  }
});
