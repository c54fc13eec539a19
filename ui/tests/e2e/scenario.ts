// What the mocked paaf core answers in the browser tests. Shared by the tests (Node) and the
// mock installed in the page (tests/e2e/mock-entry.ts), so both agree on the data.
import type { About } from '../../src/lib/bindings/About';
import type { ActionRecord } from '../../src/lib/bindings/ActionRecord';
import type { BackendFlags } from '../../src/lib/bindings/BackendFlags';
import type { Selectable } from '../../src/lib/bindings/Selectable';
import { hostMetrics } from '../../src/lib/testing/records';
import type { Dashboard } from '../../src/lib/bindings/Dashboard';
import type { DashboardHit } from '../../src/lib/bindings/DashboardHit';
import type { PanelData } from '../../src/lib/bindings/PanelData';
import type { ErrorInfo } from '../../src/lib/bindings/ErrorInfo';
import type { ExecOutput } from '../../src/lib/bindings/ExecOutput';
import type { HostStatus } from '../../src/lib/bindings/HostStatus';
import type { OfferedKey } from '../../src/lib/bindings/OfferedKey';
import type { QueryResult } from '../../src/lib/bindings/QueryResult';
import type { RebootReport } from '../../src/lib/bindings/RebootReport';
import type { Runbook } from '../../src/lib/bindings/Runbook';
import type { Series } from '../../src/lib/bindings/Series';
import type { Silence } from '../../src/lib/bindings/Silence';
import type { SourceAlerts } from '../../src/lib/bindings/SourceAlerts';
import type { Target } from '../../src/lib/bindings/Target';
import type { Step } from '../../src/lib/bindings/Step';
import type { CachedInventory } from '../../src/lib/bindings/CachedInventory';
import type { Inventory } from '../../src/lib/bindings/Inventory';
import type { Server } from '../../src/lib/bindings/Server';
import type { ServerStatus } from '../../src/lib/bindings/ServerStatus';
import type { IncidentDetail } from '../../src/lib/bindings/IncidentDetail';
import type { Overview } from '../../src/lib/bindings/Overview';
import type { PlannedStep } from '../../src/lib/bindings/PlannedStep';

export type TimedStep = Step & { elapsed_ms: number };

export interface Scenario {
  about: About;
  hosts: HostStatus[];
  /** What `selectable` answers, and each host's tags for `select_hosts`. */
  selectable: Selectable;
  hostTags: Record<string, Record<string, string>>;
  runbooks: Record<string, Runbook[]>;
  journal: ActionRecord[];
  reboot: {
    actionId: number;
    /** Pause before each event. */
    intervalMs: number;
    events: TimedStep[];
    /** With `waitForCancel`, the reboot hangs after its events until cancel_action is called. */
    waitForCancel?: boolean;
    outcome: { ok: RebootReport } | { err: ErrorInfo };
  };
  probe: OfferedKey;
  execOutput: ExecOutput;
  runbookOutput: ExecOutput;
  /** What document.hasFocus() says (a notification is sent only when false). */
  hasFocus: boolean;
  /** Commands that reject with this error instead of answering. */
  failing: Record<string, ErrorInfo>;
  /** Protect: the flag services; set_flag and undo_flag change these (ids from `flagActionId`). */
  flags: BackendFlags[];
  flagActionId: number;
  /** Analyze and Alert. */
  alerts: SourceAlerts[];
  query: QueryResult;
  targets: Target[];
  silences: Silence[];
  silenceId: string;
  /** Fix: cloud servers; server_power streams `states` (one read each), then ends in the target state or `err`. */
  cloud: {
    /** The last list `cached_servers` gives (none by default). */
    cached?: CachedInventory | null;
    inventory: Inventory;
    actionId: number;
    intervalMs: number;
    states: [ServerStatus, string][];
    /** With `waitForCancel`, the action hangs after its states until cancel_action is called. */
    waitForCancel?: boolean;
    err?: ErrorInfo;
  };
  /** Grafana: search hits, dashboards by uid, panel data by panel id, the next annotation id. */
  dashboardHits: DashboardHit[];
  dashboards: Record<string, Dashboard>;
  panelData: Record<number, PanelData>;
  annotationId: number;
  /** The incident loop: incidents newest first (each with its timeline), the core's overview,
   * the playbook's protect steps (with their targets' state now) and the pause between step events. */
  incidents: IncidentDetail[];
  overview: Overview;
  protectSteps: PlannedStep[];
  /** Steps of protect that fail (by index), with this message. */
  failingSteps: Record<number, string>;
  stepIntervalMs: number;
  /** With it, a fan-out hangs after its first host until cancel_fan_out is called with its runId. */
  fanOutWaitForCancel?: boolean;
}

