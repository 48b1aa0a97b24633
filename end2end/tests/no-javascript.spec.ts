import { test, expect, Page } from '@playwright/test';
import { PASSWORD, uniqueEmail } from './helpers';

// The browser posts the forms itself and follows the server's redirects.
test.use({ javaScriptEnabled: false });

/** Posts the sign-up form as a browser without JavaScript does. */
async function submitSignUp(page: Page, email: string, organization: string) {
  await page.goto('/sign-up');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByLabel('Organization name').fill(organization);
  await page.getByRole('button', { name: 'Create account' }).click();
}

test('without JavaScript an owner signs up, creates a key and sees it once', async ({ page }) => {
  await submitSignUp(page, uniqueEmail('plain'), 'Plain HTML');

  await page.goto('/keys');
  await page.getByLabel(/Instance name/).fill('No Script');
  await page.getByRole('button', { name: 'Create license key' }).click();

  // The server redirects to the view of the page that shows the new key.
  await expect(page).toHaveURL(/\/keys\?reveal=1$/);
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

// Every form's error path, without JavaScript: back on the form, with the message
// and what was typed (never the password).
test.describe('without JavaScript a failed form returns to its page', () => {
  test('sign in', async ({ page, request }) => {
    const email = uniqueEmail('plain');
    expect((await request.post('/api/v1/auth/register', {
      data: { email, password: PASSWORD, organizationName: 'Plain' },
    })).status()).toBe(201);
    await page.goto('/sign-in');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('not the password at all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page).toHaveURL(/\/sign-in\?/);
    await expect(page.getByRole('alert')).toHaveText('Wrong email or password');
    await expect(page.getByLabel('Email')).toHaveValue(email);
    await expect(page.getByLabel('Password')).toHaveValue('');
    expect(await page.content()).not.toContain('not the password at all');
  });

  test('sign up', async ({ page, request }) => {
    const email = uniqueEmail('plain');
    await request.post('/api/v1/auth/register', {
      data: { email, password: PASSWORD, organizationName: 'First' },
    });
    await submitSignUp(page, email, 'Second Org');
    await expect(page).toHaveURL(/\/sign-up\?/);
    await expect(page.getByRole('alert')).toHaveText('An account with this email already exists');
    await expect(page.getByLabel('Email')).toHaveValue(email);
    await expect(page.getByLabel('Organization name')).toHaveValue('Second Org');
    await expect(page.getByLabel('Password')).toHaveValue('');
  });

  test('create a license key, create an organization, invite', async ({ page }) => {
    const email = uniqueEmail('plain');
    await submitSignUp(page, email, 'Plain HTML');

    // A right-to-left override would disguise the name: refused.
    const disguised = 'Prod\u202Eresu';
    await page.goto('/keys');
    await page.getByLabel(/Instance name/).fill(disguised);
    await page.getByRole('button', { name: 'Create license key' }).click();
    await expect(page).toHaveURL(/\/keys\?/);
    await expect(page.getByRole('alert')).toContainText('invisible');
    await expect(page.getByLabel(/Instance name/)).toHaveValue(disguised);
    await expect(page.getByTestId('reveal-panel')).toHaveCount(0);

    await page.goto('/organization');
    await page.getByLabel('Organization name').fill(disguised);
    await page.getByRole('button', { name: 'Create organization' }).click();
    await expect(page).toHaveURL(/\/organization\?/);
    await expect(page.getByRole('alert')).toContainText('invisible');
    await expect(page.getByLabel('Organization name')).toHaveValue(disguised);

    // Inviting yourself: you are already a member.
    await page.getByLabel('Email', { exact: true }).fill(email);
    await page.getByRole('button', { name: 'Send invitation' }).click();
    await expect(page).toHaveURL(/\/organization\?/);
    await expect(page.getByRole('alert')).toContainText('already a member');
    await expect(page.getByLabel('Email', { exact: true })).toHaveValue(email);
  });
});

test('without JavaScript the header switches the organization and signs out', async ({ page }) => {
  await submitSignUp(page, uniqueEmail('plain'), 'First Plain');
  await page.goto('/organization');
  await page.getByLabel('Organization name').fill('Second Plain');
  await page.getByRole('button', { name: 'Create organization' }).click();

  await page.goto('/keys');
  const switcher = page.getByLabel('Organization', { exact: true });
  await expect(switcher.locator('option:checked')).toHaveText('Second Plain (owner)');
  await switcher.selectOption({ label: 'First Plain (owner)' });
  await page.getByRole('button', { name: 'Switch' }).click();
  await expect(page).toHaveURL(/\/keys\??$/);
  await expect(page.locator('.lede strong')).toHaveText('First Plain');

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/sign-in$/);
  await page.goto('/keys');
  await expect(page).toHaveURL(/\/sign-in$/);
});
