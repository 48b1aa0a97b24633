import { test, expect, Page } from '@playwright/test';
import { apiToken, createKey, signUp, uniqueEmail, waitForHydration } from './helpers';

/** Answers every dialog the page opens from now on; returns their messages. */
function answerDialogs(page: Page, answer: 'accept' | 'dismiss'): string[] {
  const messages: string[] = [];
  page.on('dialog', (dialog) => {
    messages.push(dialog.message());
    void (answer === 'accept' ? dialog.accept() : dialog.dismiss());
  });
  return messages;
}

/** Closes the reveal panel without copying, confirming the question it asks. */
async function closeReveal(page: Page) {
  page.removeAllListeners('dialog');
  answerDialogs(page, 'accept');
  await page.getByTestId('reveal-panel').getByRole('button', { name: /close/ }).click();
  page.removeAllListeners('dialog');
  await expect(page.getByTestId('reveal-panel')).toHaveCount(0);
}

test('revoking asks first, naming the instance, and the key stays listed as revoked', async ({ page, request }) => {
  await signUp(page, uniqueEmail('owner'), 'Acme');
  const key = await createKey(page, 'Build Server');
  await closeReveal(page);
  const row = page.locator('table.keys tr', { hasText: 'Build Server' });
  await expect(row).toContainText('never used');

  // confirm() blocks the click until the dialog is answered, so the answer is
  // registered first.
  const questions = answerDialogs(page, 'dismiss');
  await row.getByRole('button', { name: 'Revoke' }).click();
  expect(questions).toHaveLength(1);
  expect(questions[0]).toContain('Build Server');
  await expect(row).toContainText('never used');

  page.removeAllListeners('dialog');
  answerDialogs(page, 'accept');
  const revoked = page.waitForResponse((response) => response.url().endsWith('/rpc/revoke_license_key'));
  await row.getByRole('button', { name: 'Revoke' }).click();
  expect((await revoked).status()).toBe(200);
  await expect(row.locator('.badge')).toHaveText('revoked');
  await expect(row.getByRole('button', { name: 'Revoke' })).toHaveCount(0);

  const validation = await request.post('/api/v1/licensing/validate', { data: { licenseKey: key } });
  expect(validation.status()).toBe(401);
});

test('rotating reveals a new key once and keeps the old one working for the grace period', async ({ page, request }) => {
  await signUp(page, uniqueEmail('owner'), 'Acme');
  const oldKey = await createKey(page, 'Production');
  await closeReveal(page);

  const questions = answerDialogs(page, 'accept');
  await page.locator('table.keys tr', { hasText: 'Production' }).getByRole('button', { name: 'Rotate' }).click();
  expect(questions[0]).toContain('Rotate the license key for Production');
  const revealed = page.getByTestId('revealed-key');
  await expect(revealed).toBeVisible();
  const newKey = (await revealed.textContent())!.trim();
  expect(newKey).toMatch(/^[0-9a-f]{64}$/);
  expect(newKey).not.toBe(oldKey);
  await closeReveal(page);

  const rows = page.locator('table.keys tbody tr');
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(0)).toContainText(`${newKey.slice(0, 8)}...${newKey.slice(56)}`);
  await expect(rows.nth(0).locator('.badge')).toHaveText('never used');
  await expect(rows.nth(1).locator('.badge')).toContainText('rotating, valid until');

  for (const licenseKey of [oldKey, newKey]) {
    const validation = await request.post('/api/v1/licensing/validate', { data: { licenseKey } });
    expect(validation.status()).toBe(200);
  }
});

test('the list shows which instances are alive, and the Activity page what happened', async ({ page, request }) => {
  const email = uniqueEmail('owner');
  await signUp(page, email, 'Acme');
  const key = await createKey(page, 'Reporting');
  await closeReveal(page);
  await createKey(page, 'Spare');
  await closeReveal(page);

  const validation = await request.post('/api/v1/licensing/validate', {
    data: { licenseKey: key, instanceUrl: 'https://erp.acme.test', metrics: { userCount: 2 } },
  });
  expect(validation.status()).toBe(200);
  expect((await validation.json()).plan).toBe('business');

  await page.reload();
  await waitForHydration(page);
  const alive = page.locator('table.keys tr', { hasText: 'Reporting' });
  await expect(alive).toContainText('https://erp.acme.test');
  await expect(alive.locator('.badge')).toHaveText('active');
  await expect(alive).toContainText('just now');
  await expect(page.locator('table.keys tr', { hasText: 'Spare' }).locator('.badge')).toHaveText('never used');

  await page.getByRole('link', { name: 'Activity' }).click();
  await expect(page).toHaveURL(/\/activity$/);
  const log = page.locator('table.activity');
  await expect(log).toContainText('License key activated by an instance');
  await expect(log).toContainText('License key created');
  await expect(log).toContainText(email);
  // A sign-in is the person's own: on their Account page, not in the organization's log.
  await expect(log).not.toContainText('Signed in');
  expect(await page.content()).not.toContain(key);

  await page.getByRole('link', { name: /Account/ }).click();
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.locator('table.activity')).toContainText('Signed in');
});
