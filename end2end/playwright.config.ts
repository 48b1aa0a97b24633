import { defineConfig } from '@playwright/test';
import * as path from 'path';

// The end-to-end suite runs the release bundle (`cargo leptos build --release --split`)
// on its own port and a fresh SQLite database for every run. The server binary is
// E2E_SERVER: `scripts/test.sh` passes the one its Rust suites built; by hand, the
// release build's.
const root = path.resolve(__dirname, '..');
const server = process.env.E2E_SERVER ?? path.join(root, 'target', 'release', 'storno-licensing');
const port = Number(process.env.E2E_PORT ?? 3100);
const dataDir = path.join(root, 'target', 'e2e-data');

export default defineConfig({
  testDir: './tests',
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  workers: 2,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: 'retain-on-failure',
    permissions: ['clipboard-read', 'clipboard-write'],
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    },
  },
  webServer: {
    command: `rm -rf "${dataDir}" && exec "${server}"`,
    url: `http://127.0.0.1:${port}/sign-in`,
    timeout: 60_000,
    reuseExistingServer: false,
    stdout: 'ignore',
    stderr: 'pipe',
    env: {
      LEPTOS_OUTPUT_NAME: 'storno-licensing',
      LEPTOS_SITE_ROOT: path.join(root, 'target', 'site'),
      LEPTOS_SITE_PKG_DIR: 'pkg',
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      LEPTOS_ENV: 'PROD',
      DATABASE_URL: `sqlite://${dataDir}/e2e.db`,
      RUST_LOG: 'warn',
      // Every test signs up from 127.0.0.1; the sign-up limit has its own Rust tests.
      RATE_LIMIT_SIGN_UP_PER_IP: '100000',
      // Keys validate (200) only on a plan that self-hosts; the community default's
      // 403 has its own Rust tests. Offline licenses are signed with the test key.
      DEFAULT_PLAN: 'business',
      LICENSE_JWT_PRIVATE_KEY_FILE: path.join(root, 'tests', 'fixtures', 'offline-license-test-key.pem'),
      // Owners upgrade through the operator's Stripe Payment Link (billing.spec.ts).
      STRIPE_PAYMENT_LINKS: 'business=https://buy.stripe.com/test_e2e_business',
    },
  },
});
