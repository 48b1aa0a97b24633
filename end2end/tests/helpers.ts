import { expect, Page, APIRequestContext } from '@playwright/test';

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

export async function signUp(page: Page, email: string, organization: string) {
  await page.goto('/sign-up');
  await waitForHydration(page);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByLabel('Organization name').fill(organization);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/keys$/);
  await expect(page.getByRole('heading', { name: 'License keys', level: 1 })).toBeVisible();
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
  return response.json();
}

export async function createKey(page: Page, instanceName: string): Promise<string> {
  await page.getByLabel(/Instance name/).fill(instanceName);
  await page.getByRole('button', { name: 'Create license key' }).click();
  const revealed = page.getByTestId('revealed-key');
  await expect(revealed).toBeVisible();
  return (await revealed.textContent())!.trim();
}
