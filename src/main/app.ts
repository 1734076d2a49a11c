/**
 * The core of the studio, shared by `fav serve` and the Electron app: starts the bus (embedded, or
 * connects to an external Redis), then the supervisor with every service, then the gateway; stops
 * them in reverse order. Each step registers its own teardown first, so a failure part-way leaves
 * nothing running.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../shared/config.js';
import { createCoreBusClient, connectCoreBus } from './bus-client.js';
import { startBus } from './bus/index.js';
import { CONFIG_KEY } from '../shared/bus.js';
import { loadConfig, redactConfig, redactUrl, type ConfigOverrides, type LoadedConfig } from './config/load-config.js';
import { loadOrCreateToken } from './gateway/auth.js';
import { startGateway } from './gateway/server.js';
import { LogHub } from './logging/index.js';
import { ModelLibrary } from './models/index.js';
import { portFree } from './net-util.js';
import { probeBus, SettingsService } from './settings/index.js';
import { PACKAGE_VERSION, RENDERER_DIR } from './paths.js';
import { NodeProcessHost, Supervisor, type Manifest } from './supervisor/index.js';
import type { ProcessHost } from './supervisor/process-host.js';
import type { ProbeTarget } from './setup/index.js';

export interface StudioOptions {
  /** Resolved configuration; loaded from flags/env/settings when absent. */
  config?: Config;
  /** The FAV_* and CLI layers `config` was resolved with (loadConfig's `overrides`): the settings page shows them locked. */
  overrides?: ConfigOverrides;
  /** Shorthands over `config` (used by the Electron shell and tests). */
  port?: number;
  redisUrl?: string;
  dataDir?: string;
  /** How workers are started: child_process (default) or Electron's utilityProcess. */
  host?: ProcessHost;
  rendererDir?: string;
  /** Service manifest override (tests tune timeouts). */
  manifest?: Manifest;
  /** Progress lines for a console ("bus: embedded on 127.0.0.1:41234"). */
  onProgress?: (line: string) => void;
  /** Let the supervisor install SIGINT/SIGTERM handlers (default false: the caller owns signals). */
  handleSignals?: boolean;
  /** Local LLM servers the first-run page looks for (default: the presets' URLs; tests use stand-ins). */
  llmProbeTargets?: readonly ProbeTarget[];
}

export interface Studio {
  gatewayUrl: string;
  token: string;
  /** The bus URL, with its password: hand it only to processes of this app. */
  busUrl: string;
  busKind: 'embedded' | 'external';
  config: Config;
  /** The live settings (what the settings page reads and saves). */
  settings: SettingsService;
  supervisor: Supervisor;
  logs: LogHub;
  stop(): Promise<void>;
}

/** Connects to an external Redis once, so a wrong URL fails fast with a clear message. */
async function checkExternalRedis(url: string): Promise<void> {
  const probe = createCoreBusClient(url, { role: 'check', once: true });
  try {
    await connectCoreBus(probe);
    await probe.ping();
  } catch (err) {
    const reason = (err as Error).message;
    throw new Error(`cannot use the Redis at ${redactUrl(url)}: ${reason}`, { cause: err });
  } finally {
    probe.disconnect();
  }
}

