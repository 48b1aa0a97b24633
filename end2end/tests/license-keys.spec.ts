import { test, expect } from '@playwright/test';
import {
  apiRegister, apiToken, createKey, signIn, signUp, uniqueEmail, waitForHydration,
} from './helpers';

test('signed-out visitors are sent to sign in', async ({ page }) => {
  await page.goto('/keys');
  await expect(page).toHaveURL(/\/sign-in$/);
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
});

test('an owner creates a key, copies it once, and afterwards sees it only masked', async ({ page }) => {
  await signUp(page, uniqueEmail('owner'), 'Acme');

  const key = await createKey(page, 'Production Server');
  expect(key).toMatch(/^[0-9a-f]{64}$/);
  const panel = page.getByTestId('reveal-panel');
  await expect(panel).toContainText('shown only once');
  await expect(panel).toContainText('Production Server');

  await panel.getByRole('button', { name: 'Copy' }).click();
  await expect(panel.getByRole('status')).toHaveText('The key is on your clipboard.');
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(key);

  const masked = `${key.slice(0, 8)}...${key.slice(56)}`;
  await expect(page.locator('table.keys')).toContainText(masked);

  // Copied, so closing needs no confirmation.
  await panel.getByRole('button', { name: /close/ }).click();
  await expect(page.getByTestId('reveal-panel')).toHaveCount(0);
  await expect(page.locator('body')).not.toContainText(key);

  await page.reload();
  await waitForHydration(page);
  await expect(page.locator('table.keys')).toContainText(masked);
  expect(await page.content()).not.toContain(key);
  await expect(page.getByTestId('reveal-panel')).toHaveCount(0);
});

test('closing the panel without copying asks first', async ({ page }) => {
  await signUp(page, uniqueEmail('owner'), 'Acme');
  await createKey(page, 'Staging');
  const panel = page.getByTestId('reveal-panel');

  // confirm() blocks the click until the dialog is answered: answer first.
  const questions: string[] = [];
  page.once('dialog', (dialog) => {
    questions.push(dialog.message());
    void dialog.dismiss();
  });
  await panel.getByRole('button', { name: /close/ }).click();
  expect(questions).toHaveLength(1);
  expect(questions[0]).toContain('never be shown again');
  await expect(panel).toBeVisible();

  page.once('dialog', (dialog) => void dialog.accept());
  await panel.getByRole('button', { name: /close/ }).click();
  await expect(page.getByTestId('reveal-panel')).toHaveCount(0);
});

test('the header moves between pages without reloading and marks the page shown', async ({ page }) => {
  await signUp(page, uniqueEmail('owner'), 'Acme');
  // Gone if a click loaded a new document instead of the router showing the page.
  await page.evaluate(() => { (window as unknown as { sameDocument: boolean }).sameDocument = true; });
  const nav = page.getByRole('navigation', { name: 'Main' });
  await expect(nav.getByRole('link', { name: 'License keys' })).toHaveAttribute('aria-current', 'page');

  await nav.getByRole('link', { name: 'Organization' }).click();
  await expect(page).toHaveURL(/\/organization$/);
  await expect(nav.getByRole('link', { name: 'Organization' })).toHaveAttribute('aria-current', 'page');
  await expect(nav.getByRole('link', { name: 'License keys' })).not.toHaveAttribute('aria-current');

  await nav.getByRole('link', { name: 'License keys' }).click();
  await expect(page.getByRole('heading', { name: 'License keys', level: 1 })).toBeVisible();
  await expect(nav.getByRole('link', { name: 'License keys' })).toHaveAttribute('aria-current', 'page');
  expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
});

test('an invited member accepts on the Account page and sees why they cannot manage keys', async ({ page, request }) => {
  const ownerEmail = uniqueEmail('owner');
  const memberEmail = uniqueEmail('member');
  const owner = await apiRegister(request, ownerEmail, 'Acme Corp');
  await apiRegister(request, memberEmail, 'Member Solo');
  const invited = await request.post(`/api/v1/organizations/${owner.organization.id}/invitations`, {
    headers: { Authorization: `Bearer ${owner.token}` },
    data: { email: memberEmail, role: 'member' },
  });
  expect(invited.status()).toBe(201);

  await signIn(page, memberEmail);
  await expect(page.getByTitle('Invitations waiting for you')).toHaveText('1');
  await page.getByRole('link', { name: /Account/ }).click();
  const invitation = page.locator('li', { hasText: 'Acme Corp' });
  await expect(invitation).toContainText('invites you as member');
  await invitation.getByRole('button', { name: 'Accept' }).click();
  await expect(page.getByText('You joined the organization')).toBeVisible();
  await expect(page.getByLabel('Organization', { exact: true })).toHaveValue(owner.organization.id);

  await page.getByRole('link', { name: 'License keys' }).click();

  const notice = page.getByTestId('not-owner');
  await expect(notice).toContainText('Only the owner can manage license keys');
  await expect(notice).toContainText('Acme Corp');
  await expect(page.getByRole('button', { name: 'Create license key' })).toHaveCount(0);
});

