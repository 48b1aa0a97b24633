import { expect, Page, APIRequestContext } from '@playwright/test';
import * as fs from 'fs';
import * as path from 'path';

export const PASSWORD = 'correct horse battery staple';

let counter = 0;
/** A fresh email per call, so parallel tests never collide. */
export function uniqueEmail(prefix: string): string {
  counter += 1;
  return `${prefix}-${Date.now()}-${process.pid}-${counter}@example.test`;
}

/** Leptos attaches event handlers when it hydrates; clicking before that would submit plain forms. */
export async function waitForHydration(page: Page) {
  await page.waitForSelector('body[data-hydrated="true"]');
}

/** Where the e2e server (no SMTP_URL) writes its emails: `mail/` beside its SQLite database. */
const MAIL_DIR = path.resolve(__dirname, '..', '..', 'target', 'e2e-data', 'mail');

/** The text of the newest email to `to` with `subject`, once one was written (quoted-printable undone). */
export async function emailTo(to: string, subject: string): Promise<string> {
  let found: string | undefined;
  await expect
    .poll(
      () => {
        const names = fs.existsSync(MAIL_DIR) ? fs.readdirSync(MAIL_DIR).filter((n) => n.endsWith('.eml')).sort() : [];
        found = names
          .map((name) => fs.readFileSync(path.join(MAIL_DIR, name), 'utf8'))
          .filter((text) => text.includes(`To: ${to}\r\n`) && text.includes(`Subject: ${subject}\r\n`))
          .pop();
        return found !== undefined;
      },
      { message: `an email "${subject}" to ${to}`, timeout: 20_000 },
    )
    .toBe(true);
  return found!.replace(/=\r\n/g, '').replace(/=3D/g, '=');
}

/** The path and query of the single-use link (`/verify-email`, `/reset-password`) in the newest such email. */
export async function emailedLink(to: string, subject: string, linkPath: string): Promise<string> {
  const text = await emailTo(to, subject);
  const match = text.match(new RegExp(`${linkPath}\\?token=[0-9a-f]+`));
  expect(match, `a ${linkPath} link in ${text}`).not.toBeNull();
  return match![0];
}

/** Opens the verification link emailed at sign-up through the API, as a script would. */
export async function apiVerifyEmail(request: APIRequestContext, email: string) {
  const link = await emailedLink(email, 'Verify your email address', '/verify-email');
  const token = link.split('token=')[1];
  const response = await request.post('/api/v1/auth/verify-email', { data: { token } });
  expect(response.status()).toBe(200);
}

export async function signUp(page: Page, email: string, organization: string) {
  await page.goto('/sign-up');
  await waitForHydration(page);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByLabel('Organization name').fill(organization);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/keys$/);
  await expect(page.getByRole('heading', { name: 'License keys', level: 1 })).toBeVisible();
  await apiVerifyEmail(page.request, email);
}

export async function signIn(page: Page, email: string) {
  await page.goto('/sign-in');
  await waitForHydration(page);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/keys$/);
}

export async function apiToken(request: APIRequestContext, email: string): Promise<string> {
  const response = await request.post('/api/v1/auth/token', { data: { email, password: PASSWORD } });
  expect(response.status()).toBe(201);
  return (await response.json()).token;
}

export async function apiRegister(request: APIRequestContext, email: string, organizationName: string) {
  const response = await request.post('/api/v1/auth/register', {
    data: { email, password: PASSWORD, organizationName },
  });
  expect(response.status()).toBe(201);
  const body = await response.json();
  await apiVerifyEmail(request, email);
  return body;
}

export async function createKey(page: Page, instanceName: string): Promise<string> {
  await page.getByLabel(/Instance name/).fill(instanceName);
  await page.getByRole('button', { name: 'Create license key' }).click();
  const revealed = page.getByTestId('revealed-key');
  await expect(revealed).toBeVisible();
  return (await revealed.textContent())!.trim();
}
