// Drives headless Chromium (Debian's /usr/bin/chromium) through playwright-core against
// a running zhibiao server that holds the fixture readings, and asserts on the RENDERED
// pages. Started by scripts/browser-check, which installs everything, starts the server
// and cleans up; run that, not this.
//
// Environment (all set by scripts/browser-check):
//   ZHIBIAO_URL           the server, e.g. http://127.0.0.1:43907
//   ZHIBIAO_ADMIN_TOKEN   admin token, for the one write of the auto-refresh check
//   BROWSER_CHECK_INDICATOR  the indicator page to load (default tech-sme-registered)
//   BROWSER_CHECK_OUT     directory for the screenshots (default target/screenshots)
//   BROWSER_CHECK_PIDFILE where to write Chromium's pid, so the caller can kill it
//   CHROMIUM              the browser binary (default /usr/bin/chromium)
//   PLAYWRIGHT_CORE       path of the installed playwright-core package
//   EXCELJS               path of the installed exceljs package (fills the template)
//
// Exit status: 0 when every assertion holds, 1 on the first failed one (with a message
// starting "browser-check: FAIL"), 2 when the browser could not be driven at all.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { chromium } = require(process.env.PLAYWRIGHT_CORE || "playwright-core");

const BASE = (process.env.ZHIBIAO_URL || "").replace(/\/$/, "");
const TOKEN = process.env.ZHIBIAO_ADMIN_TOKEN || "";
const INDICATOR = process.env.BROWSER_CHECK_INDICATOR || "tech-sme-registered";
const OUT = process.env.BROWSER_CHECK_OUT || "target/screenshots";
const PIDFILE = process.env.BROWSER_CHECK_PIDFILE || "";
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const WIDTH = 1280;

const BATTLES = ["growth", "innovation", "environment", "risk", "safety", "livelihood"];
// src/engine/mod.rs, Status::label_zh
const LABELS = {
  severely_behind: "严重滞后",
  missed: "未完成",
  behind: "未达序时进度",
  on_track: "符合序时进度",
  achieved: "已完成",
  no_data: "暂无数据",
  no_target: "未设目标",
};

class CheckFailed extends Error {}
function check(cond, msg) {
  if (!cond) throw new CheckFailed(msg);
}

const warnings = [];
function warn(msg) {
  warnings.push(msg);
  console.log(`browser-check: WARNING ${msg}`);
}

// Chromium's flags that work on this kind of machine (closed network, root, no GPU).
// playwright-core adds --headless, --no-sandbox (chromiumSandbox: false) and a new empty
// --user-data-dir of its own.
const ARGS = [
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
  "--font-render-hinting=none",
  "--lang=zh-CN",
];