test('a cross-site POST to the server function is refused', async ({ page }) => {
  await signUp(page, uniqueEmail('owner'), 'Acme');
  // page.request carries the signed-in session cookie, like a forged form would.
  const forged = await page.request.post('/rpc/create_license_key', {
    headers: { Origin: 'https://evil.example' },
    form: { instance_name: 'Forged' },
  });
  expect(forged.status()).toBe(403);
  expect((await forged.json()).code).toBe('cross_site_request');

  await page.reload();
  await waitForHydration(page);
  await expect(page.getByText('No license keys yet.')).toBeVisible();
});

test('the API and the page show the same keys', async ({ page, request }) => {
  const email = uniqueEmail('owner');
  await signUp(page, email, 'Acme');
  const token = await apiToken(request, email);
  const created = await request.post('/api/v1/licensing/keys', {
    headers: { Authorization: `Bearer ${token}` },
    data: { instanceName: 'From the API' },
  });
  expect(created.status()).toBe(201);
  const key: string = (await created.json()).licenseKey;

  await page.reload();
  await waitForHydration(page);
  const row = page.locator('table.keys tr', { hasText: 'From the API' });
  await expect(row).toContainText(`${key.slice(0, 8)}...${key.slice(56)}`);
});

test('the header follows what a page changes: a new organization, a declined invitation', async ({ page, request }) => {
  const email = uniqueEmail('header');
  const other = await apiRegister(request, uniqueEmail('inviter'), 'Inviting Ltd');
  await signUp(page, email, 'First Org');
  const invited = await request.post(`/api/v1/organizations/${other.organization.id}/invitations`, {
    headers: { Authorization: `Bearer ${other.token}` },
    data: { email, role: 'member' },
  });
  expect(invited.status()).toBe(201);

  // Created on the Organization page: the header's switcher lists it, as the current one.
  await page.getByRole('link', { name: 'Organization', exact: true }).click();
  await page.getByLabel('Organization name').fill('Second Org');
  await page.getByRole('button', { name: 'Create organization' }).click();
  const switcher = page.getByLabel('Organization', { exact: true });
  await expect(switcher.locator('option:checked')).toHaveText('Second Org (owner)');

  // Declined on the Account page: the header's count of waiting invitations goes.
  await page.getByRole('link', { name: /Account/ }).click();
  await expect(page.getByTitle('Invitations waiting for you')).toHaveText('1');
  await page.locator('li', { hasText: 'Inviting Ltd' }).getByRole('button', { name: 'Decline' }).click();
  await expect(page.getByText('No invitations waiting for you.')).toBeVisible();
  await expect(page.getByTitle('Invitations waiting for you')).toHaveCount(0);
});

test('the pages show the organization the header switched to or a page created, and sign-out ends the session', async ({ page }) => {
  await signUp(page, uniqueEmail('switch'), 'First Org');
  await createKey(page, 'First instance');
  // Copied, the new key lets the page go without asking.
  await page.getByTestId('reveal-panel').getByRole('button', { name: 'Copy' }).click();
  await page.getByRole('link', { name: 'Organization', exact: true }).click();
  await page.getByLabel('Email').fill('invited-to-first@example.test');
  await page.getByRole('button', { name: 'Send invitation' }).click();
  const firstInvitation = page.locator('li[data-invitation="invited-to-first@example.test"]');
  await expect(firstInvitation).toBeVisible();
  // Created on this page, the new organization is the one it shows: not the first
  // one's invitations under the second one's name.
  await page.getByLabel('Organization name').fill('Second Org');
  await page.getByRole('button', { name: 'Create organization' }).click();
  const switcher = page.getByLabel('Organization', { exact: true });
  await expect(switcher.locator('option:checked')).toHaveText('Second Org (owner)');
  await expect(firstInvitation).toHaveCount(0);

  await page.getByRole('link', { name: 'License keys' }).click();
  await expect(page.getByText('No license keys yet.')).toBeVisible();
  await switcher.selectOption({ label: 'First Org (owner)' });
  await page.getByRole('button', { name: 'Switch' }).click();
  await expect(switcher.locator('option:checked')).toHaveText('First Org (owner)');
  await expect(page.locator('.lede strong')).toHaveText('First Org');
  await expect(page.locator('table.keys')).toContainText('First instance');

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/sign-in$/);
  await page.goto('/keys');
  await expect(page).toHaveURL(/\/sign-in$/);
});

test('the owner removes a member and the Organization page lists them no more', async ({ page, request }) => {
  const ownerEmail = uniqueEmail('owner');
  const memberEmail = uniqueEmail('member');
  const owner = await apiRegister(request, ownerEmail, 'Acme Corp');
  const member = await apiRegister(request, memberEmail, 'Member Solo');
  const invited = await request.post(`/api/v1/organizations/${owner.organization.id}/invitations`, {
    headers: { Authorization: `Bearer ${owner.token}` },
    data: { email: memberEmail, role: 'member' },
  });
  expect(invited.status()).toBe(201);
  const accepted = await request.post(`/api/v1/invitations/${(await invited.json()).id}/accept`, {
    headers: { Authorization: `Bearer ${member.token}` },
  });
  expect(accepted.status()).toBe(200);

  await signIn(page, ownerEmail);
  await page.getByRole('link', { name: 'Organization', exact: true }).click();
  const row = page.locator(`li[data-member="${memberEmail}"]`);
  await row.getByRole('button', { name: 'Remove' }).click();
  await expect(row).toHaveCount(0);
  await expect(page.locator(`li[data-member="${ownerEmail}"]`)).toBeVisible();
});
