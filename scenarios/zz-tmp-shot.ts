import { openBrowser } from './support/browser';
(async () => {
  const b = await openBrowser();
  await b.page.goto(`file://${process.argv[2]}`);
  const seg = b.page.locator('.seg[data-stage="nbd"]').first();
  if (await seg.count()) await seg.click();
  await b.page.screenshot({ path: process.argv[3] as string, fullPage: true });
  await b.close();
})();