/** One recorded IPC call, with its args as JSON (a channel shows as "__CHANNEL__:<id>"). */
export interface RecordedCall {
  cmd: string;
  args: Record<string, unknown>;
}

export interface MockState {
  calls: RecordedCall[];
  notifications: { title: string; body?: string }[];
}

declare global {
  interface Window {
    __PAAF_SCENARIO__?: Partial<Scenario>;
    __paafMock: MockState;
    /** Emits a Tauri event to the page, as the app's Rust side would (the tray's `navigate`). */
    __paafEmit: (event: string, payload?: unknown) => Promise<void>;
  }
}

const BOOT_A = '3f1c2a9e-5b7d-4e21-9a0c-7d2e8b1f4a60';
const BOOT_B = 'a84e0d13-27c6-4f9b-8e55-0b9d6c3e2f17';

export function rebootRecord(id: number, target: string, createdAt: string, durationMs: number): ActionRecord {
  return {
    id,
    kind: 'reboot',
    target,
    detail: 'shutdown -r now',
    data: null,
    operator: 'alice',
    frontend: 'desktop',
    device: 'laptop',
    state: 'succeeded',
    result: `verified in ${(durationMs / 1000).toFixed(1)}s: boot id 3f1c2a9e -> a84e0d13, test command ok`,
    error_code: null,
    created_at: createdAt,
    finished_at: createdAt,
    duration_ms: durationMs,
    incident_id: null,
    step: null,
  };
}

export const VERIFIED_STEPS: TimedStep[] = [
  { step: 'connecting', host: 'web-1', elapsed_ms: 5 },
  { step: 'boot-id-read', boot_id: BOOT_A, elapsed_ms: 180 },
  { step: 'privilege-checked', elapsed_ms: 260 },
  { step: 'command-sent', command: 'shutdown -r now', elapsed_ms: 330 },
  { step: 'connection-dropped', elapsed_ms: 1450 },
  { step: 'waiting-for-host', attempt: 1, retry_in_ms: 2300, reason: 'connection refused', elapsed_ms: 1500 },
  { step: 'waiting-for-host', attempt: 2, retry_in_ms: 4100, reason: 'connection refused', elapsed_ms: 3800 },
  { step: 'back-up', elapsed_ms: 7950 },
  { step: 'boot-id-changed', old: BOOT_A, new: BOOT_B, elapsed_ms: 8020 },
  { step: 'test-command-ok', command: 'whoami', elapsed_ms: 8110 },
  { step: 'done', elapsed_ms: 8115 },
];

