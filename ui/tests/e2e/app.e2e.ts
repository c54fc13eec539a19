// The built app (ui/dist) in Chromium, with the Tauri IPC mocked: what a person sees and what
// the app asks the core, screen by screen.
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, openApp, screenshot, serveDist, type AppPage, type Served } from './harness';
import { VERIFIED_STEPS, defaultScenario, type Scenario } from './scenario';

let browser: Browser;
let served: Served;
let app: AppPage | null = null;

beforeAll(async () => {
  served = await serveDist();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await served?.close();
});

afterEach(async () => {
  const problems = app?.problems ?? [];
  await app?.close();
  app = null;
  // No uncaught error, no CSP violation, no failed request in any test.
  expect(problems).toEqual([]);
});

async function open(options: { scenario?: Partial<Scenario>; hash?: string; width?: number; colorScheme?: 'light' | 'dark' } = {}) {
  app = await openApp(browser, served.url, options);
  return app;
}

/** Distinct consecutive step names, as the UI folds repeated waits into one row. */
function foldedSteps(): string[] {
  return VERIFIED_STEPS.map((e) => e.step).filter((s, i, all) => i === 0 || all[i - 1] !== s);
}

describe('navigation', () => {
  it('opens on the Overview; the four PAAF steps group every screen and reach each; first_paint is called once', async () => {
    const { page, calls } = await open();
    for (const id of ['protect', 'analyze', 'alert', 'fix']) {
      await expect(page.getByTestId(`nav-step-${id}`).isVisible()).resolves.toBe(true);
    }
    await expect(page.locator('h1').textContent()).resolves.toContain('Overview');
    await page.getByTestId('overview-host-down').first().waitFor();
    await expect(page.getByTestId('overview-hosts').textContent()).resolves.toContain('1 of 2');
    await screenshot(page, '01-overview');

    await page.getByTestId('nav-flags').click();
    await page.getByTestId('flag-row').first().waitFor();

    await page.getByTestId('nav-alerts').click();
    await page.getByTestId('alert-row').first().waitFor();

    await page.getByTestId('nav-silences').click();
    await page.getByTestId('silence-row').first().waitFor();

    await page.getByTestId('nav-journal').click();
    await page.getByTestId('journal-row').first().waitFor();

    await page.getByTestId('nav-incident').click();
    await page.getByTestId('incident-open-form').waitFor();

    await page.getByTestId('nav-overview').click();
    await page.getByTestId('overview-alert').first().waitFor();

    await expect(page.getByTestId('about').textContent()).resolves.toMatch(/paaf 0\.1\.0.*alice@laptop.*secret-service/s);
    expect(await calls('first_paint')).toHaveLength(1);
  });

  it('goes where the tray menu says (the `navigate` event)', async () => {
    const { page } = await open();
    await page.evaluate(() => window.__paafEmit('navigate', '#/alerts'));
    await page.getByTestId('alert-row').first().waitFor();
    expect(page.url()).toMatch(/#\/alerts$/);
    await page.evaluate(() => window.__paafEmit('navigate', '#/journal'));
    await page.getByTestId('journal-row').first().waitFor();
  });
});

describe('servers', () => {
  it('lists hosts with live status: one up, one down with its error code; search filters', async () => {
    const { page, calls } = await open({ hash: '#/servers' });
    const rows = page.getByTestId('host-row');
    await rows.first().waitFor();
    await expect(rows.count()).resolves.toBe(2);

    const web = page.locator('[data-testid=host-row][data-host="web-1"]');
    const db = page.locator('[data-testid=host-row][data-host="db-1"]');
    await expect(web.getByTestId('host-status').textContent()).resolves.toBe('up');
    await expect(db.getByTestId('host-status').textContent()).resolves.toBe('down');
    await expect(db.getByTestId('host-error-code').textContent()).resolves.toBe('unreachable');
    await expect(db.textContent()).resolves.toContain('connection timed out after 10s');
    const webText = (await web.textContent()) ?? '';
    expect(webText).toContain('3 d 4 h'); // uptime
    expect(webText).toContain('3f1c2a9e'); // short boot id
    expect(webText).toContain('Debian GNU/Linux 12');
    expect(webText).toContain('reboot'); // last action
    expect((await calls('host_status'))[0].args).toEqual({ names: [] });
    await screenshot(page, '04-servers');

    await page.getByTestId('host-search').fill('DB.int');
    await expect(rows.count()).resolves.toBe(1);
    await expect(rows.first().getAttribute('data-host')).resolves.toBe('db-1');
    await page.getByTestId('host-search').fill('nothing-like-this');
    await expect(rows.count()).resolves.toBe(0);
    await expect(page.locator('main').textContent()).resolves.toContain('No host matches');
    await page.getByTestId('host-search').fill('');

    const before = (await calls('host_status')).length;
    await page.getByTestId('hosts-refresh').click();
    await expect.poll(async () => (await calls('host_status')).length).toBe(before + 1);

    await web.click();
    await page.getByRole('heading', { name: 'web-1' }).waitFor();
    expect(page.url()).toContain('#/host/web-1');
  });

  it('colours metrics by the levels of the core, chooses hosts by tag and shows a fan-out grouped live', async () => {
    const { page, calls } = await open({ hash: '#/servers' });
    const web = page.locator('[data-testid=host-row][data-host="web-1"]');
    await web.waitFor();
    await expect(web.getByTestId('metric-disk').getAttribute('data-level')).resolves.toBe('danger');
    await expect(web.getByTestId('metric-disk').textContent()).resolves.toBe('97%');
    await expect(web.getByTestId('metric-cpu').getAttribute('data-level')).resolves.toBe('ok');
    const db = page.locator('[data-testid=host-row][data-host="db-1"]');
    await expect(db.getByTestId('metric-load').textContent()).resolves.toBe('—');

    await page.getByTestId('choose-tag').filter({ hasText: 'role=web' }).click();
    await expect.poll(() => page.getByTestId('fanout-chosen').textContent()).toContain('1 host: web-1');
    await expect(web.getAttribute('data-chosen')).resolves.toBe('true');
    await expect(db.getAttribute('data-chosen')).resolves.toBe('false');

    await page.getByTestId('fanout-input').fill('uptime');
    await page.getByTestId('fanout-run').click();
    await page.getByTestId('confirm-yes').click();
    await expect.poll(() => page.getByTestId('fanout-tally').textContent()).toContain('1 of 1 done, 0 failed');
    await expect(page.getByTestId('fanout-group').textContent()).resolves.toContain('1 host: exit 0 (web-1)');
    const [run] = await calls('fan_out');
    expect(run.args).toMatchObject({ selector: { names: [], tags: [['role', 'web']], groups: [] }, command: 'uptime' });
    await screenshot(page, '04b-servers-fanout');
  });

  it('Cancel in the fan-out box starts no more hosts and shows which ran and which did not start', async () => {
    const { page, calls } = await open({ hash: '#/servers', scenario: { fanOutWaitForCancel: true } });
    await page.getByTestId('host-row').first().waitFor();
    await page.getByTestId('fanout-input').fill('sleep 60');
    await page.getByTestId('fanout-run').click();
    await page.getByTestId('confirm-yes').click();
    await expect.poll(() => page.getByTestId('fanout-tally').textContent()).toContain('1 of 2 done, 0 failed');
    await page.getByTestId('fanout-cancel').click();
    await expect.poll(() => page.getByTestId('fanout-cancelled').textContent()).toContain('Cancelled: 1 host ran, 1 not started');
    const [run] = await calls('fan_out');
    expect((await calls('cancel_fan_out')).map((c) => c.args)).toEqual([{ runId: run.args.runId }]);
    const groups = await page.getByTestId('fanout-group').allTextContents();
    expect(groups.some((g) => g.includes('1 host: exit 0 (web-1)'))).toBe(true);
    expect(groups.some((g) => g.includes('1 host: not started (db-1)'))).toBe(true);
    await expect(page.getByTestId('fanout-cancel').count()).resolves.toBe(0);
  });

  it('is usable 720 px wide', async () => {
    const { page } = await open({ hash: '#/servers', width: 720 });
    await page.getByTestId('host-row').first().waitFor();
    await screenshot(page, '05-servers-720px');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
  });
});

describe('reboot', () => {
  it('asks first: Cancel invokes nothing, Confirm reboots with {kind: yes} and shows the steps in order, then verified', async () => {
    const { page, calls, notifications } = await open({ hash: '#/host/web-1', scenario: { hasFocus: false } });
    await page.getByTestId('reboot-button').click();
    const dialog = page.getByTestId('confirm-dialog');
    await dialog.waitFor();
    await expect(dialog.textContent()).resolves.toContain('Reboot web-1?');
    await expect(dialog.getByTestId('confirm-input').count()).resolves.toBe(0);
    await screenshot(page, '06-reboot-confirm');
    await dialog.getByTestId('confirm-no').click();
    await dialog.waitFor({ state: 'detached' });
    expect(await calls('reboot')).toEqual([]);

    await page.getByTestId('reboot-button').click();
    await page.getByTestId('confirm-yes').click();
    await page.getByTestId('progress-step').first().waitFor();
    await screenshot(page, '07-reboot-in-progress');
    const result = page.getByTestId('reboot-result');
    await result.waitFor();
    await expect(result.getAttribute('data-outcome')).resolves.toBe('verified');
    await expect(result.textContent()).resolves.toContain('verified in 8.1 s');

    const reboots = await calls('reboot');
    expect(reboots).toHaveLength(1);
    expect(reboots[0].args).toMatchObject({ name: 'web-1', confirmation: { kind: 'yes' } });
    expect(String(reboots[0].args.onEvent)).toMatch(/^__CHANNEL__:\d+$/);

    const steps = await page.getByTestId('progress-step').evaluateAll((els) => els.map((e) => e.getAttribute('data-step')));
    expect(steps).toEqual(foldedSteps());
    const waiting = page.locator('[data-testid=progress-step][data-step=waiting-for-host]');
    await expect(waiting.textContent()).resolves.toContain('attempt 2: connection refused; next try in 4.1 s');
    await expect(page.locator('[data-step=done]').textContent()).resolves.toContain('8.1 s');
    await screenshot(page, '08-reboot-verified');

    // The window was not focused: a native notification said how it ended.
    expect(await notifications()).toEqual([{ title: 'web-1: reboot verified', body: 'verified in 8.1 s' }]);
  });

  it('a failed reboot shows the error code (timeout) and the phase', async () => {
    const d = defaultScenario();
    const { page, notifications } = await open({
      hash: '#/host/web-1',
      scenario: {
        reboot: {
          ...d.reboot,
          events: VERIFIED_STEPS.slice(0, 7),
          outcome: {
            err: {
              code: 'timeout',
              message: 'web-1: timed out after 600s in phase boot (waiting for the host to come back with a new boot id)',
              phase: 'boot',
            },
          },
        },
      },
    });
    await page.getByTestId('reboot-button').click();
    await page.getByTestId('confirm-yes').click();
    const result = page.getByTestId('reboot-result');
    await result.waitFor();
    await expect(result.getAttribute('data-outcome')).resolves.toBe('failed');
    const error = result.getByTestId('error');
    await expect(error.getAttribute('data-code')).resolves.toBe('timeout');
    await expect(error.getAttribute('data-phase')).resolves.toBe('boot');
    await expect(error.textContent()).resolves.toMatch(/timeout\s*\(phase boot\): web-1: timed out after 600s in phase boot/);
    await expect(result.textContent()).resolves.toContain('last step seen: Waiting for host');
    await screenshot(page, '09-reboot-timeout');
    expect(await notifications()).toEqual([]); // the window has focus: no notification
  });

  it('Cancel stops waiting through cancel_action with the action id from the events', async () => {
    const d = defaultScenario();
    const { page, calls } = await open({
      hash: '#/host/web-1',
      scenario: { reboot: { ...d.reboot, events: VERIFIED_STEPS.slice(0, 6), waitForCancel: true } },
    });
    await page.getByTestId('reboot-button').click();
    await page.getByTestId('confirm-yes').click();
    await page.locator('[data-step=waiting-for-host]').waitFor();
    await page.getByTestId('reboot-cancel').click();
    const result = page.getByTestId('reboot-result');
    await result.waitFor();
    expect((await calls('cancel_action')).map((c) => c.args)).toEqual([{ actionId: d.reboot.actionId }]);
    await expect(result.getAttribute('data-outcome')).resolves.toBe('failed');
    await expect(result.getByTestId('error').getAttribute('data-code')).resolves.toBe('cancelled');
    await expect(result.textContent()).resolves.toContain('Reboot cancelled');
  });
});

describe('reboot, looking elsewhere meanwhile', () => {
  it('keeps the progress and the outcome while the person visits other screens', async () => {
    const d = defaultScenario();
    const { page, calls } = await open({ hash: '#/host/web-1', scenario: { reboot: { ...d.reboot, intervalMs: 150 } } });
    await page.getByTestId('reboot-button').click();
    await page.getByTestId('confirm-yes').click();
    await page.locator('[data-step=command-sent]').waitFor();
    await page.getByTestId('nav-servers').click();
    await page.locator('[data-testid=host-row][data-host="web-1"] [data-testid=host-rebooting]').waitFor();
    await page.locator('[data-testid=host-row][data-host="web-1"]').click();
    const result = page.getByTestId('reboot-result');
    await result.waitFor();
    await expect(result.getAttribute('data-outcome')).resolves.toBe('verified');
    const steps = await page.getByTestId('progress-step').evaluateAll((els) => els.map((e) => e.getAttribute('data-step')));
    expect(steps).toEqual(foldedSteps());
    expect(await calls('reboot')).toHaveLength(1);
  });
});

describe('host page', () => {
  it('a dangerous runbook needs its exact name typed; a normal one a yes', async () => {
    const { page, calls } = await open({ hash: '#/host/web-1' });
    const dangerous = page.locator('[data-testid=runbook][data-runbook="__wipe-cache"]');
    await dangerous.waitFor();
    await dangerous.getByTestId('runbook-run').click();
    const dialog = page.getByTestId('confirm-dialog');
    const input = dialog.getByTestId('confirm-input');
    const yes = dialog.getByTestId('confirm-yes');
    await input.waitFor();
    await expect(yes.isDisabled()).resolves.toBe(true);
    await input.fill('__wipe');
    await expect(yes.isDisabled()).resolves.toBe(true);
    await screenshot(page, '10-runbook-typed-confirm');
    await input.fill('__wipe-cache');
    await expect(yes.isEnabled()).resolves.toBe(true);
    await yes.click();
    const output = page.getByTestId('exec-output');
    await output.waitFor();
    expect((await calls('run_runbook')).map((c) => c.args)).toEqual([
      { name: 'web-1', runbook: '__wipe-cache', confirmation: { kind: 'typed', value: '__wipe-cache' } },
    ]);
    await expect(output.getAttribute('data-exit-code')).resolves.toBe('0');
    await expect(output.textContent()).resolves.toContain('exit code 0');
    await expect(page.getByTestId('exec-stdout').textContent()).resolves.toContain('1.2 GiB freed');
    await expect(output.textContent()).resolves.toContain('truncated');
    await screenshot(page, '11-host-runbook-output');

    await page.locator('[data-testid=runbook][data-runbook="restart-app"]').getByTestId('runbook-run').click();
    await expect(dialog.getByTestId('confirm-input').count()).resolves.toBe(0);
    await dialog.getByTestId('confirm-yes').click();
    await expect
      .poll(async () => (await calls('run_runbook')).map((c) => c.args.confirmation))
      .toEqual([{ kind: 'typed', value: '__wipe-cache' }, { kind: 'yes' }]);
  });

  it('runs a command after a confirmation and shows its output', async () => {
    const { page, calls } = await open({ hash: '#/host/web-1' });
    await page.getByTestId('exec-input').fill('systemctl status nginx');
    await page.getByTestId('exec-run').click();
    await page.getByTestId('confirm-dialog').waitFor();
    expect(await calls('exec')).toEqual([]);
    await page.getByTestId('confirm-yes').click();
    await page.getByTestId('exec-output').waitFor();
    expect((await calls('exec')).map((c) => c.args)).toEqual([
      { name: 'web-1', command: 'systemctl status nginx', confirmation: { kind: 'yes' } },
    ]);
    await expect(page.getByTestId('exec-stdout').textContent()).resolves.toContain('active (running)');
  });

  it('plots past verified reboots from the journal, and says so when there are none', async () => {
    const { page, calls } = await open({ hash: '#/host/web-1' });
    await page.locator('.u-over').waitFor(); // uPlot drew the chart
    expect((await calls('journal')).map((c) => c.args)).toContainEqual({ target: 'web-1', limit: 200 });
    await expect(page.locator('.u-legend').textContent()).resolves.toContain('verified in');
    await screenshot(page, '12-host');

    await page.goto(`${served.url}/#/host/db-1`);
    await expect(page.getByTestId('chart-empty').textContent()).resolves.toContain('No verified reboot of db-1');
  });

  it('a host whose key changed shows the error code and message in red', async () => {
    const d = defaultScenario();
    const changed = {
      ...d.hosts[1],
      error: {
        code: 'host-key-changed' as const,
        message: 'REFUSED: the host key of db-1 changed (now SHA256:Zm9vYmFy); nothing was run.',
      },
    };
    const { page } = await open({ hash: '#/host/db-1', scenario: { hosts: [d.hosts[0], changed], runbooks: {} } });
    const error = page.locator('[data-testid=error][data-code=host-key-changed]');
    await error.waitFor();
    await expect(error.textContent()).resolves.toContain('host-key-changed: REFUSED: the host key of db-1 changed');
    await page.getByRole('button', { name: 'Forget the recorded key…' }).waitFor();
    await screenshot(page, '13-host-key-changed');
  });

  it('is usable 720 px wide', async () => {
    const { page } = await open({ hash: '#/host/web-1', width: 720 });
    await page.locator('.u-over').waitFor();
    await screenshot(page, '14-host-720px');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
  });
});

describe('journal', () => {
  it('lists actions: when, who, from, action, target, state, duration, result; unknown and unverified are warnings', async () => {
    const { page, calls } = await open({ hash: '#/journal' });
    const rows = page.getByTestId('journal-row');
    await rows.first().waitFor();
    await expect(rows.count()).resolves.toBe(defaultScenario().journal.length);
    expect((await calls('journal'))[0].args).toEqual({ target: null, limit: 200 });
    const unknown = page.locator('[data-testid=journal-row][data-state=unknown]');
    await expect(unknown.textContent()).resolves.toContain('outcome unknown');
    await expect(unknown.textContent()).resolves.toContain('cli@laptop');
    const failed = page.locator('[data-testid=journal-row][data-state=failed]').first();
    await expect(failed.textContent()).resolves.toContain('remote-command');
    await expect(failed.textContent()).resolves.toContain('412 ms');
    const unverified = page.locator('[data-testid=journal-row][data-state=unverified]');
    await expect(unverified.textContent()).resolves.toContain('server-reboot');
    await expect(unverified.locator('.state').textContent()).resolves.toBe('unverified');
    await screenshot(page, '15-journal');
  });

  it('shows the error code when the journal cannot be read', async () => {
    const { page } = await open({
      hash: '#/journal',
      scenario: { failing: { journal: { code: 'journal', message: 'journal /x/journal.sqlite: database is locked' } } },
    });
    const error = page.locator('[data-testid=error][data-code=journal]');
    await error.waitFor();
    await expect(error.textContent()).resolves.toContain('journal: journal /x/journal.sqlite: database is locked');
  });
});

describe('onboarding', () => {
  const fill = async (page: AppPage['page']) => {
    await page.getByTestId('host-name').fill('web-9');
    await page.getByTestId('host-address').fill('10.0.0.9');
    await page.getByTestId('host-user').fill('deploy');
    await page.getByTestId('auth-password').check();
    await page.getByTestId('password').fill('s3cret');
  };

  it('with no hosts: add one, see its key fingerprint, trust it; it is saved only then', async () => {
    const { page, calls } = await open({ scenario: { hosts: [] } });
    await page.getByRole('heading', { name: 'Welcome to paaf' }).waitFor();
    // Known from the config alone: no host is probed over SSH before onboarding shows.
    expect(await calls('list_hosts')).toHaveLength(1);
    expect(await calls('host_status')).toEqual([]);
    await screenshot(page, '16-onboarding');
    await fill(page);
    await page.getByTestId('add-host-submit').click();
    const fingerprint = page.getByTestId('host-key-fingerprint');
    await fingerprint.waitFor();
    await expect(fingerprint.textContent()).resolves.toBe('SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8');
    await expect(page.getByTestId('host-key-type').textContent()).resolves.toBe('ssh-ed25519');
    await screenshot(page, '17-onboarding-fingerprint');
    const input = {
      name: 'web-9',
      address: '10.0.0.9',
      port: 22,
      user: 'deploy',
      auth: { type: 'password', password: { kind: 'value', value: 's3cret' } },
    };
    // The key came back with the first attempt, which saved nothing; no second probe.
    expect((await calls('add_host')).map((c) => c.args)).toEqual([{ input, check: { kind: 'login', trust: null } }]);
    expect(await calls('probe_host_key')).toEqual([]);
    await page.getByTestId('host-key-trust').click();
    await page.getByRole('heading', { name: 'web-9' }).waitFor();
    expect((await calls('add_host')).map((c) => c.args)).toEqual([
      { input, check: { kind: 'login', trust: null } },
      { input, check: { kind: 'login', trust: 'SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8' } },
    ]);
    expect(await calls('trust_host_key')).toEqual([]);
    expect(await calls('remove_host')).toEqual([]);
  });

  it('declining the key saves nothing, so nothing is half-added', async () => {
    const { page, calls } = await open({ scenario: { hosts: [] } });
    await fill(page);
    await page.getByTestId('add-host-submit').click();
    await page.getByTestId('host-key-fingerprint').waitFor();
    await page.getByTestId('host-key-decline').click();
    const notice = page.getByTestId('add-host-notice');
    await notice.waitFor();
    await expect(notice.textContent()).resolves.toContain('Nothing was saved');
    expect(await calls('add_host')).toHaveLength(1);
    expect(await calls('remove_host')).toEqual([]);
    expect(await calls('trust_host_key')).toEqual([]);
    await page.getByRole('heading', { name: 'Welcome to paaf' }).waitFor();
  });

  it('an invalid host shows the core error code and stays on the form', async () => {
    const { page } = await open({
      hash: '#/add-host',
      scenario: { failing: { add_host: { code: 'invalid-input', message: 'a host named `web-9` exists already' } } },
    });
    await fill(page);
    await page.getByTestId('add-host-submit').click();
    const error = page.locator('[data-testid=error][data-code=invalid-input]');
    await error.waitFor();
    await expect(error.textContent()).resolves.toContain('invalid-input: a host named `web-9` exists already');
    await expect(page.getByTestId('host-name').inputValue()).resolves.toBe('web-9');
  });
});

describe('protect: feature flags', () => {
  it('lists every service (a failing one as a row with its code); search filters', async () => {
    const { page } = await open({ hash: '#/flags' });
    await page.getByTestId('flag-row').first().waitFor();
    await expect(page.getByTestId('flag-row').count()).resolves.toBe(3);
    const ld = page.getByTestId('flag-backend-error');
    await expect(ld.getAttribute('data-backend')).resolves.toBe('ld');
    await expect(page.getByTestId('flag-backend-error-code').textContent()).resolves.toBe('auth-failed');

    await page.getByTestId('flag-search').fill('checkout');
    await expect(page.getByTestId('flag-row').count()).resolves.toBe(1);
    await expect(page.getByTestId('flag-backend-error').count()).resolves.toBe(1);
  });

  it('kill switch: the confirmation shows the state read now and the environment in bold; then undo', async () => {
    const { page, calls } = await open({ hash: '#/flags' });
    const row = page.locator('[data-testid=flag-row][data-flag="new-checkout"]');
    const production = row.locator('[data-testid=flag-env][data-env="production"]');
    await expect(production.getByTestId('flag-env-state').textContent()).resolves.toBe('ON');

    // Cancel first: the state is read, nothing is written.
    await production.getByTestId('flag-toggle').click();
    const dialog = page.getByTestId('confirm-dialog');
    await dialog.waitFor();
    await page.getByTestId('confirm-no').click();
    expect(await calls('set_flag')).toEqual([]);

    await production.getByTestId('flag-toggle').click();
    await dialog.waitFor();
    await expect(dialog.textContent()).resolves.toContain('new-checkout is ON in production right now');
    await expect(dialog.locator('strong').textContent()).resolves.toBe('production');
    await expect(page.getByTestId('confirm-yes').textContent()).resolves.toBe('Turn off in production');
    await screenshot(page, '18-flag-confirm');
    await page.getByTestId('confirm-yes').click();

    const change = page.getByTestId('flag-change');
    await change.waitFor();
    await expect(change.getByTestId('flag-change-summary').textContent()).resolves.toBe('was ON → OFF');
    await expect(production.getByTestId('flag-env-state').textContent()).resolves.toBe('OFF');
    const target = { backend: 'prod', project: 'default', key: 'new-checkout', environment: 'production' };
    expect(await calls('flag_state')).toEqual([{ cmd: 'flag_state', args: { target } }, { cmd: 'flag_state', args: { target } }]);
    expect(await calls('set_flag')).toEqual([
      {
        cmd: 'set_flag',
        args: { target, enabled: false, expected: { enabled: true, version: null, guard: 'best-effort' }, confirmation: { kind: 'yes' } },
      },
    ]);
    await screenshot(page, '19-protect-flag-off');

    await change.getByTestId('flag-undo').click();
    await expect(dialog.textContent()).resolves.toContain('goes back to ON in production');
    await page.getByTestId('confirm-yes').click();
    await expect
      .poll(() => change.getByTestId('flag-change-summary').textContent())
      .toBe('was OFF → ON');
    await expect(production.getByTestId('flag-env-state').textContent()).resolves.toBe('ON');
    expect(await calls('undo_flag')).toEqual([{ cmd: 'undo_flag', args: { actionId: 50, confirmation: { kind: 'yes' } } }]);
  });

  it('a conflict (the flag changed meanwhile) shows its code and message, and Reload reads the flags again', async () => {
    const conflict = {
      code: 'conflict' as const,
      message: 'Unleash `prod`: new-checkout changed in production since it was read (412); nothing was written',
    };
    const { page, calls } = await open({ hash: '#/flags', scenario: { failing: { set_flag: conflict } } });
    const production = page.locator('[data-testid=flag-row][data-flag="new-checkout"] [data-testid=flag-env][data-env="production"]');
    await production.getByTestId('flag-toggle').click();
    await page.getByTestId('confirm-yes').click();
    const error = page.getByTestId('flag-action-error').getByTestId('error');
    await error.waitFor();
    await expect(error.getAttribute('data-code')).resolves.toBe('conflict');
    await expect(error.textContent()).resolves.toContain('changed in production since it was read');
    await screenshot(page, '20-flag-conflict');
    expect(await calls('flags')).toHaveLength(1);
    await page.getByTestId('error-retry').click();
    await expect.poll(async () => (await calls('flags')).length).toBe(2);
    await expect(page.getByTestId('flag-action-error').count()).resolves.toBe(0);
  });
});

describe('analyze: alerts, query, targets', () => {
  it('lists firing alerts of every source with a failing source as a row; a query draws a chart with its legend', async () => {
    const { page, calls } = await open({ hash: '#/alerts' });
    await page.getByTestId('alert-row').first().waitFor();
    await expect(page.getByTestId('alert-row').count()).resolves.toBe(3);
    const checkout = page.locator('[data-testid=alert-row][data-alert="CheckoutErrors"]');
    await expect(checkout.textContent()).resolves.toMatch(/firing.*critical.*14 min.*5\.2% of checkouts fail/s);
    const grafana = page.getByTestId('alert-source-error');
    await expect(grafana.getAttribute('data-source')).resolves.toBe('grafana');
    await expect(grafana.getByTestId('alert-source-error-code').textContent()).resolves.toBe('unreachable');
    await expect(page.locator('[data-testid=target-row][data-health="down"]').count()).resolves.toBe(1);

    // An alert's link goes to the app (which opens only http(s) in the browser), never the webview.
    await checkout.getByTestId('external-link').click();
    const disk = page.locator('[data-testid=alert-row][data-alert="DiskFilling"]');
    await disk.getByTestId('external-link').click();
    await expect(disk.getByTestId('external-link-refused').textContent()).resolves.toContain('only http and https');
    expect((await calls('open_link')).map((c) => c.args)).toEqual([
      { url: 'http://prometheus.internal:9090/graph?g0.expr=checkout_errors' },
      { url: 'javascript:alert(document.domain)' },
    ]);
    expect(page.url()).toContain('#/alerts');

    await page.getByTestId('query-expr').fill('rate(http_requests_total[5m])');
    await page.getByTestId('query-run').click();
    await page.getByTestId('query-legend').waitFor();
    // uPlot drew into a canvas of the chart's width
    const canvas = page.locator('[data-testid=chart] canvas');
    await expect(canvas.count()).resolves.toBe(1);
    await expect(canvas.evaluate((c: HTMLCanvasElement) => c.width)).resolves.toBeGreaterThan(300);
    await expect(page.getByTestId('legend-row').count()).resolves.toBe(2);
    await expect(page.getByTestId('legend-row').first().textContent()).resolves.toContain('web-1:8080');
    expect(await calls('query')).toEqual([
      {
        cmd: 'query',
        args: { source: null, expr: 'rate(http_requests_total[5m])', window: { from: 'now-1h', to: 'now' }, points: 300 },
      },
    ]);
    await screenshot(page, '21-analyze-alerts-query');
  });
});

describe('alert: silences', () => {
  it('silences an alert from its row (duration, comment required), shows the id; lists and expires silences', async () => {
    const { page, calls } = await open({ hash: '#/silences' });
    await page.getByTestId('silence-row').first().waitFor();
    await page.locator('[data-testid=alert-row][data-alert="DiskFilling"]').getByTestId('alert-silence').click();
    const dialog = page.getByTestId('silence-dialog');
    await expect(dialog.getByTestId('silence-matchers').textContent()).resolves.toContain('alertname="DiskFilling"');
    await expect(page.getByTestId('silence-submit').isDisabled()).resolves.toBe(true);
    await page.getByTestId('silence-duration-2h').check();
    await page.getByTestId('silence-comment').fill('disk cleanup under way (alice)');
    await page.getByTestId('silence-submit').click();
    await expect(page.getByTestId('silence-id').textContent()).resolves.toBe('9a8b7c6d-1111-4e2f-9a0b-1c2d3e4f5a6b');
    expect(await calls('silence')).toEqual([
      {
        cmd: 'silence',
        args: {
          source: 'am',
          matchers: ['alertname="DiskFilling"', 'instance="db-1:9100"', 'severity="warning"'],
          durationSecs: 7200,
          comment: 'disk cleanup under way (alice)',
        },
      },
    ]);
    await page.getByTestId('silence-close').click();
    await expect.poll(() => page.getByTestId('silence-row').count()).toBe(2);
    await screenshot(page, '22-silences');

    const watchdog = page.locator('[data-testid=silence-row][data-id="6f1e2d3c-0000-4a5b-8c9d-0e1f2a3b4c5d"]');
    await watchdog.getByTestId('silence-expire').click();
    await page.getByTestId('confirm-yes').click();
    await expect.poll(() => page.getByTestId('silence-row').count()).toBe(1);
    expect(await calls('expire_silence')).toEqual([
      { cmd: 'expire_silence', args: { source: null, id: '6f1e2d3c-0000-4a5b-8c9d-0e1f2a3b4c5d' } },
    ]);
  });
});

describe('fix: cloud servers', () => {
  it('shows the cached list with its age at once, and keeps it when the fresh listing fails', async () => {
    const d = defaultScenario();
    const cachedServer = d.cloud.inventory.servers[0];
    const { page } = await open({
      hash: '#/cloud',
      scenario: {
        cloud: { ...d.cloud, cached: { fetched_at_ms: Date.now() - 5 * 60_000, servers: [cachedServer] } },
        failing: { servers: { code: 'unreachable', message: 'aws "prod", eu-west-1: could not connect' } },
      },
    });
    await page.getByTestId('cloud-cached').waitFor();
    await expect(page.getByTestId('cloud-cached').textContent()).resolves.toMatch(/Cached 5 min/);
    await expect(page.getByTestId('cloud-server').count()).resolves.toBe(1);
    await expect(page.getByTestId('cloud-server').getAttribute('data-name')).resolves.toBe(cachedServer.name);
    await expect(page.getByTestId('error').getAttribute('data-code')).resolves.toBe('unreachable');
  });

  it('is reached from the Fix step; lists every server with an account that failed as a row with its code; search filters', async () => {
    const { page } = await open();
    await page.getByTestId('nav-step-fix').getByRole('link', { name: /Cloud servers/ }).click();
    await page.getByTestId('cloud-server').first().waitFor();
    await expect(page.getByTestId('cloud-server').count()).resolves.toBe(3);
    const web = page.locator('[data-testid=cloud-server][data-name="web-2"]');
    const text = await web.textContent();
    for (const part of ['web-2', 'i-0a1b2c3d4e5f60718', 'aws', 'prod', 'eu-west-1', 'running', '54.216.9.12', '10.0.1.7', 'env=production']) {
      expect(text).toContain(part);
    }
    const error = page.getByTestId('cloud-error');
    await expect(error.getAttribute('data-region')).resolves.toBe('ap-south-1');
    await expect(error.getByTestId('cloud-error-code').textContent()).resolves.toBe('auth-failed');
    await expect(page.getByTestId('cloud-summary').textContent()).resolves.toContain('3 servers in 1 account, 1 error');
    // In transition: no action offered.
    await expect(page.locator('[data-server="i-0c0ffee0c0ffee001"] [data-testid=cloud-action]').count()).resolves.toBe(0);
    await screenshot(page, '24-cloud-servers');

    await page.getByTestId('cloud-search').fill('env=staging');
    await expect(page.getByTestId('cloud-server').count()).resolves.toBe(1);
    await expect(page.getByTestId('cloud-server').getAttribute('data-name')).resolves.toBe('batch-1');
    await page.getByTestId('cloud-search').fill('us-east stopped');
    await expect(page.getByTestId('cloud-server').count()).resolves.toBe(1);
    await page.getByTestId('cloud-search').fill('10.0.1.7');
    await expect(page.getByTestId('cloud-server').getAttribute('data-name')).resolves.toBe('web-2');
    await page.getByTestId('cloud-search').fill('nothing-like-this');
    await expect(page.getByTestId('cloud-server').count()).resolves.toBe(0);
    await expect(page.locator('main').textContent()).resolves.toContain('No server matches “nothing-like-this”');

    await page.getByTestId('cloud-search').fill('');
    await page.getByTestId('cloud-refresh').click();
    await expect.poll(async () => (await app!.calls('servers')).length).toBe(2);
  });

  it('stop: the confirmation names server, account and region; then each state seen until stopped', async () => {
    const { page, calls } = await open({ hash: '#/cloud' });
    const web = page.locator('[data-testid=cloud-server][data-name="web-2"]');
    await web.locator('[data-action=stop]').click();
    const dialog = page.getByTestId('confirm-dialog');
    await dialog.waitFor();
    await expect(page.getByTestId('confirm-no').isVisible()).resolves.toBe(true);
    await page.getByTestId('confirm-no').click();
    await dialog.waitFor({ state: 'detached' });
    expect(await calls('server_power')).toEqual([]);

    await web.locator('[data-action=stop]').click();
    await dialog.waitFor();
    const text = await dialog.textContent();
    expect(text).toContain('Stop web-2?');
    expect(text).toMatch(/i-0a1b2c3d4e5f60718.*account prod, region eu-west-1/);
    await expect(dialog.locator('strong').allTextContents()).resolves.toEqual(['web-2', 'prod', 'eu-west-1']);
    await screenshot(page, '25-cloud-stop-confirm');
    await page.getByTestId('confirm-yes').click();

    const run = page.locator('[data-testid=cloud-run][data-server="i-0a1b2c3d4e5f60718"]');
    await run.getByTestId('cloud-run-done').waitFor();
    const states = await run.getByTestId('cloud-state').evaluateAll((els) => els.map((e) => e.getAttribute('data-status')));
    expect(states).toEqual(['stopping', 'stopped']);
    await expect(run.getByTestId('cloud-state').first().textContent()).resolves.toContain('2 reads');
    await expect(run.getByTestId('cloud-run-done').textContent()).resolves.toContain('Done: stopped after 10.0 s');
    await expect(run.getByTestId('cloud-run-done').textContent()).resolves.toContain('stopped read back');
    const sent = await calls('server_power');
    expect(sent).toHaveLength(1);
    expect(sent[0].args).toMatchObject({ account: 'prod', server: 'i-0a1b2c3d4e5f60718', action: 'stop', confirmation: { kind: 'yes' } });
    expect(String(sent[0].args.onProgress)).toMatch(/^__CHANNEL__:\d+$/);
    // The list is read again: the server is stopped now and offers a start.
    await web.locator('[data-action=start]').waitFor();
    await expect(web.getByTestId('cloud-status').getAttribute('data-status')).resolves.toBe('stopped');
    await screenshot(page, '26-cloud-stopped');
  });

  it('a reboot nothing proves (always running, no operation) shows as unverified, with how to verify it', async () => {
    const d = defaultScenario();
    const { page, calls } = await open({
      hash: '#/cloud',
      scenario: { cloud: { ...d.cloud, states: [['running', 'running'], ['running', 'running']] } },
    });
    await page.locator('[data-testid=cloud-server][data-name="web-2"] [data-action=reboot]').click();
    const dialog = page.getByTestId('confirm-dialog');
    await dialog.waitFor();
    await expect(dialog.textContent()).resolves.toContain('looks for proof that it rebooted');
    await page.getByTestId('confirm-yes').click();
    const run = page.locator('[data-testid=cloud-run][data-server="i-0a1b2c3d4e5f60718"]');
    const unverified = run.getByTestId('cloud-run-unverified');
    await unverified.waitFor();
    const text = await unverified.textContent();
    expect(text).toContain('Unverified: running after 5.0 s (2 reads)');
    expect(text).toContain('server = "prod/i-0a1b2c3d4e5f60718"');
    await expect(run.getByTestId('cloud-run-done').count()).resolves.toBe(0);
    expect((await calls('server_power'))[0].args).toMatchObject({ action: 'reboot' });
    await screenshot(page, '27b-cloud-reboot-unverified');
  });

  it('a failed action shows its code; Cancel goes through cancel_action with the action id of the reads', async () => {
    const d = defaultScenario();
    const failing = await open({
      hash: '#/cloud',
      scenario: {
        cloud: {
          ...d.cloud,
          states: [['pending', 'pending']],
          err: { code: 'timeout', message: 'i-0f9e8d7c6b5a40312 (aws "prod", us-east-1) (still pending, waiting to be running): timed out after 600s', phase: 'boot' },
        },
      },
    });
    const batch = failing.page.locator('[data-testid=cloud-server][data-name="batch-1"]');
    await batch.locator('[data-action=start]').click();
    await failing.page.getByTestId('confirm-yes').click();
    const run = failing.page.locator('[data-testid=cloud-run][data-server="i-0f9e8d7c6b5a40312"]');
    const error = run.getByTestId('cloud-run-error').getByTestId('error');
    await error.waitFor();
    await expect(error.getAttribute('data-code')).resolves.toBe('timeout');
    await expect(error.textContent()).resolves.toContain('still pending');
    await expect(run.getByTestId('cloud-state').getAttribute('data-status')).resolves.toBe('pending');
    await screenshot(failing.page, '27-cloud-start-timeout');
    const problems = [...failing.problems];
    await failing.close();
    expect(problems).toEqual([]);

    const { page, calls } = await open({ hash: '#/cloud', scenario: { cloud: { ...d.cloud, waitForCancel: true } } });
    await page.locator('[data-testid=cloud-server][data-name="web-2"] [data-action=reboot]').click();
    await page.getByTestId('confirm-yes').click();
    const running = page.locator('[data-testid=cloud-run][data-server="i-0a1b2c3d4e5f60718"]');
    await running.locator('[data-status=stopped]').waitFor();
    await running.getByTestId('cloud-cancel').click();
    const cancelled = running.getByTestId('cloud-run-error').getByTestId('error');
    await cancelled.waitFor();
    await expect(cancelled.getAttribute('data-code')).resolves.toBe('cancelled');
    expect((await calls('cancel_action')).map((c) => c.args)).toEqual([{ actionId: d.cloud.actionId }]);
    expect((await calls('server_power'))[0].args).toMatchObject({ action: 'reboot' });
  });
});

describe('analyze: Grafana dashboards', () => {
  it('search → open → panels drawn at their width with stats; a failing query shows its code beside the good one', async () => {
    const { page, calls } = await open();
    await page.getByTestId('nav-step-analyze').getByRole('link', { name: /Dashboards/ }).click();
    await page.getByTestId('dashboard-hit').first().waitFor();
    await expect(page.getByTestId('dashboard-hit').count()).resolves.toBe(2);

    await page.getByTestId('dash-search-tags').fill('linux');
    await page.getByTestId('dash-search-starred').check();
    await page.getByTestId('dash-search').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=dashboard-hit]').length === 1);
    expect((await calls('dashboards')).at(-1)?.args.query).toMatchObject({ query: null, tags: ['linux'], starred: true });

    await page.getByRole('button', { name: 'Node Exporter Full' }).click();
    await expect(page.getByTestId('dashboard-title').textContent()).resolves.toBe('Node Exporter Full');
    // Rows, collapsed ones included, each with its panels.
    await expect(page.getByTestId('panel-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-row')))).resolves.toEqual([
      'CPU',
      'Memory',
    ]);
    // Variables: a query variable with a picker (All offered), a constant shown as its value.
    const instance = page.locator('[data-testid=variable][data-name=instance] select');
    await expect(instance.inputValue()).resolves.toBe('web-1:9100');
    await expect(page.locator('[data-testid=variable][data-name=job] [data-testid=variable-value]').textContent()).resolves.toBe('node');

    const load = page.locator('[data-testid=grafana-panel][data-panel-id="2"]');
    await load.getByTestId('panel-legend-row').waitFor();
    const canvas = load.locator('[data-testid=chart] canvas');
    await expect(canvas.evaluate((c: HTMLCanvasElement) => c.width)).resolves.toBeGreaterThan(200);
    await expect(load.getByTestId('panel-legend-row').textContent()).resolves.toMatch(/node_load1.*0\.4.*11\.2.*3\.3.*8\.1/s);

    // On Grafana's 24-column grid: a w=12 panel takes half the width, not the whole column.
    const cell = page.getByTestId('panel-cell').first();
    await expect(cell.getAttribute('data-column')).resolves.toBe('1 / span 12');
    const [cellWidth, gridWidth] = await cell.evaluate((e) => [e.getBoundingClientRect().width, e.parentElement!.getBoundingClientRect().width]);
    expect(cellWidth / gridWidth).toBeGreaterThan(0.45);
    expect(cellWidth / gridWidth).toBeLessThan(0.55);

    const memory = page.locator('[data-testid=grafana-panel][data-panel-id="3"]');
    const failed = memory.getByTestId('panel-query-error');
    await failed.waitFor();
    await expect(failed.getAttribute('data-status')).resolves.toBe('400');
    await expect(failed.textContent()).resolves.toContain('B: 400 bad_data');
    await expect(memory.getByTestId('panel-legend-row').textContent()).resolves.toContain('3.63 GiB');

    // Asked at the panel's pixel width, for the dashboard's own range.
    const panelCalls = await calls('panel_data');
    expect(panelCalls.map((c) => c.args.panelId).sort()).toEqual([2, 3]);
    for (const c of panelCalls) {
      expect(c.args).toMatchObject({ source: null, uid: 'node-full', view: { window: null, variables: {} } });
      expect(c.args.width).toBeGreaterThan(200);
      expect(c.args.width).toBeLessThan(1280);
    }
    await screenshot(page, '23-analyze-dashboard');

    // A range in Grafana's syntax and another instance: the dashboard and its panels again.
    await page.getByTestId('range-from').fill('now-1d/d');
    await page.getByTestId('range-apply').click();
    await instance.selectOption('web-2:9100');
    // Two panels, read three times: opened, new range, new instance.
    await page.waitForFunction(() => window.__paafMock.calls.filter((c) => c.cmd === 'panel_data').length === 6);
    const last = (await calls('dashboard')).at(-1);
    expect(last?.args.view).toEqual({ window: { from: 'now-1d/d', to: 'now' }, variables: { instance: ['web-2:9100'] } });
    expect((await calls('panel_data')).at(-1)?.args.view).toEqual(last?.args.view);

    await page.getByTestId('annotate-text').fill('web-2 rebooted by alice via paaf');
    await page.getByTestId('annotate-scope').selectOption('3');
    await page.getByTestId('annotate-submit').click();
    await expect(page.getByTestId('annotate-done').textContent()).resolves.toBe('Annotation 41 written.');
    expect(await calls('annotate')).toEqual([
      {
        cmd: 'annotate',
        args: { source: null, input: { text: 'web-2 rebooted by alice via paaf', tags: [], dashboard_uid: 'node-full', panel_id: 3 } },
      },
    ]);
  });

  it('a dashboard that cannot be opened shows the core error code', async () => {
    const { page } = await open({
      hash: '#/dashboards',
      scenario: { failing: { dashboard: { code: 'permission-denied', message: 'grafana `grafana`: HTTP 403 Forbidden' } } },
    });
    await page.getByRole('button', { name: 'Shop' }).click();
    await expect(page.getByTestId('error').getAttribute('data-code')).resolves.toBe('permission-denied');
  });
});