export async function startStudio(opts: StudioOptions = {}): Promise<Studio> {
  const loaded: LoadedConfig | undefined = opts.config
    ? undefined
    : loadConfig({
        port: opts.port,
        redisUrl: opts.redisUrl,
        dataDir: opts.dataDir,
      });
  const config = opts.config ?? loaded!.config;
  const overrides = opts.overrides ?? loaded?.overrides;
  const progress = opts.onProgress ?? (() => {});
  mkdirSync(config.dataDir, { recursive: true });

  const teardown: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    let first: unknown;
    while (teardown.length > 0) {
      try {
        await teardown.pop()!();
      } catch (err) {
        first ??= err;
      }
    }
    if (first) throw first;
  };

  // Fail before starting eight processes when the gateway's port is taken (the common case: a
  // studio already running). The gateway still reports a port lost to a race after this check.
  const gatewayPort = opts.port ?? config.port;
  if (gatewayPort !== 0 && !(await portFree(gatewayPort, config.host))) {
    throw new Error(`port ${gatewayPort} on ${config.host} is in use (is a studio already running?): stop the other program or choose another with --port`);
  }

  try {
    // 1. The bus.
    let busUrl: string;
    let busKind: 'embedded' | 'external';
    if (config.redisUrl) {
      await checkExternalRedis(config.redisUrl);
      busUrl = config.redisUrl;
      busKind = 'external';
      progress(`bus: external Redis at ${redactUrl(busUrl)}`);
    } else {
      const bus = await startBus({
        port: config.bus.port,
        host: config.bus.host,
        password: config.bus.password ?? randomBytes(24).toString('base64url'),
        snapshotPath: config.bus.snapshot ? path.join(config.dataDir, 'bus.snapshot') : undefined,
      });
      teardown.push(() => bus.close());
      busUrl = bus.url();
      busKind = 'embedded';
      progress(`bus: embedded on ${config.bus.host}:${bus.port}`);
    }

    // 2. Settings for the workers (local and remote) under CONFIG_KEY, then logs and services.
    await publishSettings(busUrl, config);

    const logs = new LogHub({ files: { dir: path.join(config.dataDir, 'logs') } });
    logs.redactor.addUrlSecrets(busUrl);
    teardown.push(() => logs.close());
    const settings = new SettingsService({
      dataDir: config.dataDir,
      overrides,
      initial: config,
      publish: (c) => publishSettings(busUrl, c),
      checkBus: (url) => probeBus(url),
      log: (level, msg) => void logs.note('settings', level, msg),
    });
    const supervisor = new Supervisor({
      host: opts.host ?? new NodeProcessHost(),
      redisUrl: busUrl,
      dataDir: config.dataDir,
      manifest: opts.manifest,
      logs,
      handleSignals: opts.handleSignals ?? false,
    });
    teardown.push(() => supervisor.stop());
    await supervisor.start();
    progress(`services: ${supervisor.status().length} ready`);

    // 3. The gateway, with its own bus connection for health pings.
    const ping = createCoreBusClient(busUrl, { role: 'health', maxRetriesPerRequest: 1, connectTimeout: 2000 });
    await connectCoreBus(ping);
    teardown.push(async () => {
      ping.disconnect();
    });
    const token = process.env.FAV_TOKEN || loadOrCreateToken(config.dataDir);
    const rendererDir = opts.rendererDir ?? RENDERER_DIR;
    const modelLog = (level: 'info' | 'warn', msg: string) => void logs.note('models', level, msg);
    // Built-in models are copied next to the renderer at build time; imported ones live in the data dir.
    const library = new ModelLibrary({ builtinDir: path.join(rendererDir, 'live2d', 'models'), dataDir: config.dataDir, log: modelLog });
    const gateway = await startGateway(
      {
        version: PACKAGE_VERSION,
        token,
        services: supervisor,
        logs,
        bus: {
          kind: busKind,
          url: redactUrl(busUrl),
          ping: async () => (await Promise.race([ping.ping(), new Promise((r) => setTimeout(r, 1000, 'timeout'))])) === 'PONG',
          reader: ping,
        },
        rendererDir,
        models: { library, log: modelLog },
        setup: { dataDir: config.dataDir, probeTargets: opts.llmProbeTargets },
        config: () => redactConfig(settings.current()),
        settings: { service: settings },
        speech: { busUrl },
        chat: { busUrl, log: (level, msg, fields) => void logs.note('gateway', level, msg, fields) },
        memory: { busUrl, log: (level, msg, fields) => void logs.note('gateway', level, msg, fields) },
        voice: {
          busUrl,
          input: config.input,
          asrTimeoutMs: config.gateway.asrTimeoutMs,
          log: (level, msg, fields) => void logs.note('gateway', level, msg, fields),
        },
      },
      { host: config.host, port: gatewayPort, allowedHosts: config.gateway.allowedHosts },
    );
    teardown.push(() => gateway.close());
    progress(`gateway: ${gateway.url}`);

    let stopping: Promise<void> | undefined;
    return {
      gatewayUrl: gateway.url,
      token,
      busUrl,
      busKind,
      config,
      settings,
      supervisor,
      logs,
      stop: () => {
        // Before the gateway closes: workers hit by the same Ctrl+C may exit meanwhile, and their
        // exits are stops, not crashes to restart.
        supervisor.shuttingDown();
        return (stopping ??= stopAll());
      },
    };
  } catch (err) {
    await stopAll().catch(() => {});
    throw err;
  }
}

/**
 * Stores the resolved configuration on the bus (CONFIG_KEY) where every worker reads it at start,
 * local or on another machine. Secrets included: the bus is password-protected and loopback-only
 * unless the user points the app at their own Redis.
 */
export async function publishSettings(busUrl: string, config: Config): Promise<void> {
  const r = createCoreBusClient(busUrl, { role: 'settings', maxRetriesPerRequest: 1, connectTimeout: 3000 });
  try {
    await connectCoreBus(r);
    await r.set(CONFIG_KEY, JSON.stringify(config));
  } finally {
    r.disconnect();
  }
}
