import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostBudgetMs } from '../../harness/index';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Debian's chromium (./lab installs it): playwright cannot download its own browsers here. */
export const CHROMIUM = '/usr/bin/chromium';

/** Nothing that talks to the network on its own: the page under test is a local file. */
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'];

export interface OpenBrowser {
  page: Page;
  close(): Promise<void>;
}

/** Chromium with a fresh profile, one page of `width` x `height`. */
export async function openBrowser(width = 1120, height = 900): Promise<OpenBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'ltsp-lab-chromium-'));
  let ctx: BrowserContext | undefined;
  try {
    ctx = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width, height }, timeout: hostBudgetMs('browserStart') });
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    const opened = ctx;
    return {
      page,
      close: async () => {
        await opened.close();
        rmSync(profile, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await ctx?.close().catch(() => undefined);
    rmSync(profile, { recursive: true, force: true });
    throw e;
  }
}