describe('incident loop: Overview and Incident screen', () => {
  it('opens an incident from a firing alert, protects after one confirmation listing every step, notes, stands down, previews and saves the post-mortem, resolves', async () => {
    const { page, calls } = await open();
    const alert = page.locator('[data-testid=overview-alert][data-name=CheckoutErrors]');
    await alert.waitFor();
    // Ranked by the core: the critical one first; the headline is the core's.
    await expect(page.getByTestId('overview-alert').first().getAttribute('data-name')).resolves.toBe('CheckoutErrors');
    await expect(page.getByTestId('overview-headline').getAttribute('data-level')).resolves.toBe('critical');
    await expect(page.getByTestId('incident-banner').count()).resolves.toBe(0);
    await screenshot(page, '30-overview');

    await alert.getByTestId('overview-open-incident').click();
    const incident = page.getByTestId('incident');
    await incident.waitFor();
    expect(page.url()).toMatch(/#\/incident$/);
    expect((await calls('open_incident'))[0].args.input).toMatchObject({
      title: '',
      alert: { source: 'prom', name: 'CheckoutErrors', labels: { alertname: 'CheckoutErrors', instance: 'web-2:8080' } },
    });
    await expect(incident.textContent()).resolves.toContain('5.2% of checkouts fail on web-2');
    await expect(page.getByTestId('incident-banner').textContent()).resolves.toMatch(/Incident #7.*sev1.*opened/s);
    await expect(page.locator('[data-testid=phase-marker][data-phase=opened]').getAttribute('class')).resolves.toContain('reached');

    // Protect: the one confirmation lists every step with its target's state now; Cancel runs nothing.
    await page.getByTestId('incident-protect').click();
    const plan = page.getByTestId('run-plan');
    await plan.waitFor();
    await expect(page.getByTestId('plan-step').count()).resolves.toBe(3);
    await expect(page.getByTestId('plan-step-now').allTextContents()).resolves.toEqual(['ON in production', 'up 3d', '1 matching alerts firing']);
    await expect(page.getByTestId('plan-run').textContent()).resolves.toContain('run 3 steps');
    await screenshot(page, '31-incident-protect-plan');
    await page.getByTestId('plan-cancel').click();
    await plan.waitFor({ state: 'detached' });
    expect(await calls('protect')).toEqual([]);

    await page.getByTestId('incident-protect').click();
    await page.getByTestId('plan-run').click();
    await page.getByTestId('run-report').waitFor();
    await expect(page.getByTestId('run-step').evaluateAll((els) => els.map((e) => e.getAttribute('data-status')))).resolves.toEqual([
      'succeeded',
      'succeeded',
      'succeeded',
    ]);
    const protect = (await calls('protect'))[0].args;
    expect(protect.confirmation).toEqual({ kind: 'yes' });
    expect(String(protect.onEvent)).toMatch(/^__CHANNEL__:\d+$/);
    await page.locator('[data-testid=incident][data-phase=protected]').waitFor();
    await expect(page.getByTestId('incident-banner-phase').textContent()).resolves.toBe('protected');
    await screenshot(page, '32-incident-protected');
    await page.getByTestId('plan-close').click();

    await page.getByTestId('incident-note').fill('web-2 errors stopped after the flag');
    await page.getByTestId('incident-note-add').click();
    await page.locator('[data-testid=timeline-line][data-kind=note]').waitFor();
    await expect(page.locator('[data-testid=timeline-line][data-kind=action]').count()).resolves.toBe(3);
    await expect(page.locator('[data-testid=timeline-line][data-kind=phase]').count()).resolves.toBe(3);

    // The Overview now shows the incident and the flag it left off, one click from each.
    await page.getByTestId('nav-overview').click();
    await page.locator('[data-testid=overview-flag-off][data-flag=new-checkout]').waitFor();
    await expect(page.getByTestId('overview-incident').textContent()).resolves.toContain('#7');
    await expect(page.getByTestId('overview-open-incident').count()).resolves.toBe(0);
    await page.getByTestId('incident-banner').click();

    // Stand down: what is reversed, and what cannot be (the reboot), listed.
    await page.getByTestId('incident-stand-down').click();
    await page.locator('[data-testid=run-plan][data-run=stand-down]').waitFor();
    const steps = page.getByTestId('plan-step');
    await expect(steps.evaluateAll((els) => els.map((e) => e.getAttribute('data-status')))).resolves.toEqual(['impossible', 'to-run']);
    await expect(steps.first().textContent()).resolves.toContain('a reboot cannot be undone');
    await page.getByTestId('plan-run').click();
    await page.getByTestId('run-report').waitFor();
    await expect(page.getByTestId('run-step').evaluateAll((els) => els.map((e) => e.getAttribute('data-status')))).resolves.toEqual(['skipped', 'succeeded']);
    await page.getByTestId('plan-close').click();

    // The post-mortem as Markdown text (markup in it stays text), then saved through the app.
    await page.getByTestId('postmortem-preview').click();
    const md = page.getByTestId('postmortem-markdown');
    await md.waitFor();
    await expect(md.textContent()).resolves.toMatch(/# Incident #7.*## Timeline.*flag-off new-checkout: succeeded.*<script>alert\(1\)<\/script>/s);
    await page.getByTestId('postmortem-save').click();
    await expect(page.getByTestId('postmortem-saved').textContent()).resolves.toContain('/home/alice/incident-7-postmortem.md');
    await screenshot(page, '33-incident-postmortem');

    await page.getByTestId('incident-resolve').click();
    await page.getByTestId('confirm-yes').click();
    await page.getByTestId('incident-open-form').waitFor();
    await page.getByTestId('incident-banner').waitFor({ state: 'detached' });
    expect((await calls('set_incident_phase')).at(-1)?.args).toMatchObject({ id: 7, phase: 'resolved' });
  });

  it('a protect step that fails stops the run: the rest are not run and the incident stays protecting', async () => {
    const { page } = await open({ hash: '#/incident', scenario: { failingSteps: { 0: 'unleash `prod` is unreachable' } } });
    await page.getByTestId('incident-title').fill('Checkout errors');
    await page.getByTestId('incident-severity').selectOption('sev2');
    await page.getByTestId('incident-open').click();
    await page.getByTestId('incident-protect').click();
    await page.getByTestId('plan-run').click();
    const report = page.getByTestId('run-report');
    await report.waitFor();
    await expect(report.getAttribute('data-stopped')).resolves.toBe('true');
    await expect(page.getByTestId('run-step').evaluateAll((els) => els.map((e) => e.getAttribute('data-status')))).resolves.toEqual(['failed', 'not-run', 'not-run']);
    await expect(page.getByTestId('run-step').first().textContent()).resolves.toContain('unreachable: unleash `prod` is unreachable');
    await page.locator('[data-testid=incident][data-phase=protecting]').waitFor();
  });

  it('Cancel the run: the step under way ends, the rest are not run', async () => {
    const { page, calls } = await open({ hash: '#/incident', scenario: { stepIntervalMs: 300 } });
    await page.getByTestId('incident-title').fill('Checkout errors');
    await page.getByTestId('incident-open').click();
    await page.getByTestId('incident-protect').click();
    await page.getByTestId('plan-run').click();
    await page.locator('[data-testid=run-step][data-state=running]').first().waitFor();
    await page.getByTestId('run-cancel').click();
    const report = page.getByTestId('run-report');
    await report.waitFor();
    await expect(report.getAttribute('data-stopped')).resolves.toBe('true');
    await expect(page.getByTestId('run-step').evaluateAll((els) => els.map((e) => e.getAttribute('data-status')))).resolves.toEqual(['succeeded', 'not-run', 'not-run']);
    expect((await calls('cancel_run')).map((c) => c.args)).toEqual([{ incidentId: 7 }]);
  });

  it('a plan with a dangerous runbook wants its name typed before it runs', async () => {
    const d = defaultScenario();
    const dangerous = { ...d.protectSteps[1], description: 'runbook __wipe-cache on web-1', kind: 'runbook' as const, typed_confirmation: '__wipe-cache' };
    const { page, calls } = await open({ hash: '#/incident', scenario: { protectSteps: [dangerous] } });
    await page.getByTestId('incident-title').fill('Cache poisoned');
    await page.getByTestId('incident-open').click();
    await page.getByTestId('incident-protect').click();
    await expect(page.getByTestId('plan-run').isDisabled()).resolves.toBe(true);
    await page.getByTestId('plan-typed').fill('__wipe');
    await expect(page.getByTestId('plan-run').isDisabled()).resolves.toBe(true);
    await page.getByTestId('plan-typed').fill('__wipe-cache');
    await page.getByTestId('plan-run').click();
    await page.getByTestId('run-report').waitFor();
    expect((await calls('protect'))[0].args.confirmation).toEqual({ kind: 'typed', value: '__wipe-cache' });
  });
});

describe('dark theme', () => {
  it('follows the system: dark panels and text, charts drawn in the dark palette', async () => {
    const { page } = await open({ colorScheme: 'dark' });
    await page.getByTestId('overview-alert').first().waitFor();
    const [bg, text] = await page.evaluate(() => {
      const s = getComputedStyle(document.documentElement);
      return [s.backgroundColor, s.color];
    });
    const lum = (rgb: string) => rgb.match(/\d+/g)!.slice(0, 3).reduce((a, b) => a + Number(b), 0);
    expect(lum(bg)).toBeLessThan(150);
    expect(lum(text)).toBeGreaterThan(600);
    await screenshot(page, '40-dark-overview');

    await page.getByTestId('nav-alerts').click();
    await page.getByTestId('query-expr').fill('rate(http_requests_total[5m])');
    await page.getByTestId('query-run').click();
    await page.getByTestId('query-legend').waitFor();
    // The legend's swatch (the chart's first line) in the dark palette's first colour.
    const swatch = page.getByTestId('legend-row').first().locator('.swatch');
    await expect(swatch.evaluate((e) => getComputedStyle(e).backgroundColor)).resolves.toBe('rgb(110, 168, 254)');
    await screenshot(page, '41-dark-alerts-query');
  });
});

describe('command palette', () => {
  it('Ctrl-K, a few letters, Enter: reaches a host, a dashboard, a flag; Escape closes it', async () => {
    const { page } = await open();
    await page.getByTestId('overview-alert').first().waitFor();
    await page.keyboard.press('Control+k');
    const input = page.getByTestId('palette-input');
    await input.waitFor();
    await input.fill('db1');
    await expect(page.getByTestId('palette-item').first().getAttribute('data-kind')).resolves.toBe('host');
    await screenshot(page, '50-palette');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'db-1' }).waitFor();
    expect(page.url()).toMatch(/#\/host\/db-1$/);

    await page.keyboard.press('Control+k');
    await input.fill('node exp');
    await page.locator('[data-testid=palette-item][data-kind=dashboard]').first().waitFor();
    await page.keyboard.press('Enter');
    await expect(page.getByTestId('dashboard-title').textContent()).resolves.toBe('Node Exporter Full');
    expect(page.url()).toMatch(/#\/dashboards\/node-full$/);

    await page.keyboard.press('Control+k');
    await input.fill('new-check');
    const flag = page.locator('[data-testid=palette-item][data-kind=flag]').first();
    await flag.waitFor();
    await flag.click();
    await page.getByTestId('flag-row').first().waitFor();

    await page.keyboard.press('Control+k');
    await input.waitFor();
    await page.keyboard.press('Escape');
    await page.getByTestId('palette').waitFor({ state: 'detached' });
  });
});
