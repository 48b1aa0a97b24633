import { test, expect } from '@playwright/test';
import { createKey, signUp, uniqueEmail } from './helpers';

test('an owner downloads an offline license once and sees it listed beside its key', async ({ page, request }) => {
  await signUp(page, uniqueEmail('owner'), 'Acme');
  await createKey(page, 'Air-gapped');
  await page.getByTestId('reveal-panel').getByRole('button', { name: 'Copy' }).click();
  await page.getByTestId('reveal-panel').getByRole('button', { name: /close/ }).click();

  const row = page.locator('table.keys tr', { hasText: 'Air-gapped' });
  await row.getByRole('button', { name: 'Download offline license' }).click();
  const panel = page.getByTestId('offline-license');
  await expect(panel).toContainText('Offline license for Air-gapped');
  await panel.getByLabel(/Valid for/).fill('90');
  await panel.getByRole('button', { name: 'Create offline license' }).click();

  const jwt = (await panel.getByTestId('offline-jwt').textContent())!.trim();
  expect(jwt).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
  await expect(panel).toContainText('shown only once');
  const download = page.waitForEvent('download');
  await panel.getByRole('link', { name: 'Download offline license' }).click();
  expect((await download).suggestedFilename()).toBe('storno-offline-license.jwt');

  // The license is listed beside its key; the token itself never again.
  await expect(row.getByTestId('offline-licenses')).toContainText('Offline license (business) until');
  await panel.getByRole('button', { name: /close/ }).click();
  await expect(page.getByTestId('offline-license')).toHaveCount(0);
  await page.reload();
  await expect(row.getByTestId('offline-licenses')).toContainText('Offline license (business) until');
  expect(await page.content()).not.toContain(jwt);

  // The public key that verifies it is public.
  const pem = await request.get('/api/v1/licensing/public-key.pem');
  expect(pem.status()).toBe(200);
  expect(await pem.text()).toContain('BEGIN PUBLIC KEY');
});

test('the billing page shows the plan beside the others', async ({ page }) => {
  await signUp(page, uniqueEmail('owner'), 'Acme');
  await page.getByRole('link', { name: 'Billing' }).click();
  await expect(page).toHaveURL(/\/settings\/billing$/);
  await expect(page.getByTestId('current-plan')).toContainText('Your plan: business');
  await expect(page.getByTestId('current-plan')).toContainText('includes self-hosting');
  await expect(page.locator('table.plans th.current')).toContainText('business (yours)');
});
