import { test, expect, Page } from '@playwright/test';
import { createKey, signUp, uniqueEmail, waitForHydration } from './helpers';

/** Nothing on the page is wider than the window: no horizontal scrolling. */
async function expectNoHorizontalScroll(page: Page, path: string) {
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
  }));
  expect(scrollWidth, `${path} is ${scrollWidth} px wide in a ${innerWidth} px window`).toBeLessThanOrEqual(innerWidth);
}

for (const width of [390, 1280]) {
  test(`every page fits a ${width} px window and each key's actions are within reach`, async ({ page, request }) => {
    await page.setViewportSize({ width, height: 900 });
    for (const path of ['/sign-in', '/sign-up']) {
      await page.goto(path);
      await expectNoHorizontalScroll(page, path);
    }
    await signUp(page, uniqueEmail('layout'), 'A rather long organization name, Ltd.');
    const key = await createKey(page, 'Production Server in Frankfurt am Main');
    const panel = page.getByTestId('reveal-panel');
    await panel.getByRole('button', { name: 'Copy' }).click();
    await panel.getByRole('button', { name: /close/ }).click();
    // A key with a day of usage, so its page has charts, a table and a timeline.
    const validated = await request.post('/api/v1/licensing/validate', {
      data: { licenseKey: key, instanceUrl: 'https://erp.frankfurt.example.com', metrics: { userCount: 3 } },
    });
    expect(validated.status()).toBe(200);
    const keyPage = (await page.locator('table.keys a.key-link').first().getAttribute('href'))!;

    for (const path of ['/keys', keyPage, '/organization', '/activity', '/account', '/settings/billing']) {
      await page.goto(path);
      await waitForHydration(page);
      await expectNoHorizontalScroll(page, path);
    }

    await page.goto('/keys');
    await waitForHydration(page);
    const card = page.locator('section.card', { has: page.locator('table.keys') });
    const cardBox = (await card.boundingBox())!;
    const row = page.locator('table.keys tbody tr').first();
    for (const name of ['Download offline license', 'Rotate', 'Revoke']) {
      const box = (await row.getByRole('button', { name }).boundingBox())!;
      expect(box.x, `${name} starts inside the card`).toBeGreaterThanOrEqual(cardBox.x);
      expect(box.x + box.width, `${name} ends inside the card`).toBeLessThanOrEqual(cardBox.x + cardBox.width);
    }
  });
}

test('the favicon is served', async ({ request }) => {
  const icon = await request.get('/favicon.svg');
  expect(icon.status()).toBe(200);
  expect(icon.headers()['content-type']).toContain('image/svg+xml');
});

test('leaving the page while a new key is not yet copied asks first', async ({ page }) => {
  await signUp(page, uniqueEmail('owner'), 'Acme');
  await createKey(page, 'Staging');

  // A link inside the app: asked, and staying keeps the key on screen.
  const questions: string[] = [];
  page.once('dialog', (dialog) => {
    questions.push(dialog.message());
    void dialog.dismiss();
  });
  await page.getByRole('link', { name: 'Organization' }).click();
  expect(questions[0]).toContain('never be shown again');
  await expect(page).toHaveURL(/\/keys$/);
  await expect(page.getByTestId('reveal-panel')).toBeVisible();

  // Closing the tab (or reloading): the browser's own question, beforeunload.
  page.once('dialog', (dialog) => {
    questions.push(dialog.type());
    void dialog.dismiss();
  });
  await page.close({ runBeforeUnload: true });
  await expect.poll(() => questions.length).toBe(2);
  expect(questions[1]).toBe('beforeunload');
  expect(page.isClosed()).toBe(false);

  // Once copied, leaving asks nothing.
  await page.getByTestId('reveal-panel').getByRole('button', { name: 'Copy' }).click();
  await expect(page.getByTestId('reveal-panel').getByRole('status')).toHaveText('The key is on your clipboard.');
  await page.getByRole('link', { name: 'Organization' }).click();
  await expect(page).toHaveURL(/\/organization$/);
  expect(questions).toHaveLength(2);
});
