"use strict";
// The analysts' dashboard: fetches /dashboard/data for the filters and draws each chart with ECharts.
// Code labels (departments, channels, tiers) come with the data in both languages; the page's own
// words are in TEXT.

const TEXT = {
  zh: {
    title: "政务服务效能看板", switch_to: "English", department: "部门", item: "事项", channel: "渠道",
    month: "月份", all: "全部", throughput: "各部门受理与办结量", on_time: "按时办结率",
    overdue: "逾期办件热力图（部门 × 月份）", channel_mix: "渠道构成（受理量）", tier_mix: "办理层级构成（受理量）",
    processing_time: "办理用时与承诺时限（工作日）", supervision_cards: "每月电子监察黄牌、红牌",
    satisfaction: "好差评满意度", reuse: "材料复用与减少跑动", received: "受理", decided: "办结",
    on_time_rate: "按时办结率", overdue_cases: "逾期", median_working_days: "用时中位数",
    p90_working_days: "用时第90百分位", promised_days: "承诺时限", yellow_card: "黄牌", red_card: "红牌",
    mean_score: "平均评分", satisfied_share: "满意率", evaluations: "评价数", materials_reused: "复用材料",
    visits_saved: "减少跑动", no_data: "无可显示的数据", no_item_channel: "此图不按事项、渠道筛选",
    notice: "覆盖主体少于 {k} 个的统计单元不予显示，也不计入任何合计。",
    failed: "数据加载失败：",
  },
  en: {
    title: "Approval services dashboard", switch_to: "中文", department: "Department", item: "Item",
    channel: "Channel", month: "Month", all: "All", throughput: "Cases received and decided by department",
    on_time: "On-time rate", overdue: "Overdue cases, department × month", channel_mix: "Channel mix (received)",
    tier_mix: "Handling tier mix (received)", processing_time: "Processing time against promised days (working days)",
    supervision_cards: "Supervision cards per month", satisfaction: "Satisfaction", reuse: "Materials reused and visits saved",
    received: "received", decided: "decided", on_time_rate: "on-time rate", overdue_cases: "overdue",
    median_working_days: "median working days", p90_working_days: "90th percentile", promised_days: "promised days",
    yellow_card: "yellow cards", red_card: "red cards", mean_score: "mean score", satisfied_share: "satisfied share",
    evaluations: "evaluations", materials_reused: "materials reused", visits_saved: "visits saved",
    no_data: "No data to show", no_item_channel: "Not filtered by item or channel",
    notice: "Cells covering fewer than {k} subjects are suppressed and left out of every total.",
    failed: "Could not load the data: ",
  },
};

const CHARTS = {
  throughput: "chart-throughput", on_time: "chart-on-time", overdue: "chart-overdue",
  channel_mix: "chart-channel", tier_mix: "chart-tier", processing_time: "chart-processing",
  supervision_cards: "chart-supervision", satisfaction: "chart-satisfaction", reuse: "chart-reuse",
};

const state = { lang: new URLSearchParams(location.search).get("lang") === "en" ? "en" : "zh", data: null };
const charts = {};
// Tests (and anyone curious) read how many times the charts were drawn from fresh data.
window.dashboardRenders = 0;

function t(key) { return TEXT[state.lang][key]; }

function label(entries, code) {
  const entry = (entries || []).find((e) => e.code === code);
  return entry ? entry[state.lang] : code;
}

function percent(value) { return value == null ? null : Math.round(value * 1000) / 10; }

function axisOf(months) { return { type: "category", data: months }; }

function emptyTitle(empty) {
  return empty ? { text: t("no_data"), left: "center", top: "middle", textStyle: { color: "#9aa5b1", fontSize: 14 } } : { show: false };
}

