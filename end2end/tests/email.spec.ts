import { test, expect, Page } from '@playwright/test';
import { PASSWORD, emailedLink, uniqueEmail, waitForHydration } from './helpers';

const NEW_PASSWORD = 'a brand new long password';

async function open(page: Page, path: string, javaScript: boolean) {
  await page.goto(path);
  if (javaScript) await waitForHydration(page);
}

/** Signs up, verifies the address from its email, forgets the password, resets it
 * from the emailed link and signs in with the new one: all through the pages. */
async function recoverAnAccount(page: Page, javaScript: boolean) {
  const email = uniqueEmail(javaScript ? 'recover' : 'recover-plain');
  await open(page, '/sign-up', javaScript);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByLabel('Organization name').fill('Recovered');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/keys$/);

  await open(page, await emailedLink(email, 'Verify your email address', '/verify-email'), javaScript);
  await expect(page.getByRole('heading', { name: 'Confirm your email address' })).toBeVisible();
  await page.getByRole('button', { name: 'Verify email' }).click();
  await expect(page.getByRole('heading', { name: 'Your email address is verified' })).toBeVisible();
  await open(page, '/account', javaScript);
  await expect(page.getByTestId('email-status')).toHaveText('Verified');
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await expect(page).toHaveURL(/\/sign-in$/);

  if (javaScript) await waitForHydration(page);
  await page.getByRole('link', { name: 'Forgot password?' }).click();
  await expect(page).toHaveURL(/\/forgot-password$/);
  await page.getByLabel('Email').fill(email);
  await page.getByRole('button', { name: 'Send reset link' }).click();
  await expect(page.getByRole('status')).toContainText('If an account has that address');

  await open(page, await emailedLink(email, 'Reset your password', '/reset-password'), javaScript);
  await page.getByLabel('New password').fill(NEW_PASSWORD);
  await page.getByRole('button', { name: 'Set new password' }).click();
  await expect(page).toHaveURL(/\/sign-in\?reset=1$/);
  await expect(page.getByRole('status')).toContainText('Your password is changed');

  if (javaScript) await waitForHydration(page);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toContainText('Wrong email or password');
  await page.getByLabel('Password').fill(NEW_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/keys$/);
}

test('an owner verifies the address and resets a forgotten password from the emailed links', async ({ page }) => {
  await recoverAnAccount(page, true);
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('an owner verifies the address and resets a forgotten password from the emailed links', async ({ page }) => {
    await recoverAnAccount(page, false);
  });
});