export function defaultScenario(): Scenario {
  return {
    about: {
      version: '0.1.0',
      config_path: '/home/alice/.config/paaf/config.toml',
      journal_path: '/home/alice/.config/paaf/journal.sqlite',
      operator: 'alice',
      frontend: 'desktop',
      device: 'laptop',
      secret_backend: 'secret-service',
    },
    hosts: [
      {
        name: 'web-1',
        address: '10.0.0.5',
        port: 22,
        user: 'deploy',
        reachable: true,
        error: null,
        uptime_secs: 3 * 86400 + 4 * 3600 + 120,
        boot_id: BOOT_A,
        os: 'Debian GNU/Linux 12 (bookworm)',
        metrics: hostMetrics({ uptime_secs: 3 * 86400 + 4 * 3600 + 120 }),
        last_action: rebootRecord(41, 'web-1', '2026-11-22T13:02:11Z', 31_200),
      },
      {
        name: 'db-1',
        address: 'db.internal',
        port: 2222,
        user: 'ops',
        reachable: false,
        error: { code: 'unreachable', message: 'db-1 (db.internal:2222) is unreachable: connection timed out after 10s' },
        uptime_secs: null,
        boot_id: null,
        os: null,
        metrics: null,
        last_action: null,
      },
    ],
    selectable: { tags: [['role', 'web']], groups: [] },
    hostTags: { 'web-1': { role: 'web' } },
    runbooks: {
      'web-1': [
        { name: 'restart-app', dangerous: false },
        { name: 'rotate-logs', dangerous: false },
        { name: '__wipe-cache', dangerous: true },
      ],
    },
    journal: [
      {
        id: 44,
        kind: 'exec',
        target: 'web-1',
        detail: 'systemctl restart nginx',
        data: null,
        operator: 'alice',
        frontend: 'cli',
        device: 'laptop',
        state: 'unknown',
        result: 'outcome unknown: the paaf process ended while this ran; check the target',
        error_code: null,
        created_at: '2026-11-25T09:41:03Z',
        finished_at: null,
        duration_ms: null,
        incident_id: null,
        step: null,
      },
      {
        id: 43,
        kind: 'runbook',
        target: 'web-1',
        detail: 'restart-app',
        data: null,
        operator: 'bob',
        frontend: 'desktop',
        device: 'ops-mac',
        state: 'failed',
        result: 'exit code 3 in 412 ms',
        error_code: 'remote-command',
        created_at: '2026-11-24T22:15:40Z',
        finished_at: '2026-11-24T22:15:41Z',
        duration_ms: 412,
        incident_id: null,
        step: null,
      },
      rebootRecord(42, 'web-1', '2026-11-23T08:30:00Z', 24_800),
      rebootRecord(41, 'web-1', '2026-11-22T13:02:11Z', 31_200),
      rebootRecord(40, 'web-1', '2026-11-20T17:45:30Z', 45_600),
      {
        ...rebootRecord(39, 'web-1', '2026-11-19T11:00:00Z', 600_000),
        state: 'failed',
        result: 'web-1: timed out after 600s in phase boot (waiting for the host to come back with a new boot id)',
        error_code: 'timeout',
      },
      rebootRecord(38, 'web-1', '2026-11-18T07:12:00Z', 28_900),
      {
        id: 37,
        kind: 'host-add',
        target: 'db-1',
        detail: 'ops@db.internal:2222 (password)',
        data: null,
        operator: 'alice',
        frontend: 'cli',
        device: 'laptop',
        state: 'succeeded',
        result: 'added to the config',
        error_code: null,
        created_at: '2026-11-17T10:00:00Z',
        finished_at: '2026-11-17T10:00:00Z',
        duration_ms: 8,
        incident_id: null,
        step: null,
      },
      {
        id: 36,
        kind: 'server-reboot',
        target: 'aws-prod/i-0abc',
        detail: 'reboot web-3 in eu-west-1 (was running)',
        data: null,
        operator: 'alice',
        frontend: 'cli',
        device: 'laptop',
        state: 'unverified',
        result: 'accepted by the provider; no sign it rebooted was seen',
        error_code: null,
        created_at: '2026-11-16T09:00:00Z',
        finished_at: '2026-11-16T09:00:31Z',
        duration_ms: 31_000,
        incident_id: null,
        step: null,
      },
    ],
    reboot: {
      actionId: 45,
      intervalMs: 60,
      events: VERIFIED_STEPS,
      outcome: {
        ok: {
          host: 'web-1',
          rebooted: true,
          boot_id_before: BOOT_A,
          boot_id_after: BOOT_B,
          shutdown_ms: 1120,
          boot_ms: 6570,
          test_ms: 90,
          elapsed_ms: 8115,
        },
      },
    },
    probe: {
      key_type: 'ssh-ed25519',
      fingerprint: 'SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8',
      status: 'unknown',
    },
    execOutput: {
      exit_code: 0,
      signal: null,
      stdout: '● nginx.service - A high performance web server\n     Active: active (running) since Tue 2026-11-25 09:42:11 UTC\n',
      stderr: '',
      stdout_truncated: false,
      stderr_truncated: false,
      duration_ms: 84,
    },
    runbookOutput: {
      exit_code: 0,
      signal: null,
      stdout: 'cache directory emptied (1.2 GiB freed)\n',
      stderr: 'warning: 3 files were in use\n',
      stdout_truncated: false,
      stderr_truncated: true,
      duration_ms: 1520,
    },
    hasFocus: true,
    failing: {},
    flags: [
      {
        backend: 'prod',
        error: null,
        flags: [
          {
            backend: 'prod',
            project: 'default',
            key: 'new-checkout',
            name: 'New checkout flow',
            description: 'The one-page checkout',
            tags: ['checkout'],
            environments: [
              { name: 'development', enabled: true },
              { name: 'production', enabled: true },
              { name: 'staging', enabled: true },
            ],
            url: 'https://unleash.example.com/projects/default/features/new-checkout',
          },
          {
            backend: 'prod',
            project: 'default',
            key: 'dark-mode',
            name: null,
            description: null,
            tags: [],
            environments: [
              { name: 'development', enabled: true },
              { name: 'production', enabled: false },
            ],
            url: null,
          },
        ],
      },
      {
        backend: 'ld',
        error: { code: 'auth-failed', message: 'LaunchDarkly `ld`: the access token was refused (401): check token = "keyring:ld-api"' },
        flags: [],
      },
      {
        backend: 'web-env',
        error: null,
        flags: [
          {
            backend: 'web-env',
            project: '',
            key: 'FEATURE_SEARCH',
            name: null,
            description: 'env file /etc/shop/flags.env on web-1',
            tags: [],
            environments: [{ name: 'web-1', enabled: true }],
            url: null,
          },
        ],
      },
    ],
    flagActionId: 50,
    alerts: [
      {
        source: 'prom',
        kind: 'prometheus',
        error: null,
        alerts: [
          {
            source: 'prom',
            name: 'CheckoutErrors',
            state: 'firing',
            severity: 'critical',
            summary: '5.2% of checkouts fail on web-2',
            labels: { alertname: 'CheckoutErrors', instance: 'web-2:8080', job: 'shop', severity: 'critical' },
            since_ms: Date.now() - 14 * 60_000,
            silenced_by: [],
            link: 'http://prometheus.internal:9090/graph?g0.expr=checkout_errors',
          },
          {
            source: 'prom',
            name: 'HighLatency',
            state: 'pending',
            severity: 'warning',
            summary: 'p99 latency above 2 s',
            labels: { alertname: 'HighLatency', job: 'shop', severity: 'warning' },
            since_ms: Date.now() - 3 * 60_000,
            silenced_by: [],
            link: null,
          },
        ],
      },
      {
        source: 'am',
        kind: 'alertmanager',
        error: null,
        alerts: [
          {
            source: 'am',
            name: 'DiskFilling',
            state: 'firing',
            severity: 'warning',
            summary: 'db-1 /var fills in 6 h',
            labels: { alertname: 'DiskFilling', instance: 'db-1:9100', severity: 'warning' },
            since_ms: Date.now() - 2 * 3600_000,
            silenced_by: [],
            link: 'javascript:alert(document.domain)',
          },
        ],
      },
      {
        source: 'grafana',
        kind: 'grafana',
        error: { code: 'unreachable', message: 'grafana `grafana` (https://grafana.example.com) is unreachable: connection refused' },
        alerts: [],
      },
    ],
    query: {
      result_type: 'matrix',
      series: [
        wave('rate(http_requests_total{instance="web-1:8080"}[5m])', 12, 0),
        wave('rate(http_requests_total{instance="web-2:8080"}[5m])', 9, 2),
      ],
      text: null,
      step_ms: 60_000,
      warnings: [],
    },
    targets: [
      {
        job: 'shop',
        instance: 'web-1:8080',
        health: 'up',
        last_error: null,
        last_scrape_ms: Date.now() - 8000,
        last_scrape_duration_ms: 12,
        scrape_url: 'http://web-1:8080/metrics',
        labels: {},
      },
      {
        job: 'shop',
        instance: 'web-2:8080',
        health: 'down',
        last_error: 'Get "http://web-2:8080/metrics": dial tcp 10.0.0.6:8080: connect: connection refused',
        last_scrape_ms: Date.now() - 9000,
        last_scrape_duration_ms: 1,
        scrape_url: 'http://web-2:8080/metrics',
        labels: {},
      },
    ],
    silences: [
      {
        id: '6f1e2d3c-0000-4a5b-8c9d-0e1f2a3b4c5d',
        state: 'active',
        matchers: [{ name: 'alertname', value: 'Watchdog', isRegex: false, isEqual: true }],
        starts_at_ms: Date.now() - 3600_000,
        ends_at_ms: Date.now() + 3600_000,
        updated_at_ms: Date.now() - 3600_000,
        created_by: 'bob',
        comment: 'heartbeat is noisy during the migration',
      },
    ],
    silenceId: '9a8b7c6d-1111-4e2f-9a0b-1c2d3e4f5a6b',
    cloud: {
      inventory: {
        servers: [
          cloudServer({
            id: 'i-0a1b2c3d4e5f60718',
            name: 'web-2',
            public_ips: ['54.216.9.12'],
            private_ips: ['10.0.1.7'],
            tags: { Name: 'web-2', env: 'production', team: 'shop' },
          }),
          cloudServer({
            id: 'i-0f9e8d7c6b5a40312',
            name: 'batch-1',
            region: 'us-east-1',
            status: 'stopped',
            raw_state: 'stopped',
            tags: { Name: 'batch-1', env: 'staging' },
          }),
          cloudServer({ id: 'i-0c0ffee0c0ffee001', name: null, status: 'pending', raw_state: 'pending', tags: {} }),
        ],
        errors: [
          {
            provider: 'aws',
            account: 'prod',
            region: 'ap-south-1',
            error: { code: 'auth-failed', message: 'aws "prod", ap-south-1: AuthFailure: AWS was not able to validate the provided access credentials' },
          },
        ],
      },
      actionId: 61,
      intervalMs: 60,
      states: [
        ['stopping', 'stopping'],
        ['stopping', 'stopping'],
        ['stopped', 'stopped'],
      ],
    },
    dashboardHits: [
      {
        uid: 'node-full',
        title: 'Node Exporter Full',
        url: '/d/node-full/node-exporter-full',
        tags: ['linux', 'prod'],
        folder_title: 'Infrastructure',
        starred: true,
      },
      { uid: 'shop', title: 'Shop', url: '/d/shop/shop', tags: ['prod'], folder_title: null, starred: false },
    ],
    dashboards: { 'node-full': nodeDashboard() },
    panelData: {
      2: panelData(2, [{ ...wave('node_load1{instance="web-1:9100"}', 2, 0), stats: { min: 0.4, max: 11.2, last: 8.1, mean: 3.3, count: 360 } }], []),
      // One query answered, the other failed: both show.
      3: panelData(
        3,
        [{ ...scaled(wave('node_memory_MemAvailable_bytes', 12, 1), 3e8), unit: 'bytes', stats: { min: 3.2e9, max: 4.1e9, last: 3.9e9, mean: 3.7e9, count: 360 } }],
        [{ ref_id: 'B', status: 400, message: 'bad_data: invalid parameter "query": 1:12: parse error: unexpected "}"' }],
      ),
    },
    annotationId: 41,
    incidents: [],
    overview: {
      level: 'critical',
      headline: '2 alerts firing (1 critical) · 1 source unreadable',
      short: '2 firing',
      firing: 2,
      critical: 1,
      top_alerts: [],
      unreadable: ['grafana: unreachable'],
      running: [],
      unmonitored: false,
    },
    protectSteps: [
      planned(0, 'flag-off', 'flag new-checkout OFF in production', 'ON in production'),
      planned(1, 'reboot', 'reboot web-1 (verified)', 'up 3d'),
      planned(2, 'silence', 'silence alertname=CheckoutErrors for 30m on prom', '1 matching alerts firing'),
    ],
    failingSteps: {},
    stepIntervalMs: 60,
  };
}