function options(data) {
  const months = data.months;
  const labels = data.labels;
  const dept = (code) => label(labels.departments, code);
  const throughputSeries = data.throughput.flatMap((d) => [
    { name: `${dept(d.department)} ${t("received")}`, type: "line", data: d.received },
    { name: `${dept(d.department)} ${t("decided")}`, type: "line", lineStyle: { type: "dashed" }, data: d.decided },
  ]);
  const heat = data.overdue;
  const heatMax = Math.max(1, ...heat.cells.map((c) => c[2]));
  const pie = (rows, key, entries) => rows.map((r) => ({ name: label(entries, r[key]), value: r.received }));
  const times = data.processing_time;
  return {
    throughput: {
      title: emptyTitle(throughputSeries.length === 0), tooltip: { trigger: "axis" },
      legend: { type: "scroll", bottom: 0 }, grid: { bottom: 60 }, xAxis: axisOf(months), yAxis: { type: "value" },
      series: throughputSeries,
    },
    on_time: {
      title: emptyTitle(data.on_time.rate.every((v) => v == null)), tooltip: { trigger: "axis" }, legend: { bottom: 0 },
      xAxis: axisOf(months), yAxis: [{ type: "value", name: t("decided") }, { type: "value", name: "%", max: 100 }],
      series: [
        { name: t("decided"), type: "bar", data: data.on_time.decided },
        { name: t("on_time_rate"), type: "line", yAxisIndex: 1, data: data.on_time.rate.map(percent) },
      ],
    },
    overdue: {
      title: emptyTitle(heat.cells.length === 0), tooltip: { position: "top" },
      grid: { left: 160, bottom: 95 }, xAxis: { type: "category", data: months, splitArea: { show: true } },
      yAxis: { type: "category", data: heat.departments.map(dept), splitArea: { show: true } },
      visualMap: { min: 0, max: heatMax, calculable: true, orient: "horizontal", left: "center", bottom: 0 },
      series: [{ name: t("overdue_cases"), type: "heatmap", data: heat.cells, label: { show: true } }],
    },
    channel_mix: {
      title: emptyTitle(data.channel_mix.length === 0), tooltip: { trigger: "item" }, legend: { bottom: 0 },
      series: [{ name: t("received"), type: "pie", radius: ["35%", "65%"], data: pie(data.channel_mix, "channel", labels.channels) }],
    },
    tier_mix: {
      title: emptyTitle(data.tier_mix.length === 0), tooltip: { trigger: "item" }, legend: { bottom: 0 },
      series: [{ name: t("received"), type: "pie", radius: ["35%", "65%"], data: pie(data.tier_mix, "handling_tier", labels.handling_tiers) }],
    },
    processing_time: {
      title: emptyTitle(times.length === 0), tooltip: { trigger: "axis" }, legend: { bottom: 0 },
      xAxis: { type: "category", data: times.map((r) => r.item_code) }, yAxis: { type: "value" },
      series: [
        { name: t("median_working_days"), type: "bar", data: times.map((r) => r.median_working_days) },
        { name: t("p90_working_days"), type: "bar", data: times.map((r) => r.p90_working_days) },
        { name: t("promised_days"), type: "line", symbol: "diamond", symbolSize: 10, lineStyle: { opacity: 0 }, data: times.map((r) => r.promised_days) },
      ],
    },
    supervision_cards: {
      title: emptyTitle(Object.values(data.supervision_cards).flat().every((v) => v == null)),
      tooltip: { trigger: "axis" }, legend: { bottom: 0 }, xAxis: axisOf(months), yAxis: { type: "value" },
      series: [
        { name: t("yellow_card"), type: "bar", stack: "cards", itemStyle: { color: "#f0b429" }, data: data.supervision_cards.yellow_card },
        { name: t("red_card"), type: "bar", stack: "cards", itemStyle: { color: "#d64545" }, data: data.supervision_cards.red_card },
      ],
    },
    satisfaction: {
      title: emptyTitle(data.satisfaction.mean_score.every((v) => v == null)), tooltip: { trigger: "axis" }, legend: { bottom: 0 },
      xAxis: axisOf(months), yAxis: [{ type: "value", name: t("mean_score") }, { type: "value", name: "%", max: 100 }],
      series: [
        { name: t("mean_score"), type: "line", data: data.satisfaction.mean_score },
        { name: t("satisfied_share"), type: "line", yAxisIndex: 1, data: data.satisfaction.satisfied_share.map(percent) },
      ],
    },
    reuse: {
      title: emptyTitle(data.reuse.materials_reused.every((v) => v == null)), tooltip: { trigger: "axis" }, legend: { bottom: 0 },
      xAxis: axisOf(months), yAxis: { type: "value" },
      series: [
        { name: t("materials_reused"), type: "bar", data: data.reuse.materials_reused },
        { name: t("visits_saved"), type: "bar", data: data.reuse.visits_saved },
      ],
    },
  };
}

function fillSelect(select, entries, keep) {
  const chosen = keep ? select.value : "";
  select.replaceChildren(new Option(t("all"), ""));
  for (const entry of entries) {
    const text = typeof entry === "string" ? entry : entry[state.lang];
    const code = typeof entry === "string" ? entry : entry.code;
    select.add(new Option(code === text ? code : `${text} (${code})`, code));
  }
  select.value = chosen;
}

function drawText() {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  document.title = t("title");
  for (const element of document.querySelectorAll("[data-text]")) element.textContent = t(element.dataset.text);
  document.getElementById("language").textContent = t("switch_to");
}

function draw() {
  drawText();
  const data = state.data;
  if (!data) return;
  const form = document.getElementById("filters");
  fillSelect(form.elements.department, data.options.departments, true);
  fillSelect(form.elements.item_code, data.options.items, true);
  fillSelect(form.elements.channel, data.options.channels, true);
  fillSelect(form.elements.month, data.options.months, true);
  document.getElementById("notice").textContent = t("notice").replace("{k}", data.small_cell_k);
  const all = options(data);
  for (const [name, id] of Object.entries(CHARTS)) {
    charts[name] = charts[name] || echarts.init(document.getElementById(id));
    charts[name].setOption(all[name], true);
  }
}

async function load() {
  const form = document.getElementById("filters");
  const query = new URLSearchParams();
  for (const name of ["department", "item_code", "channel", "month"]) {
    const value = form.elements[name].value;
    if (value) query.set(name, value);
  }
  const error = document.getElementById("error");
  const response = await fetch(`/dashboard/data?${query}`);
  if (!response.ok) {
    const problem = await response.json().catch(() => ({}));
    error.textContent = t("failed") + (problem.detail || response.statusText);
    error.hidden = false;
    return;
  }
  error.hidden = true;
  state.data = await response.json();
  draw();
  window.dashboardRenders += 1;
}

document.getElementById("language").addEventListener("click", () => {
  state.lang = state.lang === "zh" ? "en" : "zh";
  draw();
});
document.getElementById("filters").addEventListener("change", load);
window.addEventListener("resize", () => Object.values(charts).forEach((chart) => chart.resize()));
drawText();
load();
