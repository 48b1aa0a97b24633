import { test, expect } from '@playwright/test';
import { execFileSync } from 'child_process';
import * as path from 'path';
import { apiToken, signUp, uniqueEmail, waitForHydration } from './helpers';

// The operator's command line, on the suite's database (as playwright.config.ts runs it).
const root = path.resolve(__dirname, '..', '..');
const server = process.env.E2E_SERVER ?? path.join(root, 'target', 'release', 'storno-licensing');
const database = `sqlite://${path.join(root, 'target', 'e2e-data')}/e2e.db`;

function setPlan(organizationId: string, plan: string) {
  execFileSync(server, ['org', 'set-plan', organizationId, plan], {
    env: { ...process.env, DATABASE_URL: database, RUST_LOG: 'warn' },
  });
}

test('a community owner is told keys will be refused and upgrades through a link naming the organization', async ({ page, request }) => {
  // Leaving the page while the new key is not yet copied asks first: go on.
  page.on('dialog', (dialog) => dialog.accept());
  const email = uniqueEmail('community');
  await signUp(page, email, 'Acme');
  const token = await apiToken(request, email);
  const organizations = await (await request.get('/api/v1/organizations', {
    headers: { Authorization: `Bearer ${token}` },
  })).json();
  const organizationId: string = organizations.organizations[0].id;
  setPlan(organizationId, 'community');

  await page.goto('/keys');
  await waitForHydration(page);
  const notice = page.getByTestId('self-hosting-notice');
  await expect(notice).toContainText('does not include self-hosting');
  // The one-time panel says it again beside the new key.
  await page.getByLabel('Instance name').fill('erp');
  await page.getByRole('button', { name: 'Create license key' }).click();
  await expect(page.getByTestId('reveal-panel').getByTestId('self-hosting-notice')).toBeVisible();

  await notice.first().getByRole('link', { name: 'See the plans and upgrade' }).click();
  await expect(page).toHaveURL(/\/settings\/billing$/);
  const upgrade = page.getByRole('link', { name: 'Upgrade to business' });
  const href = await upgrade.getAttribute('href');
  const link = new URL(href!);
  expect(link.origin + link.pathname).toBe('https://buy.stripe.com/test_e2e_business');
  expect(link.searchParams.get('client_reference_id')).toBe(organizationId);
  expect(link.searchParams.get('prefilled_email')).toBe(email);
});
