// Charts drawn with Apache ECharts (docs/console.md says why): titles, axes and legends come from the message
// catalogue, ECharts' own texts (tooltips, toolbox) from its built-in ZH/EN locales, amounts as the tables write them.
import * as echarts from "/app/vendor/echarts.esm.mjs";
import { language } from "./i18n.js";
import { money } from "./format.js";
import { h } from "./ui.js";

const PALETTE = ["#0b4f8a", "#14632b", "#7a4b00", "#5b3f8c", "#a11a1a", "#2f7f8f", "#8a5a0b", "#4a5560"];

/** Live chart instances by box id (tests read their data: window.__scfCharts["core-payables-chart"].getOption()). */
const live = (window.__scfCharts = window.__scfCharts ?? {});

/**
 * A chart box: returns {box, draw}; call draw() once the box is in the document (ECharts measures its container).
 * `option` gets the palette, the language's locale and amount formatting added.
 */
export function chartBox(id, label, option) {
  const box = h("div", { id, class: "chart", role: "img", "aria-label": label });
  const draw = () => {
    live[id]?.dispose();
    const chart = echarts.init(box, null, { locale: language() === "zh-CN" ? "ZH" : "EN", renderer: "canvas" });
    chart.setOption({
      color: PALETTE,
      textStyle: { fontFamily: getComputedStyle(document.documentElement).fontFamily },
      tooltip: { trigger: "axis", valueFormatter: (value) => money(Number(value).toFixed(2)) },
      animation: false,
      ...option,
    });
    live[id] = chart;
    box.dataset.drawn = "true";
  };
  return { box, draw };
}

/** An axis of amounts, labelled compactly in the language ("¥1.2M" / "¥120万"). */
export function amountAxis(name) {
  const compact = new Intl.NumberFormat(language(), { notation: "compact", maximumFractionDigits: 1 });
  return { type: "value", name, axisLabel: { formatter: (value) => compact.format(value) } };
}

window.addEventListener("resize", () => Object.values(live).forEach((chart) => chart.resize()));