/** Watches a page for script errors and failed same-origin loads. */
function watch(page, name) {
  const problems = [];
  page.on("pageerror", (e) => problems.push(`${name}: uncaught script error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && !/Failed to load resource/.test(m.text())) {
      problems.push(`${name}: console error: ${m.text()}`);
    }
  });
  page.on("response", (r) => {
    const u = new URL(r.url());
    if (u.origin === new URL(BASE).origin && r.status() >= 400 && u.pathname !== "/favicon.ico") {
      problems.push(`${name}: ${r.request().method()} ${u.pathname}${u.search} answered ${r.status()}`);
    }
  });
  page.on("requestfailed", (r) => {
    const u = new URL(r.url());
    // A reload aborts the requests of the page it replaces; those are expected.
    if (u.pathname !== "/favicon.ico" && !/ERR_ABORTED/.test(r.failure()?.errorText || "")) {
      problems.push(`${name}: request failed: ${r.url()} ${r.failure()?.errorText}`);
    }
  });
  return problems;
}

async function dashboard(context) {
  const page = await context.newPage();
  const problems = watch(page, "/");
  const firstPoll = page.waitForResponse(
    (r) => new URL(r.url()).pathname === "/v1/alerts" && r.request().method() === "GET",
    { timeout: 20000 },
  ).catch(() => null); // checked below; never an unhandled rejection
  const res = await page.goto(`${BASE}/`, { waitUntil: "load" });
  check(res && res.status() === 200, `GET / answered ${res && res.status()}`);
  check(
    (res.headers()["content-type"] || "").startsWith("text/html"),
    `GET / content type is ${res.headers()["content-type"]}`,
  );

  const dom = await page.evaluate(
    ({ BATTLES, LABELS }) => {
      const out = { sections: [], badgeErrors: [], statuses: {}, rows: 0 };
      out.lang = document.documentElement.lang;
      out.title = document.title;
      out.h1 = document.querySelector("h1")?.textContent || "";
      out.asOf = document.body.getAttribute("data-as-of");
      const form = document.querySelector("form.filters");
      const months = form ? [...form.querySelectorAll('select[name="as_of"] option')] : [];
      out.form = form
        ? {
            asOf: months.length,
            monthPicker: !!form.querySelector('input[type="month"]'),
            // The server writes the months (2023年6月), whatever the browser's language.
            monthLabels: months.filter((o) => !/^\d{4}年\d{1,2}月$/.test(o.textContent)).map((o) => o.textContent),
            monthSelected: months.filter((o) => o.selected).map((o) => o.value),
            battle: form.querySelectorAll('select[name="group"] option').length,
            leadUnit: form.querySelectorAll('select[name="lead_unit"] option').length,
            status: form.querySelectorAll('select[name="status"] option').length,
          }
        : null;
      out.summaryCounts = document.querySelectorAll(".summary .counts:not(.reporting-counts) .count").length;
      out.reportingCounts = [...document.querySelectorAll(".summary .reporting-counts [data-count]")].map(
        (c) => c.getAttribute("data-count"),
      );
      // Rows not yet due are folded under a count at the end of their group.
      out.folded = [...document.querySelectorAll("details.not-due")].reduce(
        (n, d) => n + d.querySelectorAll("tr.indicator-row").length,
        0,
      );
      out.foldedOpen = document.querySelectorAll("details.not-due[open]").length;
      const printButton = document.querySelector("[data-print]");
      out.printButton = printButton ? !printButton.hidden && printButton.getBoundingClientRect().width > 0 : false;
      for (const sec of document.querySelectorAll("section.battle[data-battle]")) {
        const rows = sec.querySelectorAll("tr.indicator-row[data-indicator][data-status]");
        const s = {
          key: sec.getAttribute("data-battle"),
          heading: sec.querySelector("h2")?.textContent.trim() || "",
          rows: rows.length,
          bars: sec.querySelectorAll(".progress .bar").length,
          fills: [...sec.querySelectorAll(".bar .bar-fill")].filter(
            (f) => f.getBoundingClientRect().width > 0,
          ).length,
          marks: sec.querySelectorAll(".bar .bar-mark").length,
          sentences: sec.querySelectorAll(".progress .headline").length,
          // A row whose headline is not a 完成率 (a growth rate, a rate, a ceiling, a
          // class, a duty) must never be drawn as progress.
          barsOnNonCompletion: [...rows].filter(
            (r) =>
              r.getAttribute("data-headline") !== "completion" && r.querySelector(".bar"),
          ).map((r) => r.getAttribute("data-indicator")),
          sentencesOnDeviation: [...rows].filter(
            (r) =>
              r.getAttribute("data-headline") === "deviation" &&
              r.querySelector(".headline") &&
              /个百分点|目标/.test(r.querySelector(".headline").textContent),
          ).length,
          sparklines: sec.querySelectorAll(".trend svg.sparkline").length,
          drawnSparklines: [...sec.querySelectorAll(".trend svg.sparkline")].filter(
            (s) => s.querySelector("polyline, path, circle"),
          ).length,
          visible: sec.getBoundingClientRect().height > 0,
          overflow: 0,
        };
        const wrap = sec.querySelector(".table-wrap");
        if (wrap) s.overflow = wrap.scrollWidth - wrap.clientWidth;
        for (const row of rows) {
          out.rows++;
          const st = row.getAttribute("data-status");
          const badge = row.querySelector(".state span.status");
          const id = row.getAttribute("data-indicator");
          if (!badge) {
            out.badgeErrors.push(`${id}: no status badge`);
            continue;
          }
          const text = badge.textContent.trim();
          if (!badge.classList.contains(`status-${st}`)) {
            out.badgeErrors.push(`${id}: badge class "${badge.className}" but data-status="${st}"`);
          }
          if (LABELS[st] !== text) {
            out.badgeErrors.push(`${id}: badge reads "${text}", want "${LABELS[st]}" for ${st}`);
          }
          const bg = getComputedStyle(badge).backgroundColor;
          if (!bg || bg === "rgba(0, 0, 0, 0)" || bg === "transparent") {
            out.badgeErrors.push(`${id}: badge has no background colour (stylesheet not applied?)`);
          }
          out.statuses[st] = (out.statuses[st] || 0) + 1;
        }
        out.sections.push(s);
      }
      out.docOverflow = document.documentElement.scrollWidth - window.innerWidth;
      const refresh = document.querySelector("[data-refresh]");
      out.refresh = refresh ? refresh.textContent : null;
      return out;
    },
    { BATTLES, LABELS },
  );

  check(dom.lang === "zh-CN", `<html lang> is "${dom.lang}", want zh-CN`);
  check(/[\u4e00-\u9fff]/.test(dom.h1), `the dashboard's <h1> has no Chinese text: "${dom.h1}"`);
  check(dom.form, "no filter form (form.filters)");
  check(dom.form.asOf > 0, "the filter form has no as_of month choice");
  check(!dom.form.monthPicker, "the filter form still has an <input type=month> (it speaks the browser's language)");
  check(dom.form.monthLabels.length === 0, `month choices not written 2023年6月: ${dom.form.monthLabels.join(", ")}`);
  check(
    dom.form.monthSelected.length === 1 && dom.form.monthSelected[0] === dom.asOf,
    `the month choice marks [${dom.form.monthSelected}], the page is at ${dom.asOf}`,
  );
  check(dom.form.battle === 7, `the battle filter has ${dom.form.battle} options, want 7 (全部 + 6)`);
  check(dom.form.status === 8, `the status filter has ${dom.form.status} options, want 8 (全部 + 7)`);
  check(dom.form.leadUnit > 1, "the lead-unit filter has no units");
  check(dom.summaryCounts === 7, `the summary has ${dom.summaryCounts} status counts, want 7`);
  check(
    JSON.stringify(dom.reportingCounts) === JSON.stringify(["overdue", "not_due"]),
    `the summary's reporting counts are [${dom.reportingCounts}], want [overdue, not_due] (逾期未报 apart from 未到报送期)`,
  );
  check(dom.foldedOpen === 0, "the 未到报送期 rows are not folded");
  check(dom.printButton, "dashboard.js did not show the 打印 button");

  const keys = dom.sections.map((s) => s.key);
  check(
    JSON.stringify(keys) === JSON.stringify(BATTLES),
    `battle sections are [${keys.join(", ")}], want [${BATTLES.join(", ")}]`,
  );
  for (const s of dom.sections) {
    check(s.visible, `battle ${s.key} is not rendered (zero height)`);
    check(/[\u4e00-\u9fff]/.test(s.heading), `battle ${s.key} has no Chinese heading`);
    check(s.rows > 0, `battle ${s.key} has no indicator rows`);
    check(s.sparklines === s.rows, `battle ${s.key}: ${s.sparklines} sparklines for ${s.rows} rows`);
    check(s.bars + s.sentences > 0, `battle ${s.key} has neither progress bars nor headline sentences`);
    check(
      s.barsOnNonCompletion.length === 0,
      `battle ${s.key}: progress bars on rows that have no 完成率: ${s.barsOnNonCompletion.join(", ")}`,
    );
  }
  const deviationSentences = dom.sections.reduce((n, s) => n + s.sentencesOnDeviation, 0);
  check(deviationSentences > 0, "no growth rate or rate row states its distance to the target");
  check(dom.badgeErrors.length === 0, `status badges:\n  ${dom.badgeErrors.slice(0, 10).join("\n  ")}`);
  const statuses = Object.keys(dom.statuses);
  check(statuses.length >= 3, `only ${statuses.length} different statuses: ${statuses.join(", ")}`);
  const bars = dom.sections.reduce((n, s) => n + s.bars, 0);
  const fills = dom.sections.reduce((n, s) => n + s.fills, 0);
  const marks = dom.sections.reduce((n, s) => n + s.marks, 0);
  const sparks = dom.sections.reduce((n, s) => n + s.drawnSparklines, 0);
  check(fills > 0, "no progress bar has a visible fill");
  check(marks > 0, "no progress bar has a pace mark (.bar-mark)");
  check(sparks > 0, "no sparkline has anything drawn");

  // Every indicator of the catalogue is on the page.
  const api = await page.request.get(`${BASE}/v1/indicators`);
  check(api.status() === 200, `GET /v1/indicators answered ${api.status()}`);
  const total = (await api.json()).length;
  check(dom.rows === total, `the dashboard shows ${dom.rows} rows, the API lists ${total} indicators`);

  // The script ran: it wrote the refresh indicator and polled /v1/alerts for the page's as_of.
  await page
    .waitForFunction(() => /^已更新 \d\d:\d\d:\d\d$/.test(document.querySelector("[data-refresh]")?.textContent || ""), null, { timeout: 10000 })
    .catch(() => {});
  const refresh = await page.locator("[data-refresh]").first().textContent();
  check(/^已更新 \d\d:\d\d:\d\d$/.test(refresh || ""), `dashboard.js did not run: the refresh indicator reads "${refresh}"`);
  const poll = await firstPoll;
  check(poll, "dashboard.js made no request to /v1/alerts within 20 s");
  const pollUrl = new URL(poll.url());
  check(pollUrl.searchParams.get("as_of") === dom.asOf, `the poll asked as_of=${pollUrl.searchParams.get("as_of")}, the page is at ${dom.asOf}`);
  check(poll.status() === 200, `the first poll of /v1/alerts answered ${poll.status()}`);
  check(poll.headers()["etag"], "the first poll of /v1/alerts got no ETag");

  if (dom.docOverflow > 0) warn(`the dashboard is ${dom.docOverflow}px wider than the ${WIDTH}px window`);
  for (const s of dom.sections) {
    if (s.overflow > 0) warn(`battle ${s.key}: its table is ${s.overflow}px wider than its box (scrolls sideways)`);
  }

  fs.mkdirSync(OUT, { recursive: true });
  const full = path.join(OUT, "dashboard.png");
  await page.screenshot({ path: full, fullPage: true });
  // The top of the page (header, filters, counts, the first battle), for the docs.
  await page.screenshot({ path: path.join(OUT, "dashboard-top.png"), fullPage: true, clip: { x: 0, y: 0, width: WIDTH, height: 1500 } });
  check(problems.length === 0, problems.join("\n"));
  await page.close();
  return { rows: dom.rows, statuses: dom.statuses, bars, marks, sparks, asOf: dom.asOf, folded: dom.folded, shot: full };
}

/** The meeting's view: one group alone, lagging rows first, reached by plain links with
 * the script off and a browser in English (the month labels must stay Chinese); then the
 * print layout on A4. */
async function meetingView(browser, asOf) {
  const context = await browser.newContext({
    viewport: { width: WIDTH, height: 900 },
    deviceScaleFactor: 1,
    locale: "en-US",
    timezoneId: "Asia/Shanghai",
    javaScriptEnabled: false,
  });
  context.setDefaultTimeout(20000);
  const page = await context.newPage();
  const problems = watch(page, "/ (meeting view)");
  const res = await page.goto(`${BASE}/?as_of=${asOf}`, { waitUntil: "load" });
  check(res && res.status() === 200, `GET /?as_of=${asOf} answered ${res && res.status()}`);
  const groups = await page.$$eval(".group-choices a[data-group]", (as) =>
    as.map((a) => ({ key: a.getAttribute("data-group"), name: a.textContent.trim() })),
  );
  const wantGroups = await page.$$eval('select[name="group"] option', (os) => os.map((o) => o.value).filter((v) => v));
  check(
    JSON.stringify(groups.map((g) => g.key)) === JSON.stringify(wantGroups),
    `the group links are [${groups.map((g) => g.key)}], the group choice has [${wantGroups}]`,
  );
  const last = groups[groups.length - 1];
  // Plain links, no script: the last group, then 滞后优先.
  await Promise.all([page.waitForNavigation(), page.click(`.group-choices a[data-group="${last.key}"]`)]);
  await Promise.all([page.waitForNavigation(), page.click('a[data-sort="lagging"]')]);
  const url = new URL(page.url());
  check(
    url.searchParams.get("group") === last.key && url.searchParams.get("sort") === "lagging",
    `the links led to ${url.pathname}${url.search}`,
  );
  const dom = await page.evaluate(() => {
    const secs = [...document.querySelectorAll("section.battle[data-battle]")];
    const rows = secs.length
      ? [...secs[0].querySelectorAll(".table-wrap > table tr.indicator-row")].map((r) => r.getAttribute("data-status"))
      : [];
    return {
      sections: secs.map((s) => s.getAttribute("data-battle")),
      rows,
      text: document.body.innerText,
      months: [...document.querySelectorAll('select[name="as_of"] option')].map((o) => o.textContent),
    };
  });
  check(
    dom.sections.length === 1 && dom.sections[0] === last.key,
    `with group=${last.key} the page shows sections [${dom.sections}], want only ${last.key}`,
  );
  const lagging = ["severely_behind", "missed", "behind"];
  const firstOther = dom.rows.findIndex((st) => !lagging.includes(st));
  const lateLagging = firstOther < 0 ? -1 : dom.rows.slice(firstOther).findIndex((st) => lagging.includes(st));
  check(lateLagging === -1, `滞后优先: a lagging row comes after a row that is not (${dom.rows.join(", ")})`);
  check(dom.months.every((m) => /^\d{4}年\d{1,2}月$/.test(m)), `an English browser sees months [${dom.months}]`);
  const english = dom.text.match(/\b(January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b/);
  check(!english, `an English browser sees "${english && english[0]}" on the page`);
  await page.screenshot({ path: path.join(OUT, "dashboard-meeting.png"), fullPage: true, clip: { x: 0, y: 0, width: WIDTH, height: 1500 } });

  // 打印: the print rules hide the controls and fit the table to an A4 page.
  await page.goto(`${BASE}/?as_of=${asOf}`, { waitUntil: "load" });
  await page.emulateMedia({ media: "print" });
  const printed = await page.evaluate(() => {
    const shown = (sel) => {
      const el = document.querySelector(sel);
      return !!el && getComputedStyle(el).display !== "none";
    };
    const table = document.querySelector("table.indicators");
    return {
      filters: shown("form.filters"),
      viewBar: shown(".view-bar"),
      table: !!table && table.getBoundingClientRect().width > 0,
      trend: shown("table.indicators td.trend"),
    };
  });
  check(!printed.filters && !printed.viewBar, `in print the controls still show: ${JSON.stringify(printed)}`);
  check(printed.table && !printed.trend, `in print the table is not laid out for A4: ${JSON.stringify(printed)}`);
  const pdfPath = path.join(OUT, "dashboard.pdf");
  const pdf = await page.pdf({ path: pdfPath, preferCSSPageSize: true, printBackground: true });
  const head = pdf.toString("latin1");
  const pages = (head.match(/\/Type\s*\/Page\b/g) || []).length;
  check(pages > 0, "the printed dashboard has no pages");
  const box = head.match(/\/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]/);
  if (box) {
    const [w, h] = [Number(box[1]), Number(box[2])];
    check(Math.abs(w - 595) < 2 && Math.abs(h - 842) < 2, `the printed page is ${w}×${h} pt, not A4 (595×842)`);
  } else {
    warn("could not read the printed page's size from the PDF");
  }
  check(problems.length === 0, problems.join("\n"));
  await context.close();
  return { group: last.name, pages, pdf: pdfPath };
}

async function indicatorPage(context) {
  const page = await context.newPage();
  const problems = watch(page, `/indicators/${INDICATOR}`);
  const res = await page.goto(`${BASE}/indicators/${encodeURIComponent(INDICATOR)}`, { waitUntil: "load" });
  check(res && res.status() === 200, `GET /indicators/${INDICATOR} answered ${res && res.status()}`);
  const dom = await page.evaluate(() => {
    const svg = document.querySelector(".chart .chart-wrap svg");
    const box = svg ? svg.getBoundingClientRect() : null;
    const legend = svg ? [...svg.querySelectorAll("g.legend text")].map((t) => t.textContent.trim()) : [];
    return {
      h1: document.querySelector("h1")?.textContent.trim() || "",
      badge: document.querySelector(".page-header span.status")?.textContent.trim() || "",
      svg: !!svg,
      box: box && { w: box.width, h: box.height, right: box.right },
      legend,
      actual: svg ? svg.querySelectorAll("polyline.actual, circle.point").length : 0,
      pace: svg ? svg.querySelectorAll(".pace").length : 0,
      target: svg ? svg.querySelectorAll(".target").length : 0,
      figures: document.querySelectorAll("table.figures tbody tr").length,
      readings: document.querySelectorAll("table.series tbody tr").length,
      download: document.querySelector(".chart-links a")?.getAttribute("href") || "",
      back: !!document.querySelector('.crumbs a[href^="/?as_of="]'),
      docOverflow: document.documentElement.scrollWidth - window.innerWidth,
      refresh: document.querySelector("[data-refresh]")?.textContent || "",
    };
  });
  check(/[\u4e00-\u9fff]/.test(dom.h1), `the indicator page's <h1> has no Chinese text: "${dom.h1}"`);
  check(Object.values(LABELS).includes(dom.badge), `the indicator page's status badge reads "${dom.badge}"`);
  check(dom.svg, "the indicator page has no chart <svg> in .chart-wrap");
  check(dom.box && dom.box.w > 200 && dom.box.h > 100, `the chart renders at ${JSON.stringify(dom.box)}`);
  for (const word of ["实际", "序时进度", "目标"]) {
    check(dom.legend.includes(word), `the chart's legend lacks "${word}" (has: ${dom.legend.join(" / ")})`);
  }
  check(dom.actual > 0, "the chart draws no actual readings (polyline.actual / circle.point)");
  check(dom.pace > 0, "the chart draws no scheduled-pace line (.pace)");
  check(dom.target > 0, "the chart draws no target line (.target)");
  check(dom.figures >= 10, `the figures table has ${dom.figures} rows`);
  check(dom.readings > 0, "the readings table is empty: the fixture has readings for this indicator");
  check(dom.back, "no link back to the dashboard");
  check(/^已更新 /.test(dom.refresh), `dashboard.js did not run on the indicator page: "${dom.refresh}"`);
  if (dom.docOverflow > 0) warn(`the indicator page is ${dom.docOverflow}px wider than the window`);
  if (dom.box && dom.box.right > WIDTH) warn(`the chart ends at x=${dom.box.right}, past the window`);

  // The chart on its own, at the link the page offers.
  check(dom.download.startsWith(`/v1/indicators/${INDICATOR}/chart.svg`), `the chart link is "${dom.download}"`);
  const svg = await page.request.get(BASE + dom.download);
  check(svg.status() === 200, `GET ${dom.download} answered ${svg.status()}`);
  check(svg.headers()["content-type"] === "image/svg+xml", `chart.svg content type is ${svg.headers()["content-type"]}`);
  const svgText = await svg.text();
  check(svgText.startsWith("<svg") && svgText.includes('class="legend"'), "chart.svg is not a standalone SVG with a legend");

  const shot = path.join(OUT, "indicator.png");
  await page.screenshot({ path: shot, fullPage: true });
  check(problems.length === 0, problems.join("\n"));
  await page.close();
  return { legend: dom.legend, shot };
}

/** Auto-refresh: with the page's timers on a fake clock, the second poll is a 304; after a
 * write, the next poll sees a new ETag and reloads the page. */
async function autoRefresh(context, asOf) {
  const page = await context.newPage();
  const problems = watch(page, "/ (auto-refresh)");
  await page.clock.install();
  const polls = [];
  page.on("response", (r) => {
    if (new URL(r.url()).pathname === "/v1/alerts") {
      polls.push({ status: r.status(), inm: r.request().headers()["if-none-match"] || null, etag: r.headers()["etag"] || null });
    }
  });
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  // Waits (in real time) for the n-th poll's answer, moving the page's clock on by a second
  // at a time when `advance`: the script sets its 15 s timer only once the previous poll
  // has finished, so a single big jump could come before the timer exists.
  const waitPoll = async (n, advance) => {
    const until = Date.now() + 20000;
    while (polls.length < n && Date.now() < until) {
      if (advance) await page.clock.runFor(1000);
      await sleep(advance ? 40 : 50);
    }
    check(polls.length >= n, `dashboard.js made ${polls.length} polls of /v1/alerts, want ${n}`);
  };
  await page.goto(`${BASE}/?as_of=${asOf}`, { waitUntil: "load" });
  await waitPoll(1, false);
  await waitPoll(2, true);
  check(polls[1].inm && polls[1].inm === polls[0].etag, `the second poll sent If-None-Match ${polls[1].inm}, want ${polls[0].etag}`);
  check(polls[1].status === 304, `the second poll (nothing changed) answered ${polls[1].status}, want 304`);

  // A write: the next poll sees a new ETag and the page reloads itself.
  const body = { value: 109, note: "browser-check" };
  const put = await page.request.put(`${BASE}/v1/indicators/${INDICATOR}/readings/${asOf}`, {
    headers: { Authorization: `Bearer ${TOKEN}` },
    data: body,
  });
  check(put.status() < 300, `PUT a reading answered ${put.status()}: ${await put.text()}`);
  const reloaded = page.waitForEvent("load", { timeout: 30000 }).then(() => true, () => false);
  await waitPoll(3, true);
  check(polls[2].status === 200 && polls[2].etag !== polls[0].etag, `after a write the poll answered ${polls[2].status} with ETag ${polls[2].etag} (before: ${polls[0].etag})`);
  check(await reloaded, "after a write and a changed ETag, the dashboard did not reload");
  check(problems.length === 0, problems.join("\n"));
  await page.close();
}

// ── the bureau's month: 审核 and 发布 on the 审核与发布 page ──

const BUREAU_MONTH = "2023-09";

async function api(method, p, body) {
  const res = await fetch(`${BASE}${p}`, {
    method,
    headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

/** The fixture's months through August are released (last month's work, by the API);
 * September is under review. The public dashboard says so; the bureau's reviewer signs in
 * with a password, passes every figure of September on the 审核与发布 page and releases
 * it; the public dashboard then shows September. */
async function bureauMonth(browser) {
  const list = await api("GET", "/v1/periods");
  check(list.status === 200, `GET /v1/periods answered ${list.status}`);
  for (const m of list.json.periods.map((p) => p.period).filter((p) => p < BUREAU_MONTH).sort()) {
    const r = await api("POST", `/v1/periods/${m}/review`, {});
    check(r.status === 200, `review ${m} answered ${r.status}`);
  }
  const rel = await api("POST", "/v1/periods/2023-08/release", {});
  check(rel.status === 200 && rel.json.state === "released", `release 2023-08 answered ${rel.status}`);
  const user = await api("POST", "/v1/users", { name: "tjj-reviewer", password: "tjj-review-2023", role: "submitter", units: ["县统计局"] });
  check(user.status === 201, `POST /v1/users answered ${user.status}`);

  const context = await browser.newContext({ viewport: { width: WIDTH, height: 900 }, locale: "zh-CN", timezoneId: "Asia/Shanghai" });
  context.setDefaultTimeout(20000);
  const pub = await context.newPage();
  await pub.goto(`${BASE}/`, { waitUntil: "load" });
  const pending = await pub.textContent(".release-note");
  check(/2023年9月数据待发布/.test(pending || ""), `the public dashboard says September is pending: ${pending}`);
  const footer = await pub.textContent("footer.page-footer");
  check(/2023年8月/.test(footer), `the public dashboard is of August: ${footer}`);
  const pendingShot = path.join(OUT, "dashboard-pending.png");
  await pub.screenshot({ path: pendingShot, clip: { x: 0, y: 0, width: WIDTH, height: 700 } });

  const reviewer = await browser.newContext({ viewport: { width: WIDTH, height: 900 }, locale: "zh-CN", timezoneId: "Asia/Shanghai" });
  reviewer.setDefaultTimeout(20000);
  const page = await reviewer.newPage();
  const problems = watch(page, "审核与发布");
  await page.goto(`${BASE}/login?next=${encodeURIComponent("/review")}`, { waitUntil: "load" });
  await page.fill("#name", "tjj-reviewer");
  await page.fill("#password", "tjj-review-2023");
  await Promise.all([page.waitForURL(/\/review/), page.click("#sign-in")]);
  check((await page.textContent("h1")) === "审核与发布", "the 审核与发布 page after sign-in");
  const state = await page.textContent(".period-state");
  const figures = await page.locator("table.figures tbody tr").count();
  check(figures > 100, `September's figures listed for review: ${figures}`);
  check(/2023年9月/.test(await page.textContent("#month-h")), "the page opens on September, the month under review");
  await Promise.all([page.waitForFunction(() => /已审核通过/.test(document.body.innerText)), page.click("#submit-verdicts")]);
  const reviewed = await page.textContent(".alert");
  check(/已审核通过\d+项，退回0项/.test(reviewed), `the verdicts are saved: ${reviewed}`);
  await Promise.all([page.waitForFunction(() => /数据已发布/.test(document.body.innerText)), page.click("#release-now")]);
  const released = await page.textContent(".alert");
  check(/2023年9月数据已发布/.test(released), `September is released: ${released}`);
  const reviewShot = path.join(OUT, "review.png");
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: reviewShot, fullPage: false });
  check(problems.length === 0, problems.join("\n"));

  await pub.goto(`${BASE}/`, { waitUntil: "load" });
  check((await pub.locator(".release-note").count()) === 0, "the public dashboard no longer says 待发布");
  check(/2023年9月/.test(await pub.textContent("footer.page-footer")), "the public dashboard is of September");
  await context.close();
  await reviewer.close();
  return { figures, state, pendingShot, reviewShot };
}

// ── a clerk's month: sign in, template, fill, upload, preview, 说明, confirm ──

const CLERK_PERIOD = "2023-10";
// Two figures of 县科工局's October: one new, one below September's cumulative figure
// (65.52), which the 累计值回落 check refuses until a 说明 is written for it.
const CLERK_FIGURES = { "new-above-scale-industrial-firms": 14, "rural-new-base-stations": 60 };
const CLERK_NEW = "new-above-scale-industrial-firms";
const CLERK_REFUSED = "rural-new-base-stations";

/** Creates the account of 县科工局's clerk with the admin token; returns its password. */
async function clerkAccount() {
  const password = "kgj-clerk-2023";
  const res = await fetch(`${BASE}/v1/users`, {
    method: "POST",
    headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
    body: JSON.stringify({ name: "kgj-clerk", password, role: "submitter", units: ["县科工局"] }),
  });
  check(res.status === 201, `POST /v1/users answered ${res.status}`);
  return password;
}

/** The text of one indicator's row on the dashboard of `asOf`. */
async function dashboardRow(page, asOf, id) {
  await page.goto(`${BASE}/?as_of=${asOf}`, { waitUntil: "load" });
  return page.evaluate(
    (id) => document.querySelector(`tr.indicator-row[data-indicator="${id}"] .actual`)?.textContent || "",
    id,
  );
}

async function clerkMonth(browser) {
  const ExcelJS = require(process.env.EXCELJS || "exceljs");
  const password = await clerkAccount();
  const context = await browser.newContext({
    viewport: { width: WIDTH, height: 900 },
    deviceScaleFactor: 1,
    locale: "zh-CN",
    timezoneId: "Asia/Shanghai",
    acceptDownloads: true,
  });
  context.setDefaultTimeout(20000);
  const page = await context.newPage();
  const problems = watch(page, "数据报送");
  // October is not released: the bureau's dashboard (its token) shows the clerk's figure,
  // the public's does not.
  const bureau = await browser.newContext({ extraHTTPHeaders: { Authorization: `Bearer ${TOKEN}` } });
  const bureauPage = await bureau.newPage();
  const before = await dashboardRow(bureauPage, CLERK_PERIOD, CLERK_NEW);

  // Sign in from the 登录 page, which brings the clerk back to the month's page.
  const next = encodeURIComponent(`/submit?period=${CLERK_PERIOD}`);
  await page.goto(`${BASE}/login?next=${next}`, { waitUntil: "load" });
  // With the account's name and password, as a person signs in.
  await page.fill("#name", "kgj-clerk");
  await page.fill("#password", password);
  await Promise.all([page.waitForURL(/\/submit\?period=/), page.click("#sign-in")]);
  const who = await page.textContent(".signed-in span");
  check(/kgj-clerk/.test(who) && /县科工局/.test(who), `the page shows who is signed in: ${who}`);
  check((await page.textContent("h1")) === "数据报送", "the 数据报送 page after sign-in");

  // The template of its own units.
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#template")]);
  const name = download.suggestedFilename();
  check(name === "县科工局2023年10月数据报送表.xlsx", `the template is named ${name}`);
  const template = path.join(OUT, "clerk-template.xlsx");
  await download.saveAs(template);

  // Filled as a clerk fills it in Excel: the 本期数 column of two rows, the rest blank.
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.readFile(template);
  const ws = wb.worksheets[0];
  const head = {};
  ws.getRow(1).eachCell((c, col) => (head[String(c.value)] = col));
  check(head["指标编码"] && head["本期数"] && head["牵头单位"], `template headers: ${Object.keys(head).join(",")}`);
  let rows = 0;
  const filled = [];
  ws.eachRow((row, n) => {
    if (n === 1) return;
    const id = String(row.getCell(head["指标编码"]).value || "");
    if (!id) return;
    rows += 1;
    const lead = String(row.getCell(head["牵头单位"]).value || "");
    check(lead.includes("县科工局"), `row ${n} (${id}) of the template is led by ${lead}`);
    if (id in CLERK_FIGURES) {
      row.getCell(head["本期数"]).value = CLERK_FIGURES[id];
      filled.push(n);
    }
  });
  check(filled.length === 2, `the template holds both indicators to fill (rows ${filled})`);
  const upload = path.join(OUT, "clerk-filled.xlsx");
  await wb.xlsx.writeFile(upload);

  // Upload: the preview, row by row.
  await page.setInputFiles("#file", upload);
  await Promise.all([
    page.waitForFunction(() => document.querySelector("h1")?.textContent === "报送预览"),
    page.click('form.upload button[type="submit"]'),
  ]);
  const preview = await page.evaluate(() =>
    [...document.querySelectorAll("table.preview tbody tr")].map((tr) => ({
      row: tr.getAttribute("data-row"),
      action: tr.className.replace("action-", ""),
      text: tr.textContent,
      box: !!tr.querySelector("textarea"),
    })),
  );
  const by = (a) => preview.filter((r) => r.action === a);
  check(by("created").length === 1 && by("created")[0].text.includes("14家"), `one 新增 row of 14家: ${JSON.stringify(by("created"))}`);
  check(by("failed_checks").length === 1 && by("failed_checks")[0].box, "one row refused by a check, with its 说明 box");
  check(by("failed_checks")[0].text.includes("累计值回落"), `the refused row names its check: ${by("failed_checks")[0].text}`);
  check(by("skipped").length === rows - 2, `the ${rows - 2} blank rows are listed as 跳过 (got ${by("skipped").length})`);
  check(by("error").length === 0, "no error rows");
  await page.fill(`textarea[name="explanation.${by("failed_checks")[0].row}"]`, "三座基站并址改造后合并统计，已核实");
  const previewShot = path.join(OUT, "clerk-preview.png");
  await page.screenshot({ path: previewShot, fullPage: true });

  // Confirm: the result page, with the unit's statuses.
  await Promise.all([
    page.waitForFunction(() => document.querySelector("h1")?.textContent === "报送结果"),
    page.click("#confirm-submit"),
  ]);
  const result = await page.evaluate(() => ({
    written: [...document.querySelectorAll("table.written tbody tr")].map((tr) => tr.textContent),
    statuses: document.querySelectorAll("table.unit-status tbody tr").length,
  }));
  check(result.written.length === 2, `two rows written: ${result.written}`);
  check(result.written.some((t) => t.includes("累计值回落")), "the explained row is written flagged");
  check(result.statuses === rows, `the unit's ${rows} indicators' statuses (got ${result.statuses})`);
  const resultShot = path.join(OUT, "clerk-result.png");
  await page.screenshot({ path: resultShot, fullPage: true });

  // The bureau's dashboard of October now shows the figure; the public is still refused
  // October, which is not released.
  const after = await dashboardRow(bureauPage, CLERK_PERIOD, CLERK_NEW);
  check(after === "14家" && before !== after, `the dashboard's ${CLERK_NEW} went from ${before} to ${after}`);
  const pub = await fetch(`${BASE}/?as_of=${CLERK_PERIOD}`);
  check(pub.status === 403, `the public dashboard of unreleased ${CLERK_PERIOD} answered ${pub.status}, want 403`);
  check(problems.length === 0, problems.join("\n"));
  await bureau.close();
  await context.close();
  return { rows, before, after, previewShot, resultShot, template: name };
}

async function main() {
  check(BASE.startsWith("http"), "ZHIBIAO_URL is not set");
  const watchdog = setTimeout(() => {
    console.error("browser-check: FAIL the browser session took longer than 240 s");
    process.exit(1);
  }, 240000);
  let browser;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      timeout: 60000,
      // A zh-CN browser, as the county's users have: the browser's own texts in Chinese
      // (needs chromium-l10n) and CJK fonts picked first. The page's months and dates are
      // the server's; the meeting view checks them in an English browser too. LANG stays
      // C.UTF-8: a fresh Debian has no zh_CN.UTF-8 locale, and under a missing locale
      // glibc falls back to ASCII, where Chromium cannot name a download in Chinese (the
      // template would be saved as "download").
      env: { ...process.env, LANGUAGE: "zh_CN:zh", LANG: "C.UTF-8" },
    });
  } catch (e) {
    console.error(`browser-check: FAIL could not start ${CHROMIUM}: ${e.message}`);
    process.exit(2);
  }
  const proc = browser.process && browser.process();
  if (PIDFILE && proc && proc.pid) fs.writeFileSync(PIDFILE, String(proc.pid));
  let code = 0;
  try {
    console.log(`browser-check: ${CHROMIUM} ${browser.version()}`);
    const context = await browser.newContext({
      viewport: { width: WIDTH, height: 900 },
      deviceScaleFactor: 1,
      locale: "zh-CN",
      timezoneId: "Asia/Shanghai",
    });
    context.setDefaultTimeout(20000);
    const b = await bureauMonth(browser);
    const d = await dashboard(context);
    const i = await indicatorPage(context);
    await autoRefresh(context, d.asOf);
    const m = await meetingView(browser, d.asOf);
    const c = await clerkMonth(browser);
    const st = Object.entries(d.statuses)
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${k} ${n}`)
      .join(", ");
    console.log(
      `browser-check: 6 battles, ${d.rows} rows, statuses: ${st}; ${d.bars} progress bars (${d.marks} pace marks), ` +
        `${d.sparks} drawn sparklines; chart legend ${i.legend.join("/")}; dashboard.js polls /v1/alerts ` +
        `(200 with ETag, then 304, reload after a write); ${d.folded} rows folded as 未到报送期; ` +
        `${m.group} alone, 滞后优先, by links without the script; printed on A4 in ${m.pages} pages (${m.pdf})` +
        `${warnings.length ? `; ${warnings.length} warning(s)` : ""}; screenshots: ${d.shot}, ${i.shot}`,
    );
    console.log(
      `browser-check: the public dashboard said 2023年9月数据待发布; the bureau's reviewer signed in with a password, ` +
        `passed ${b.figures} figures of September (was ${b.state}) and released it; the public dashboard then showed September; ` +
        `screenshots: ${b.pendingShot}, ${b.reviewShot}`,
    );
    console.log(
      `browser-check: clerk of 县科工局 signed in, downloaded ${c.template} (${c.rows} rows, all its own), ` +
        `filled it with ExcelJS, previewed 1 新增 + 1 refused by 累计值回落 + ${c.rows - 2} 跳过, wrote a 说明, ` +
        `confirmed; dashboard ${CLERK_NEW} ${c.before} → ${c.after}; screenshots: ${c.previewShot}, ${c.resultShot}`,
    );
  } catch (e) {
    code = 1;
    if (e instanceof CheckFailed) console.error(`browser-check: FAIL ${e.message}`);
    else console.error(`browser-check: FAIL ${e.stack || e}`);
  } finally {
    await browser.close().catch(() => {});
    clearTimeout(watchdog);
  }
  process.exit(code);
}

main();
