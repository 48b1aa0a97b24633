import { test, expect } from '@playwright/test';
import { PASSWORD, uniqueEmail } from './helpers';

// The browser posts the forms itself and follows the server's redirects.
test.use({ javaScriptEnabled: false });

test('without JavaScript an owner signs up, creates a key and sees it once', async ({ page }) => {
  await page.goto('/sign-up');
  await page.getByLabel('Email').fill(uniqueEmail('plain'));
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByLabel('Organization name').fill('Plain HTML');
  await page.getByRole('button', { name: 'Create account' }).click();

  await page.goto('/keys');
  await page.getByLabel(/Instance name/).fill('No Script');
  await page.getByRole('button', { name: 'Create license key' }).click();

  // Leptos redirects a plain form post back to the page it came from.
  await expect(page).toHaveURL(/\/keys\??$/);
  const panel = page.getByTestId('reveal-panel');
  await expect(panel).toContainText('shown only once');
  await expect(panel).toContainText('No Script');
  const key = (await page.getByTestId('revealed-key').textContent())!.trim();
  expect(key).toMatch(/^[0-9a-f]{64}$/);
  const masked = `${key.slice(0, 8)}...${key.slice(56)}`;
  await expect(page.locator('table.keys')).toContainText(masked);

  // Shown once: the next view of the page has only the masked key.
  await page.reload();
  await expect(page.getByTestId('reveal-panel')).toHaveCount(0);
  expect(await page.content()).not.toContain(key);
  await expect(page.locator('table.keys')).toContainText(masked);
});
