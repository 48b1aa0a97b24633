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
