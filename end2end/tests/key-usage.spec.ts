import { test, expect, Page, APIRequestContext } from '@playwright/test';
import { createKey, PASSWORD, signUp, uniqueEmail } from './helpers';

/** The plan's limit line: the chart module's LIMIT_COLOR. */
const LIMIT_STROKE = '#B91C1C';

/** Today in UTC as the charts' x axis labels it (MM-DD). */
function todayLabel(): string {
  return new Date().toISOString().slice(5, 10);
}

async function validate(request: APIRequestContext, licenseKey: string, instanceUrl: string) {
  const response = await request.post('/api/v1/licensing/validate', {
    data: {
      licenseKey,
      instanceUrl,
      metrics: { orgCount: 2, userCount: 4, companyCount: 1, invoicesThisMonth: 12 },
    },
  });
  expect(response.status()).toBe(200);
  return response.json();
}

/** The charts are in the page as SVG: axes with labels, the data, the limit line. */
async function expectCharts(page: Page) {
  const organizations = page.locator('figure[data-metric="orgCount"]');
  await expect(organizations).toContainText("the red line is your plan's limit (1)");
  const svg = organizations.locator('svg');
  await expect(svg).toHaveCount(1);
  // Axes: the y axis names its unit, the x axis labels days (today among them).
  await expect(svg.locator('text', { hasText: 'Organizations' })).toHaveCount(1);
  await expect(svg.locator('text', { hasText: todayLabel() }).first()).toBeAttached();
  // The limit as a line across the chart, and today's value as a point.
  await expect(svg.locator(`polyline[stroke="${LIMIT_STROKE}"]`)).toHaveCount(1);
  await expect(svg.locator('circle')).toHaveCount(1);
  // Business has no user limit: that chart has no limit line.
  const users = page.locator('figure[data-metric="userCount"]');
  await expect(users).toContainText('no limit on your plan');
  await expect(users.locator(`polyline[stroke="${LIMIT_STROKE}"]`)).toHaveCount(0);
  await expect(page.locator('figure[data-metric="validations"] svg')).toHaveCount(1);
}

test("a key's page charts its usage against the plan, with a table, a CSV and a timeline", async ({ page, request }) => {
  await signUp(page, uniqueEmail('owner'), 'Acme');
  const key = await createKey(page, 'Usage');
  await page.getByTestId('reveal-panel').getByRole('button', { name: 'Copy' }).click();
  await page.getByTestId('reveal-panel').getByRole('button', { name: /close/ }).click();

  // Before any validation the page says what will appear, not a broken chart.
  const row = page.locator('table.keys tr', { hasText: 'Usage' });
  await row.locator('a.key-link').click();
  await expect(page).toHaveURL(/\/keys\/[0-9a-f-]{36}$/);
  await expect(page.getByTestId('no-usage')).toContainText('No validations yet');

  // Two instances in one day: the key is shared, and the answer says so.
  await validate(request, key, 'https://erp.acme.test');
  const second = await validate(request, key, 'https://copy.acme.test');
  expect(second.violations).toContain('License key used by 2 instances today; each instance needs its own key.');

  await page.reload();
  await expectCharts(page);
  await expect(page.getByTestId('key-state')).toHaveText('shared by 2 instances');
  const table = page.getByTestId('usage-table');
  await expect(table.locator('tbody tr')).toHaveCount(1);
  await expect(table.locator('tbody tr')).toContainText('https://erp.acme.test, https://copy.acme.test');
  const csv = await table.getByTestId('usage-csv').getAttribute('href');
  expect(decodeURIComponent(csv!.replace('data:text/csv;charset=utf-8,', ''))).toMatch(
    /^date,validations,userCount_max,userCount_last,[^\n]*\n\d{4}-\d{2}-\d{2},2,4,4,1,1,12,12,2,2,/,
  );
  const timeline = page.getByTestId('timeline');
  await expect(timeline).toContainText('Created');
  await expect(timeline).toContainText('Activated (first validation)');
  await expect(timeline).toContainText('New instance URL — https://copy.acme.test');

  // The list names the state too.
  await page.goto('/keys');
  await expect(row.locator('.badge')).toHaveText('shared by 2 instances');
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test("a key's page shows the same charts, drawn on the server", async ({ page, request }) => {
    const email = uniqueEmail('plain');
    const registered = await request.post('/api/v1/auth/register', {
      data: { email, password: PASSWORD, organizationName: 'Plain' },
    });
    expect(registered.status()).toBe(201);
    const token = (await request.post('/api/v1/auth/token', { data: { email, password: PASSWORD } }));
    const { token: bearer } = await token.json();
    const created = await request.post('/api/v1/licensing/keys', {
      headers: { Authorization: `Bearer ${bearer}` },
      data: { instanceName: 'No script' },
    });
    expect(created.status()).toBe(201);
    const { id, licenseKey } = await created.json();
    await validate(request, licenseKey, 'https://plain.test');

    await page.goto('/sign-in');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page).toHaveURL(/\/keys$/);
    await page.goto(`/keys/${id}`);
    await expectCharts(page);
    await expect(page.getByTestId('key-state')).toHaveText('active');
  });
});