/** A protect step as the core plans it: to run, its target's state read now. */
export function planned(index: number, kind: PlannedStep['kind'], description: string, stateNow: string): PlannedStep {
  return {
    index,
    key: `protect/checkout/${index}/${description}`,
    kind,
    description,
    state_now: stateNow,
    observed: { type: 'nothing' },
    status: { status: 'to-run' },
    error: null,
    parallel: false,
    continue_on_failure: false,
    typed_confirmation: null,
  };
}

export function cloudServer(over: Partial<Server>): Server {
  return {
    provider: 'aws',
    account: 'prod',
    region: 'eu-west-1',
    id: 'i-0000000000000000',
    name: null,
    status: 'running',
    raw_state: 'running',
    public_ips: [],
    private_ips: [],
    tags: {},
    launched_at_ms: null,
    metrics: [],
    ...over,
  };
}

/** A dashboard as the core opens it: a panel above the rows, two rows (one was collapsed). */
function nodeDashboard(): Dashboard {
  const end = Date.now();
  const target = (refId: string, expr: string) => ({ ref_id: refId, datasource: null, hidden: false, query: { refId, expr } });
  const panel = (id: number, title: string, row: string | null, y: number, targets: ReturnType<typeof target>[]) => ({
    id,
    type: 'timeseries',
    title,
    row,
    datasource: { uid: 'prom', type: 'prometheus', name: null },
    targets,
    grid_pos: { x: 0, y, w: 12, h: 8 },
    min_interval: null,
    max_data_points: null,
  });
  return {
    uid: 'node-full',
    title: 'Node Exporter Full',
    url: '/d/node-full/node-exporter-full',
    slug: 'node-exporter-full',
    folder_title: 'Infrastructure',
    range: { from_ms: end - 6 * 3600_000, to_ms: end },
    panels: [
      panel(2, 'Load', 'CPU', 1, [target('A', 'node_load1{instance="$instance"}')]),
      panel(3, 'Memory available', 'Memory', 10, [
        target('A', 'node_memory_MemAvailable_bytes{instance="$instance"}'),
        target('B', 'node_memory_MemTotal_bytes{instance="$instance"'),
      ]),
    ],
    variables: [
      {
        name: 'instance',
        label: 'Instance',
        kind: 'query',
        values: ['web-1:9100'],
        is_all: false,
        options: ['web-1:9100', 'web-2:9100'],
        multi: false,
        include_all: true,
        warning: null,
      },
      {
        name: 'job',
        label: null,
        kind: 'constant',
        values: ['node'],
        is_all: false,
        options: ['node'],
        multi: false,
        include_all: false,
        warning: null,
      },
    ],
  };
}

function scaled(s: Series, by: number): Series {
  return { ...s, values: s.values.map((v) => (v == null ? null : v * by)) };
}

function panelData(id: number, series: PanelData['series'], errors: PanelData['errors']): PanelData {
  const end = Date.now();
  return { panel_id: id, series, errors, skipped: [], from_ms: end - 6 * 3600_000, to_ms: end, interval_ms: 60_000 };
}

/** A plausible request rate over the last hour, one point a minute. */
function wave(name: string, base: number, phase: number): Series {
  const end = Math.floor(Date.now() / 60_000) * 60_000;
  const times_ms = Array.from({ length: 60 }, (_, i) => end - (59 - i) * 60_000);
  const values = times_ms.map((_, i) => +(base + 3 * Math.sin(i / 6 + phase) + (i > 45 ? 6 : 0)).toFixed(3));
  return { ref_id: 'A', name, labels: {}, unit: null, times_ms, values };
}
